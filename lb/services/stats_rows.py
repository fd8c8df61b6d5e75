"""One HTML table row per statistics row of the stats page (worker; pure functions).

The cells are those of HAProxy 2.6's page (src/stats.c stats_dump_fields_html):
the same 29 columns (Queue, Session rate, Sessions, Bytes, Denied, Errors,
Warnings, Server), the same row classes and colours per server state, the
same hover details.  A value lb leaves empty in `show stat` is left out of
the hover details (connection rates, compression, cache, idle connections,
maximum times) instead of being shown as a 0 it never measured.
"""

from __future__ import annotations

from lb.stats.model import StatRow
from lb.services.htmltext import esc, hover, human_time, lim2a, num, rate, text, tips, u2h

HTTP_LINES = (("- HTTP 1xx responses:", "hrsp_1xx"), ("- HTTP 2xx responses:", "hrsp_2xx"),
              ("- HTTP 3xx responses:", "hrsp_3xx"), ("- HTTP 4xx responses:", "hrsp_4xx"),
              ("- HTTP 5xx responses:", "hrsp_5xx"), ("- other responses:", "hrsp_other"))  # fmt: skip
TIME_LINES = (("- Queue time:", "qtime"), ("- Connect time:", "ctime"), ("- Responses time:", "rtime"),
              ("- Total time:", "ttime"))  # fmt: skip


def is_http(row: StatRow) -> bool:
    return text(row, "mode") == "http"


def admin_cell(admin: bool) -> str:
    return "<td></td>" if admin else ""


def frontend_row(row: StatRow, admin: bool) -> str:
    px, http = esc(row.obj.proxy.name), is_http(row)
    current = [("Current connection rate:", rate(num(row, "conn_rate"))),
               ("Current session rate:", rate(num(row, "rate")))]  # fmt: skip
    highest = [("Max connection rate:", rate(num(row, "conn_rate_max"))),
               ("Max session rate:", rate(num(row, "rate_max")))]  # fmt: skip
    if http:
        current.append(("Current request rate:", rate(num(row, "req_rate"))))
        highest.append(("Max request rate:", rate(num(row, "req_rate_max"))))
    totals = [("Cum. connections:", u2h(num(row, "conn_tot")) or None), ("Cum. sessions:", u2h(num(row, "stot")))]
    if http:
        totals += [("Cum. HTTP requests:", u2h(num(row, "req_tot")))]
        totals += [(label, u2h(num(row, name))) for label, name in HTTP_LINES]
        totals += [("Intercepted requests:", u2h(num(row, "intercepted"))),
                   ("Internal errors:", u2h(num(row, "eint")))]  # fmt: skip
    return (f'<tr class="frontend">{admin_cell(admin)}<td class=ac><a name="{px}/Frontend"></a>'
            f'<a class=lfsb href="#{px}/Frontend">Frontend</a></td><td colspan=3></td>'
            f"<td>{hover(u2h(num(row, 'rate')), tips(current))}</td>"
            f"<td>{hover(u2h(num(row, 'rate_max')), tips(highest))}</td>"
            f"<td>{lim2a(num(row, 'rate_lim'))}</td>"
            f"<td>{u2h(num(row, 'scur'))}</td><td>{u2h(num(row, 'smax'))}</td><td>{u2h(num(row, 'slim'))}</td>"
            f"<td>{hover(u2h(num(row, 'stot')), tips(totals))}</td><td></td><td></td>"
            f"<td>{u2h(num(row, 'bin'))}</td><td>{u2h(num(row, 'bout'))}</td>"
            f"<td>{u2h(num(row, 'dreq'))}</td><td>{u2h(num(row, 'dresp'))}</td>"
            f"<td>{u2h(num(row, 'ereq'))}</td><td></td><td></td><td></td><td></td>"
            f"<td class=ac>{esc(text(row, 'status'))}</td><td class=ac colspan=8></td></tr>")  # fmt: skip


def legend_tip(row: StatRow, legends: bool, extra: str = "") -> tuple[str, str, str]:
    """(opening <u>, tips div, closing </u>) of a name cell with show-legends."""
    if not legends:
        return "", "", ""
    addr = text(row, "addr")
    if addr[:1].isdigit():
        where = f"IPv4: {esc(addr)}, "
    elif addr.startswith("["):
        where = f"IPv6: {esc(addr)}, "
    else:
        where = f"{esc(addr)}, " if addr else ""
    return "<u>", f"<div class=tips>{where}id: {row.obj.sid}{extra}</div>", "</u>"


