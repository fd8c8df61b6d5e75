"""The stats page's HTML document (worker; pure functions of the rows and the view).

Laid out as HAProxy 2.6's page, so that operators find things where they
are used to: the process information with the legend of row colours and
the display options, an action banner after an admin action, then one
table per proxy (its frontend, listeners, servers and backend rows, from
lb.services.stats_rows), with the admin form under a backend's table when
the `stats admin` condition allows it.  The process facts are `show info`'s
(lb.stats.info); facts lb does not measure (pipes, tasks, bit rate, memory
pools) are left out.  The style sheet keeps HAProxy's class names and
colours (a dark variant follows the browser's preference, as HAProxy's).
"""

from __future__ import annotations

from dataclasses import dataclass

from lb import __version__
from lb.config.model import Proxy, StatsSettings, cap_str
from lb.stats.fields import Field
from lb.stats.model import StatRow
from lb.services.htmltext import esc
from lb.services.stats_rows import stat_row

STYLE = """<style type="text/css"><!--
body { font-family: arial, helvetica, sans-serif; font-size: 12px; color: black; background: white; }
th, td { font-size: 10px; }
h1 { font-size: x-large; margin-bottom: 0.5em; }
h2 { font-family: helvetica, arial; font-size: x-large; font-weight: bold; font-style: italic; color: #6020a0;
     margin: 0; }
h3 { font-family: helvetica, arial; font-size: 16px; font-weight: bold; color: #b00040; background: #e8e8d0;
     margin: 0; }
li { margin-top: 0.25em; margin-right: 2em; }
.hr { margin-top: 0.25em; border-color: black; border-bottom-style: solid; }
.titre { background: #20D0D0; color: #000000; font-weight: bold; text-align: center; }
.frontend, .backend { background: #e8e8d0; }
.socket { background: #d0d0d0; }
.active_up { background: #c0ffc0; }       .backup_up { background: #b0d0ff; }
.active_going_down { background: #ffffa0; } .backup_going_down { background: #c060ff; }
.active_going_up { background: #ffd020; }   .backup_going_up { background: #ff80ff; }
.active_down, .backup_down { background: #ff9090; }
.active_nolb { background: #20a0ff; }     .backup_nolb { background: #90b0e0; }
.active_draining { background: #20a0FF; } .backup_draining { background: #cc9900; }
.active_no_check, .backup_no_check { background: #e0e0e0; }
.maintain { background: #c07820; }
.rls { letter-spacing: 0.2em; margin-right: 1px; }
a.px:link, a.px:visited { color: #ffff40; text-decoration: none; }
a.px:hover { color: #ffffff; text-decoration: none; }
a.lfsb:link, a.lfsb:visited { color: #000000; text-decoration: none; }
a.lfsb:hover { color: #505050; text-decoration: none; }
table.tbl { border-collapse: collapse; border-style: none; }
table.tbl td { text-align: right; border: 1px solid gray; padding: 2px 3px; white-space: nowrap; }
table.tbl td.ac { text-align: center; }
table.tbl th { border: 1px solid gray; }
table.tbl th.pxname { background: #b00040; color: #ffff40; font-weight: bold; border-style: solid solid none solid;
                      padding: 2px 3px; white-space: nowrap; }
table.tbl th.empty { border-style: none; empty-cells: hide; background: white; }
table.tbl th.desc { background: white; border-style: solid solid none solid; text-align: left; padding: 2px 3px; }
table.lgd { border-collapse: collapse; border-width: 1px; border-style: none none none solid; border-color: black; }
table.lgd td { border: 1px solid gray; padding: 2px; }
table.lgd td.noborder { border-style: none; padding: 2px; white-space: nowrap; }
table.det { border-collapse: collapse; border-style: none; }
table.det th { text-align: left; border-width: 0; padding: 0 1px 0 0; font-size: 11px; font-weight: bold;
               font-family: sans-serif; }
table.det td { text-align: right; border-width: 0; padding: 0 0 0 4px; white-space: nowrap; font-size: 11px; }
u { text-decoration: none; border-bottom: 1px dotted black; }
div.tips { display: block; visibility: hidden; z-index: 2147483647; position: absolute; padding: 2px 4px 3px;
           background: #f0f060; color: #000000; border: 1px solid #7040c0; white-space: nowrap; font-size: 11px;
           border-radius: 3px; box-shadow: gray 2px 2px 3px; }
u:hover div.tips { visibility: visible; }
@media (prefers-color-scheme: dark) {
 body { color: #e8e6e3; background: #131516; }
 h1, h2 { color: #a265e0; } h3 { color: #ff5190; background-color: #3e3e1f; } a { color: #3391ff; }
 .titre { background-color: #1aa6a6; color: #e8e6e3; }
 .frontend, .backend { background: #2f3437; } .socket { background: #2a2d2f; }
 .active_up { background: #165900; } .backup_up { background: #2e3234; }
 .active_going_down { background: #6c6c00; } .backup_going_down { background: #580092; }
 .active_going_up { background: #b99200; } .backup_going_up { background: #7f007f; }
 .active_down, .backup_down { background: #760000; }
 .active_nolb, .active_draining { background: #006ab9; } .backup_nolb { background: #1e3c6a; }
 .backup_draining { background: #a37a00; } .active_no_check, .backup_no_check { background: #2a2d2f; }
 .maintain { background: #9a601a; }
 a.px:link, a.px:visited { color: #d8d83b; } a.lfsb:link, a.lfsb:visited { color: #e8e6e3; }
 table.tbl th.empty, table.tbl th.desc { background: #181a1b; }
 table.tbl th.pxname { background-color: #8d0033; color: #ffff46; }
 table.tbl th, table.tbl td { border-color: #808080; }
 u { border-bottom: 1px dotted #e8e6e3; }
 div.tips { background: #8e8e0d; color: #e8e6e3; border-color: #4e2c86; box-shadow: #60686c 2px 2px 3px; }
}
--></style>"""

