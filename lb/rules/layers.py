"""Which rule sets can see which fetches: HAProxy's sample sources, coarsely (master, cli).

HAProxy tags every fetch with where its data comes from (client address,
client-side connection, request buffers, HTTP request...) and every rule
set with what is available when it runs.  lb keeps the part that
`tcp-request` parsing needs: a `tcp-request connection` rule sees layer-4
facts only, a `session` rule also the TLS facts, a `content` rule the
first bytes and HTTP.  Used for HAProxy's "extracts information from ...,
none of which is available here" errors and "will never match" warnings.
"""

from __future__ import annotations

from typing import Any

from lb.rules.fetches import FETCHES, USE_RES

L4, L5, L6, HTTP_REQ, HTTP_RES = 4, 5, 6, 7, 8
CONTENT = frozenset("""
    req.len req_len req.payload payload req.payload_lv payload_lv req.ssl_hello_type req_ssl_hello_type
    req.ssl_sni req_ssl_sni req.ssl_ver req_ssl_ver req.ssl_alpn req.ssl_ec_ext req.ssl_st_ext req.rdp_cookie
    rdp_cookie req_rdp_cookie req.rdp_cookie_cnt rdp_cookie_cnt req_rdp_cookie_cnt
""".split())  # fmt: skip
HEADER_FETCHES = frozenset("""
    hdr req.hdr req.fhdr hdr_cnt req.hdr_cnt req.fhdr_cnt fhdr_cnt hdr_val req.hdr_val hdr_ip req.hdr_ip
    req.cook cook req.cook_cnt cook_cnt req.cook_val cook_val
""".split())  # fmt: skip
RESPONSE_LINE = frozenset(("status", "res.ver"))
LIMIT = {"connection": L4, "session": L5, "content": HTTP_REQ}
SOURCE_NAMES = {L5: "client-side connection", L6: "request buffers", HTTP_RES: "HTTP response"}


def base_name(keyword: str) -> str:
    """The fetch behind an ACL keyword or sample word (`path_beg` -> `path`)."""
    from lb.rules.acl import DERIVATIVES

    name = keyword.partition("(")[0].partition(",")[0]
    return DERIVATIVES.get(name, (name, None))[0]


def layer_of(name: str) -> int:
    name = base_name(name)
    if name in CONTENT:
        return L6
    if name.startswith("ssl_fc") or name.startswith("ssl_c_"):
        return L5
    fdef = FETCHES.get(name)
    if fdef is None or fdef.use & 3 == 3:
        return L4
    return HTTP_RES if fdef.use == USE_RES else HTTP_REQ


def usable_in(name: str, where: str) -> bool:
    return layer_of(name) <= LIMIT[where]


def source_names(fetch: Any) -> str:
    """HAProxy's sample_src_names() for the fetches lb classifies."""
    name = base_name(fetch.name)
    layer = layer_of(name)
    if layer == HTTP_REQ:
        return "HTTP request headers" if name in HEADER_FETCHES else "HTTP request"
    if layer == HTTP_RES:
        return "HTTP response" if name in RESPONSE_LINE else "HTTP response headers"
    return SOURCE_NAMES.get(layer, "client address")


def conflict_warning(cond: Any, rule: str, where: str, layer: int) -> str | None:
    """HAProxy's acl_cond_conflicts() / acl_cond_kw_conflicts() warnings for a
    condition of a rule set that only sees fetches up to `layer`."""
    if cond is None:
        return None
    for suite in cond.suites:
        for test, _neg in suite:
            acl = getattr(test, "acl", None)
            if acl is None:
                continue
            keywords = [keyword for _t, _u, keyword in acl.terms]
            bad = [k for k in keywords if layer_of(k) > layer]
            if not bad:
                continue
            anonymous = not acl.name
            if len(bad) == len(keywords):
                if anonymous:
                    return (f"anonymous acl will never match in '{rule}' because it uses keyword "
                            f"'{base_keyword(bad[0])}' which is incompatible with '{where}'")  # fmt: skip
                return (f"acl '{acl.name}' will never match in '{rule}' because it only involves keywords that are "
                        f"incompatible with '{where}'")  # fmt: skip
            if anonymous:
                return f"anonymous acl involves keyword '{base_keyword(bad[0])}' which is incompatible with '{where}'"
            return f"acl '{acl.name}' involves keyword '{base_keyword(bad[0])}' which is incompatible with '{where}'"
    return None


def base_keyword(keyword: str) -> str:
    return keyword.partition("(")[0].partition(",")[0]