def listener_row(row: StatRow, admin: bool, legends: bool) -> str:
    px, name = esc(row.obj.proxy.name), esc(row.obj.name)
    opening, tip, closing = legend_tip(row, legends)
    return (f"<tr class=socket>{admin_cell(admin)}<td class=ac><a name=\"{px}/+{name}\"></a>{opening}"
            f"<a class=lfsb href=\"#{px}/+{name}\">{name}</a>{tip}{closing}</td><td colspan=3></td>"
            f"<td colspan=3>&nbsp;</td><td>{u2h(num(row, 'scur'))}</td><td>{u2h(num(row, 'smax'))}</td>"
            f"<td>{u2h(num(row, 'slim'))}</td><td>{u2h(num(row, 'stot'))}</td><td>&nbsp;</td><td>&nbsp;</td>"
            f"<td>{u2h(num(row, 'bin'))}</td><td>{u2h(num(row, 'bout'))}</td>"
            f"<td>{u2h(num(row, 'dreq'))}</td><td>{u2h(num(row, 'dresp'))}</td>"
            f"<td>{u2h(num(row, 'ereq'))}</td><td></td><td></td><td></td><td></td>"
            f"<td class=ac>{esc(text(row, 'status'))}</td><td class=ac colspan=8></td></tr>")  # fmt: skip


def server_style(row: StatRow) -> str:
    """The row class of a server: HAProxy's colour per state, health and weight."""
    status = text(row, "status")
    if status.startswith("MAINT"):
        return "maintain"
    if status == "DOWN":
        style = "down"
    elif status.startswith("DOWN "):
        style = "going_up"
    elif status == "DRAIN":
        style = "draining"
    elif status.startswith("NOLB "):
        style = "going_down"
    elif status == "NOLB":
        style = "nolb"
    elif status == "no check":
        style = "no_check"
    elif num(row, "chkfail") is None or at_full_health(row):
        style = "up" if num(row, "weight") else "draining"
    else:
        style = "going_down"
    return f"{'backup' if num(row, 'bck') else 'active'}_{style}"


def at_full_health(row: StatRow) -> bool:
    return (num(row, "check_health") or 0) == (num(row, "check_rise") or 0) + (num(row, "check_fall") or 0) - 1


def session_details(row: StatRow) -> str:
    """The hover table of a server's or backend's session total."""
    lines = [("Cum. sessions:", u2h(num(row, "stot")))]
    if is_http(row):
        lines.append(("Cum. HTTP requests:", u2h(num(row, "req_tot"))))
        total = num(row, "req_tot") or 0
        for label, name in HTTP_LINES:
            count = num(row, name) or 0
            share = f"</td><td>({100 * count // total if total else 0}%)" if row.obj.kind == "S" else ""
            lines.append((label, u2h(count) + share))
        lines.append(("Internal errors:" if row.obj.kind == "B" else "Internal error:", u2h(num(row, "eint"))))
    averages = "".join(f"<tr><th>{label}</th><td>{u2h(num(row, name))}</td><td>ms</td></tr>"
                       for label, name in TIME_LINES if name != "rtime" or is_http(row))  # fmt: skip
    return tips(lines) + "<tr><th colspan=3>Avg over last 1024 success. conn.</th></tr>" + averages


def status_cell(row: StatRow) -> str:
    """Status (with how long ago it changed) and last check of a server."""
    status, lastchg = text(row, "status"), human_time(num(row, "lastchg"))
    if status.startswith("MAINT"):
        shown = f"{lastchg} MAINT"
    elif status == "no check":
        shown = "<i>no check</i>"
    else:
        shown = f"{lastchg} {esc(status)}"
        if status.startswith("DOWN"):
            shown += " &uarr;" if num(row, "check_health") else ""
        elif num(row, "check_health") is None or not at_full_health(row):
            shown += " &darr;"  # HAProxy: any server below full health, or without a check, once not UP
    check = text(row, "check_status")
    if not check:
        return f"<td class=ac>{shown}</td><td></td>"
    code, duration = num(row, "check_code"), num(row, "check_duration")
    detail = esc(text(row, "check_desc")) + (f": {esc(text(row, 'last_chk'))}" if text(row, "last_chk") else "")
    return (f"<td class=ac>{shown}</td><td class=ac><u> {esc(check)}{'' if code is None else f'/{code}'}"
            f"{'' if duration is None else f' in {duration}ms'}<div class=tips>{detail}</div></u></td>")  # fmt: skip


