"""Balancing algorithms: one file each, chosen by the `balance` keyword (worker; keyword: master, cli).

ALGORITHMS maps the keyword to the Balancer class; each algorithm module
registers itself with @algorithm.
"""

from __future__ import annotations

from lb.balance.base import ALGORITHMS, Balancer, algorithm
from lb.config.kw_proxy import BACKEND_SIDE, proxy_of
from lb.config.model import Balance
from lb.config.registry import KwContext, KwError, keyword

# Importing registers them.
from lb.balance import first, hdr, leastconn, roundrobin, source, staticrr, uri, urlparam  # noqa: E402,F401  isort: skip


def _split_call(word: str) -> tuple[str, list[str]]:
    """`hdr(host)` -> ("hdr", ["host"])."""
    if word.endswith(")") and "(" in word:
        name, _, inner = word[:-1].partition("(")
        return name, [part for part in inner.split(",") if part]
    return word, []


@keyword("balance", BACKEND_SIDE, doc="roundrobin | static-rr | leastconn | source | first | uri | url_param <p> | hdr(<name>)")
def kw_balance(ctx: KwContext, args: list[str]) -> None:
    if len(args) < 2:
        raise KwError(_balance_usage())
    name, call_args = _split_call(args[1])
    if name not in ALGORITHMS:
        raise KwError(_balance_usage())
    cls = ALGORITHMS[name]
    params = call_args + args[2:]
    error = cls.check_args(params)
    if error:
        raise KwError(f"'balance {name}' : {error}")
    proxy_of(ctx).balance = Balance(name, params, ctx.loc)


def _balance_usage() -> str:
    names = [f"'{n}'" for n in ALGORITHMS]
    return f"balance only supports {', '.join(names[:-1])} and {names[-1]} options."


__all__ = ["ALGORITHMS", "Balancer", "algorithm"]