LEGEND = ("<table class=\"lgd\"><tr>\n"
          "<td class=\"active_up\">&nbsp;</td><td class=\"noborder\">active UP </td>"
          "<td class=\"backup_up\">&nbsp;</td><td class=\"noborder\">backup UP </td></tr><tr>\n"
          "<td class=\"active_going_down\"></td><td class=\"noborder\">active UP, going down </td>"
          "<td class=\"backup_going_down\"></td><td class=\"noborder\">backup UP, going down </td></tr><tr>\n"
          "<td class=\"active_going_up\"></td><td class=\"noborder\">active DOWN, going up </td>"
          "<td class=\"backup_going_up\"></td><td class=\"noborder\">backup DOWN, going up </td></tr><tr>\n"
          "<td class=\"active_down\"></td><td class=\"noborder\">active or backup DOWN &nbsp;</td>"
          "<td class=\"active_no_check\"></td><td class=\"noborder\">not checked </td></tr><tr>\n"
          "<td class=\"maintain\"></td><td class=\"noborder\" colspan=\"3\">active or backup DOWN for maintenance "
          "(MAINT) &nbsp;</td></tr><tr>\n"
          "<td class=\"active_draining\"></td><td class=\"noborder\" colspan=\"3\">active or backup SOFT STOPPED for "
          "maintenance &nbsp;</td></tr></table>\n"
          "Note: \"NOLB\"/\"DRAIN\" = UP with load-balancing disabled.")  # fmt: skip

# `;st=` codes: (row class of the banner, message), HAProxy's texts.
BANNERS = {
    "DONE": ("active_up", "Action processed successfully."),
    "NONE": ("active_going_down", "Nothing has changed."),
    "PART": ("active_going_down", "Action partially processed.<br>Some server names are probably unknown or "
             "ambiguous (duplicated names in the backend)."),
    "ERRP": ("active_down", "Action not processed because of invalid parameters.<ul><li>The action is maybe "
             "unknown.</li><li>Invalid key parameter (empty or too long).</li><li>The backend name is probably "
             "unknown or ambiguous (duplicated names).</li><li>Some server names are probably unknown or ambiguous "
             "(duplicated names in the backend).</li></ul>"),
    "EXCD": ("active_down", "<b>Action not processed : the buffer couldn't store all the data.<br>You should retry "
             "with less servers at a time.</b>"),
    "DENY": ("active_down", "<b>Action denied.</b>"),
    "IVAL": ("active_down", "<b>Invalid requests (unsupported method or chunked encoded request).</b>"),
    "UNKN": ("active_no_check", "Unexpected result."),
}  # fmt: skip
ACTIONS = (("", ""), ("ready", "Set state to READY"), ("drain", "Set state to DRAIN"), ("maint", "Set state to MAINT"),
           ("dhlth", "Health: disable checks"), ("ehlth", "Health: enable checks"), ("hrunn", "Health: force UP"),
           ("hnolb", "Health: force NOLB"), ("hdown", "Health: force DOWN"), ("dagent", "Agent: disable checks"),
           ("eagent", "Agent: enable checks"), ("arunn", "Agent: force UP"), ("adown", "Agent: force DOWN"),
           ("shutdown", "Kill Sessions"))  # fmt: skip
