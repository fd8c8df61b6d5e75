"""Who may see a stats page: `stats http-request` rules and `stats auth` (parsed in master, cli; run in worker).

HAProxy runs a stats page's own rule list once the request matched the
page's URI (http_process_req_common): `allow` ends the list, `deny` answers
403 (or its deny_status), `auth [realm <realm>]` answers 401 with
`www-authenticate: Basic realm="<realm>"`.  `stats auth user:password`
lines become one rule, HAProxy's compat rule
`auth realm <stats realm> unless { http_auth(.internal-stats-userlist) }`:
credentials are checked against the users in plain text, as HAProxy's
insecure passwords.  lb accepts `allow`, `deny` and `auth` in `stats
http-request` (HAProxy 2.6 implements only these three there too).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from lb.config.kw_proxy import proxy_of
from lb.config.model import LOC_PARSING_TIGHT, STATS_DEFAULT_REALM, Condition, Diagnostic, cap_str
from lb.config.registry import KwContext
from lb.rules.actions import Verdict
from lb.rules.acl import AclError
from lb.rules.condition import compile_condition
from lb.rules.errors import error_reply
from lb.rules.fetches import USE_REQ
from lb.rules.http_rules import REQUEST_ACTIONS, Rule, RuleError, parse_rule, program_of, run_rules
from lb.rules.message import split_values
from lb.rules.model import settings_for
from lb.rules.reply import Reply


class AuthAction:
    """`auth [realm <realm>]`: ask for credentials (HAProxy's http_action_auth)."""

    __slots__ = ("realm",)

    def __init__(self, realm: str) -> None:
        self.realm = realm

    def __call__(self, txn: Any) -> Verdict:
        reply = auth_reply(self.realm, txn.backend or txn.frontend, txn.frontend)
        return Verdict("auth", reply, 401, "LR")


def auth_reply(realm: str, backend: Any, frontend: Any) -> Reply:
    """The 401 error page (an `errorfile 401` wins) with its www-authenticate header."""
    base = error_reply(401, backend, frontend)
    lines = [line for line in base.head.split(b"\r\n") if line and not line.lower().startswith(b"www-authenticate:")]
    header = f'www-authenticate: Basic realm="{realm}"'.encode("latin-1", "replace")
    return Reply(base.status, b"".join(line + b"\r\n" for line in [*lines, header]), base.body, base.close)


def _auth(rc: Any, args: list[str]) -> tuple[AuthAction, list[str]]:
    """`http-request auth [realm <realm>]`; without a realm, the name of the rule's
    proxy (HAProxy's http_action_auth)."""
    if args and args[0] == "realm":
        if len(args) < 2 or not args[1]:
            raise RuleError("missing realm value.")
        return AuthAction(args[1]), args[2:]
    return AuthAction(proxy_of(rc.ctx).name), args


REQUEST_ACTIONS["auth"] = _auth


def basic_credentials(request: Any) -> tuple[str, str] | None:
    """(user, password) of an `Authorization: Basic ...` header (HAProxy's get_http_auth):
    the first value of the first such header; None when absent or malformed."""
    values = request.get_all("authorization") if request is not None else []
    if not values:
        return None
    value = split_values(values[0])[0]
    scheme, space, data = value.partition(" ")
    if not space or scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(data.strip(" \t"), validate=True).decode("latin-1")
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


class UsersCondition:
    """`unless { http_auth(.internal-stats-userlist) }`: matches when the credentials are not a known user's."""

    __slots__ = ("users",)

    def __init__(self, users: list[tuple[str, str]]) -> None:
        self.users = dict(users)

    def match(self, txn: Any) -> bool:
        credentials = basic_credentials(txn.request)
        if credentials is None:
            return True
        user, password = credentials
        return self.users.get(user) != password


def credentials_rule(users: list[tuple[str, str]], realm: str | None) -> Rule:
    """The rule `stats auth` lines stand for."""
    cond = Condition("unless", ["{", "http_auth(.internal-stats-userlist)", "}"], None, UsersCondition(users))
    return Rule("http-request", "auth", AuthAction(realm or STATS_DEFAULT_REALM), cond)


def check(rules: list[Rule], txn: Any) -> Verdict | None:
    """Run a page's rules: the Verdict that ends the exchange (deny, auth), or None to serve the page."""
    if not rules:
        return None
    outcome = run_rules(program_of(rules), txn)
    return outcome if isinstance(outcome, Verdict) else None


# -- parsing `stats http-request` ------------------------------------------------------------


def parse_access_rule(ctx: KwContext, words: list[str]) -> Rule | None:
    """`http-request allow|deny|auth ...` as written after `stats`; problems reported on ctx."""
    action = words[1] if len(words) > 1 else ""
    if action in ("allow", "deny"):
        return parse_rule(ctx, words, response=False)
    if action == "auth":
        return parse_auth(ctx, words)
    if action and (action in REQUEST_ACTIONS or action.partition("(")[0] in ("set-var", "set-var-fmt", "unset-var")):
        ctx.alert(f"'stats http-request {action}' is not supported by lb (only allow, deny and auth).")
        return None
    return parse_rule(ctx, words, response=False)  # reports HAProxy's "expects ..." message


def parse_auth(ctx: KwContext, words: list[str]) -> Rule | None:
    proxy = proxy_of(ctx)
    rest, realm = words[2:], STATS_DEFAULT_REALM
    if rest and rest[0] == "realm":
        if len(rest) < 2 or not rest[1]:
            ctx.alert(f"error detected in {cap_str(proxy.section)} '{proxy.name}' while parsing 'http-request auth' "
                      "rule : missing realm value.")  # fmt: skip
            return None
        realm, rest = rest[1], rest[2:]
    cond = None
    if rest:
        if rest[0] not in ("if", "unless"):
            ctx.config.diagnostics.append(Diagnostic(
                "ALERT", f"'http-request auth' expects either 'if' or 'unless' followed by a condition but found "
                f"'{rest[0]}'.", ctx.loc, LOC_PARSING_TIGHT))  # fmt: skip
            return None
        warn = lambda message, hidden=False: ctx.config.diagnostics.append(  # noqa: E731
            Diagnostic("WARNING", message, None if hidden else ctx.loc))
        where = f"{cap_str(proxy.section)} http-request header rule"
        try:
            compiled = compile_condition(rest[0], rest[1:], settings_for(proxy).acls.get, USE_REQ, where, warn)
        except AclError as exc:
            ctx.alert(f"error detected while parsing an 'http-request auth' condition : {exc}.")
            return None
        cond = Condition(rest[0], rest[1:], ctx.loc, compiled)
    return Rule("http-request", "auth", AuthAction(realm), cond, ctx.loc)