def server_row(row: StatRow, admin: bool, legends: bool) -> str:
    px, name = esc(row.obj.proxy.name), esc(row.obj.name)
    cookie = text(row, "cookie")
    opening, tip, closing = legend_tip(row, legends, f", cookie: '{esc(cookie)}'" if cookie else "")
    check = f"<input class='{px}-checkbox' type=\"checkbox\" name=\"s\" value=\"{name}\">"
    chkfail = num(row, "chkfail")
    checks = ("<td colspan=3></td>" if chkfail is None else
              f"<td><u>{chkfail}<div class=tips>Failed Health Checks</div></u></td><td>{num(row, 'chkdown') or 0}"
              f"</td><td>{human_time(num(row, 'downtime') or 0)}</td>")  # fmt: skip
    backup = bool(num(row, "bck"))
    return (f'<tr class="{server_style(row)}">{f"<td>{check}</td>" if admin else ""}'
            f'<td class=ac><a name="{px}/{name}"></a>{opening}<a class=lfsb href="#{px}/{name}">{name}</a>{tip}'
            f"{closing}</td><td>{u2h(num(row, 'qcur'))}</td><td>{u2h(num(row, 'qmax'))}</td>"
            f"<td>{lim2a(num(row, 'qlimit'))}</td><td>{u2h(num(row, 'rate'))}</td><td>{u2h(num(row, 'rate_max'))}</td>"
            f"<td></td><td>{u2h(num(row, 'scur'))}</td><td>{u2h(num(row, 'smax'))}</td><td>{lim2a(num(row, 'slim'))}"
            f"</td><td>{hover(u2h(num(row, 'stot')), session_details(row))}</td><td>{u2h(num(row, 'lbtot'))}</td>"
            f"<td>{human_time(num(row, 'lastsess'))}</td><td>{u2h(num(row, 'bin'))}</td>"
            f"<td>{u2h(num(row, 'bout'))}</td><td></td><td>{u2h(num(row, 'dresp'))}</td><td></td>"
            f"<td>{u2h(num(row, 'econ'))}</td><td>{resets(row)}</td><td>{num(row, 'wretr') or 0}</td>"
            f"<td>{num(row, 'wredis') or 0}</td>{status_cell(row)}"
            f"<td class=ac>{num(row, 'weight') or 0}/{num(row, 'uweight') or 0}</td>"
            f"<td class=ac>{'-' if backup else 'Y'}</td><td class=ac>{'Y' if backup else '-'}</td>{checks}"
            f"<td class=ac>-</td></tr>\n")  # fmt: skip


def resets(row: StatRow) -> str:
    return (f"<u>{u2h(num(row, 'eresp'))}<div class=tips>Connection resets during transfers: "
            f"{num(row, 'cli_abrt') or 0} client, {num(row, 'srv_abrt') or 0} server</div></u>")  # fmt: skip


def backend_row(row: StatRow, admin: bool, legends: bool) -> str:
    px, status = esc(row.obj.proxy.name), text(row, "status")
    opening = closing = tip = ""
    if legends:
        cookie = text(row, "cookie")
        opening, closing = "<u>", "</u>"
        tip = (f"<div class=tips>balancing: {esc(text(row, 'algo'))}"
               f"{f', cookie: {chr(39)}{esc(cookie)}{chr(39)}' if cookie else ''}</div>")  # fmt: skip
    shown = '<font color="red"><b>DOWN</b></font>' if status == "DOWN" else esc(status)
    downtime = num(row, "downtime")
    return (f'<tr class="backend">{admin_cell(admin)}<td class=ac>{opening}<a name="{px}/Backend"></a>'
            f'<a class=lfsb href="#{px}/Backend">Backend</a>{tip}{closing}</td>'
            f"<td>{u2h(num(row, 'qcur'))}</td><td>{u2h(num(row, 'qmax'))}</td><td></td>"
            f"<td>{u2h(num(row, 'rate'))}</td><td>{u2h(num(row, 'rate_max'))}</td><td></td>"
            f"<td>{u2h(num(row, 'scur'))}</td><td>{u2h(num(row, 'smax'))}</td><td>{u2h(num(row, 'slim'))}</td>"
            f"<td>{hover(u2h(num(row, 'stot')), session_details(row))}</td><td>{u2h(num(row, 'lbtot'))}</td>"
            f"<td>{human_time(num(row, 'lastsess'))}</td><td>{u2h(num(row, 'bin'))}</td>"
            f"<td>{u2h(num(row, 'bout'))}</td><td>{u2h(num(row, 'dreq'))}</td><td>{u2h(num(row, 'dresp'))}</td>"
            f"<td></td><td>{u2h(num(row, 'econ'))}</td><td>{resets(row)}</td><td>{num(row, 'wretr') or 0}</td>"
            f"<td>{num(row, 'wredis') or 0}</td><td class=ac>{human_time(num(row, 'lastchg'))} {shown}</td>"
            f"<td class=ac>&nbsp;</td><td class=ac>{num(row, 'weight') or 0}/{num(row, 'uweight') or 0}</td>"
            f"<td class=ac>{num(row, 'act') or 0}</td><td class=ac>{num(row, 'bck') or 0}</td>"
            f"<td class=ac>&nbsp;</td><td>{num(row, 'chkdown') or 0}</td>"
            f"<td>{'&nbsp;' if downtime is None else human_time(downtime)}</td><td></td></tr>")  # fmt: skip


def stat_row(row: StatRow, admin: bool, legends: bool) -> str:
    kind = row.obj.kind
    if kind == "F":
        return frontend_row(row, admin)
    if kind == "L":
        return listener_row(row, admin, legends)
    if kind == "S":
        return server_row(row, admin, legends)
    return backend_row(row, admin, legends)