COLUMNS = ("<th colspan=3>Queue</th><th colspan=3>Session rate</th><th colspan=6>Sessions</th>"
           "<th colspan=2>Bytes</th><th colspan=2>Denied</th><th colspan=3>Errors</th><th colspan=2>Warnings</th>"
           "<th colspan=9>Server</th></tr>\n<tr class=\"titre\"><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th>"
           "<th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Total</th><th>LbTot</th>"
           "<th>Last</th><th>In</th><th>Out</th><th>Req</th><th>Resp</th><th>Req</th><th>Conn</th><th>Resp</th>"
           "<th>Retr</th><th>Redis</th><th>Status</th><th>LastChk</th><th>Wght</th><th>Act</th><th>Bck</th>"
           "<th>Chk</th><th>Dwn</th><th>Dwntme</th><th>Thrtle</th>\n</tr>")  # fmt: skip


@dataclass
class View:
    """What one request asks the page to show (HAProxy's show_stat_ctx flags)."""

    fmt: str = "html"  # "html" | "csv" | "typed" | "json" | "json-schema"
    hide_down: bool = False  # ;up
    hide_maint: bool = False  # ;no-maint
    no_refresh: bool = False  # ;norefresh (only with `stats refresh`)
    status: str = ""  # ;st=XXXX: the banner of the last admin action
    scope: str = ""  # ?scope=<text>: proxies whose name contains it
    admin: bool = False  # a `stats admin` condition matched

    def links(self, up: bool | None = None, norefresh: bool | None = None) -> str:
        """The options a link keeps: ;up, ;norefresh and the scope."""
        up = self.hide_down if up is None else up
        norefresh = self.no_refresh if norefresh is None else norefresh
        scope = f"?scope={esc(self.scope)}" if self.scope else ""
        return f"{';up' if up else ''}{';norefresh' if norefresh else ''}{scope}"


def document(settings: StatsSettings, view: View, info: dict[str, Field],
             tables: list[tuple[Proxy, list[StatRow]]]) -> str:
    node = esc(settings.node or info_text(info, "node")) if settings.show_node else ""
    parts = ["<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\"\n"
             "\"http://www.w3.org/TR/html4/loose.dtd\">\n"
             f"<html><head><title>Statistics Report for lb{' on ' + node if node else ''}</title>\n"
             "<link rel=\"icon\" href=\"data:,\">\n"
             "<meta http-equiv=\"content-type\" content=\"text/html; charset=iso-8859-1\">\n"
             f"{STYLE}</head>\n", process_block(settings, view, info, node)]  # fmt: skip
    for proxy, rows in tables:
        parts.append(proxy_table(proxy, rows, view, settings.show_legends))
    parts.append("</body></html>\n")
    return "".join(parts)


def info_text(info: dict[str, Field], name: str) -> str:
    item = info.get(name)
    return "" if item is None else str(item.value)


def process_block(settings: StatsSettings, view: View, info: dict[str, Field], node: str) -> str:
    pid, memmax = info_text(info, "Pid"), info_text(info, "Memmax_MB")
    version = "" if settings.hide_version else f" version {esc(info_text(info, 'Version') or __version__)}"
    desc = f": {esc(settings.desc)}" if settings.show_desc and settings.desc else ""
    return (f"<body><h1>lb{version}</h1>\n"
            f"<h2>Statistics Report for pid {pid}{' on ' + node if node else ''}{desc}</h2>\n"
            "<hr width=\"100%\" class=\"hr\">\n<h3>&gt; General process information</h3>\n"
            "<table border=0><tr><td align=\"left\" nowrap width=\"1%\">\n"
            f"<p><b>pid = </b> {pid} (process #1, nbproc = {info_text(info, 'Nbproc')}, "
            f"nbthread = {info_text(info, 'Nbthread')})<br>\n"
            f"<b>uptime = </b> {info_text(info, 'Uptime')}<br>\n"
            f"<b>system limits:</b> memmax = {'unlimited' if memmax in ('', '0') else memmax + ' MB'}; "
            f"ulimit-n = {info_text(info, 'Ulimit-n')}<br>\n"
            f"<b>maxconn = </b> {info_text(info, 'Maxconn')}<br>\n"
            f"current conns = {info_text(info, 'CurrConns')}; session rate = {info_text(info, 'SessRate')}/sec<br>\n"
            f"</td><td align=\"center\" nowrap>\n{LEGEND}</td>"
            f"{display_options(settings, view)}</tr></table>\n{banner(settings, view)}")  # fmt: skip


