"""Cookie persistence: the `cookie` keyword (master, cli).

    cookie NAME [rewrite|insert|prefix] [indirect] [nocache] [postonly] [preserve]
                [httponly] [secure] [domain D]* [maxidle T] [maxlife T] [dynamic] [attr V]*

Only the configuration lives here; what happens per request and per
response is lb.rules.persist.  Messages are HAProxy 2.6's (`haproxy -c`);
those HAProxy prints as "parsing [file:line]: ..." use the tight form.
"""

from __future__ import annotations

from typing import Callable

from lb.config.kw_proxy import BACKEND_SIDE, proxy_of
from lb.config.model import LOC_PARSING_TIGHT, Diagnostic
from lb.config.registry import KwContext, KwError, keyword
from lb.rules.model import CookieConfig, settings_for

_OPTIONS_TEXT = ("'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', 'domain', "
                 "'maxidle', 'dynamic', 'maxlife' and 'attr' options.")  # fmt: skip
_FLAGS = {"indirect": "indirect", "nocache": "nocache", "postonly": "postonly", "preserve": "preserve",
          "httponly": "httponly", "secure": "secure", "dynamic": "dynamic"}  # fmt: skip


# -- the keyword -------------------------------------------------------------------


def _seconds(word: str, text: str | None) -> int:
    if not text:
        what = "idletime" if word == "maxidle" else "lifetime"
        raise ValueError(f"'{word}' expects <{what}> in seconds as argument.")
    units = {"us": 0, "ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    digits = len(text) - len(text.lstrip("0123456789"))
    unit = text[digits:] or "s"
    if not digits or unit not in units:
        bad = text[digits] if digits < len(text) else text[0]
        raise ValueError(f"unexpected character '{bad}' in argument to <{word}>.")
    return int(int(text[:digits]) * units[unit])


def parse_cookie_args(words: list[str], warn: Callable[[str], None]) -> CookieConfig:
    """`NAME options...` -> CookieConfig; ValueError (tight form) or KwError (parsing form)."""
    if not words or not words[0]:
        raise KwError("'cookie' expects <cookie_name> as argument.")
    cfg, modes, rest = CookieConfig(words[0]), [], list(words[1:])
    while rest:
        word = rest.pop(0)
        if word in ("rewrite", "insert", "prefix"):
            modes.append(word)
        elif word in _FLAGS:
            setattr(cfg, _FLAGS[word], True)
        elif word == "domain":
            domain = rest.pop(0) if rest else ""
            if not domain:
                raise ValueError("'domain' expects <domain> as argument.")
            if "." not in domain:
                warn(f"domain '{domain}' contains no embedded dot, this configuration may not work properly "
                     "(see RFC6265#5.2.3).")  # fmt: skip
            cfg.domains.append(domain)
        elif word in ("maxidle", "maxlife"):
            setattr(cfg, word, _seconds(word, rest.pop(0) if rest else None))
        elif word == "attr":
            cfg.attrs.append(_attr(rest.pop(0) if rest else ""))
        else:
            raise KwError(_OPTIONS_TEXT)
    if len(set(modes)) > 1:
        raise KwError("cookie 'rewrite', 'insert' and 'prefix' modes are incompatible.")
    cfg.mode = modes[0] if modes else None
    if cfg.preserve and not (cfg.mode == "insert" or cfg.indirect):
        raise KwError("cookie 'preserve' requires at least 'insert' or 'indirect'.")
    cfg.attributes = "".join(f"; domain={d}" for d in cfg.domains) + ("; HttpOnly" if cfg.httponly else "") + \
        ("; Secure" if cfg.secure else "") + "".join(f"; {a}" for a in cfg.attrs)  # fmt: skip
    return cfg


def _attr(value: str) -> str:
    if not value:
        raise ValueError("'attr' expects <value> as argument.")
    for char in value:
        if ord(char) < 0x20 or ord(char) == 0x7F or char == ";":
            raise ValueError(f"character '%x{ord(char):02X}' is not permitted in attribute value.")
    return value


@keyword("cookie", BACKEND_SIDE, doc="<name> [rewrite|insert|prefix] [indirect] [nocache] [postonly] [preserve] "
         "[httponly] [secure] [domain <d>]* [maxidle <t>] [maxlife <t>] [attr <v>]*")  # fmt: skip
def kw_cookie(ctx: KwContext, args: list[str]) -> None:
    def tight(severity: str, message: str) -> None:
        ctx.config.diagnostics.append(Diagnostic(severity, message, ctx.loc, LOC_PARSING_TIGHT))

    try:
        cfg = parse_cookie_args(args[1:], lambda message: tight("WARNING", message))
    except KwError:
        raise
    except ValueError as exc:
        tight("ALERT", str(exc))
        return
    settings = settings_for(proxy_of(ctx))
    settings.cookie, settings.cookie_loc = cfg, ctx.loc
    if cfg.dynamic:
        ctx.warn("'cookie ... dynamic' is parsed but not applied by lb yet; servers need a 'cookie' value.")