def display_options(settings: StatsSettings, view: View) -> str:
    uri = esc(settings.uri)
    items = [f"<li><form method=\"GET\">Scope : <input value=\"{esc(view.scope)}\" name=\"scope\" size=\"8\" "
             "maxlength=\"20\" tabindex=\"1\"/></form>\n"]  # fmt: skip
    if view.hide_down:
        items.append(f"<li><a href=\"{uri}{view.links(up=False)}\">Show all servers</a><br>\n")
    else:
        items.append(f"<li><a href=\"{uri}{view.links(up=True)}\">Hide 'DOWN' servers</a><br>\n")
    if settings.refresh > 0:
        if view.no_refresh:
            items.append(f"<li><a href=\"{uri}{view.links(norefresh=False)}\">Enable refresh</a><br>\n")
        else:
            items.append(f"<li><a href=\"{uri}{view.links(norefresh=True)}\">Disable refresh</a><br>\n")
    items.append(f"<li><a href=\"{uri}{view.links()}\">Refresh now</a><br>\n")
    export = view.links(up=False, norefresh=settings.refresh > 0)
    items.append(f"<li><a href=\"{uri};csv{export}\">CSV export</a><br>\n")
    items.append(f"<li><a href=\"{uri};json{export}\">JSON export</a><br>\n")
    return ("<td align=\"left\" valign=\"top\" nowrap width=\"1%\"><b>Display option:</b>"
            f"<ul style=\"margin-top: 0.25em;\">{''.join(items)}</ul></td>")  # fmt: skip


def banner(settings: StatsSettings, view: View) -> str:
    if not view.status:
        return ""
    style, message = BANNERS.get(view.status, BANNERS["UNKN"])
    return (f"<p><div class={style}><a class=lfsb href=\"{esc(settings.uri)}{view.links()}\" "
            f"title=\"Remove this message\">[X]</a> {message}</div>\n<p>\n")  # fmt: skip


def proxy_table(proxy: Proxy, rows: list[StatRow], view: View, legends: bool) -> str:
    name = esc(proxy.name)
    form = proxy.is_backend and bool(proxy.servers) and view.admin
    iid = rows[0].obj.iid if rows else 0
    opening = "<form method=\"post\">" if form else ""
    head = (f"{opening}<table class=\"tbl\" width=\"100%\">\n"
            f"<tr class=\"titre\"><th class=\"pxname\" width=\"10%\"><a name=\"{name}\"></a>{'<u>' if legends else ''}"
            f"<a class=px href=\"#{name}\">{name}</a>")  # fmt: skip
    if legends:
        head += f"<div class=tips>cap: {cap_str(proxy.section)}, mode: {proxy.mode}, id: {iid}</div></u>"
    head += ("</th><th class=\"empty\" width=\"90%\"></th></tr>\n</table>\n<table class=\"tbl\" width=\"100%\">\n"
             "<tr class=\"titre\">")  # fmt: skip
    if view.admin:
        head += (f"<th rowspan=2 width=1><input type=\"checkbox\" onclick=\"for(c in document.getElementsByClassName("
                 f"'{name}-checkbox')) document.getElementsByClassName('{name}-checkbox').item(c).checked = "
                 f"this.checked\"></th>" if form else "<th rowspan=2></th>")  # fmt: skip
    head += f"<th rowspan=2></th>{COLUMNS}"
    body = "".join(stat_row(row, view.admin, legends) for row in rows)
    return head + body + "</table>" + (admin_form(iid) if form else "") + "<p>\n"


def admin_form(iid: int) -> str:
    options = "".join(f"<option value=\"{value}\">{label}</option>" for value, label in ACTIONS)
    return (f"Choose the action to perform on the checked servers : <select name=action>{options}</select>"
            f"<input type=\"hidden\" name=\"b\" value=\"#{iid}\">&nbsp;<input type=\"submit\" value=\"Apply\">"
            "</form>")  # fmt: skip
