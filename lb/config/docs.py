"""The keyword reference, built from the registry (cli, tools).

keyword_table() lists every registered keyword of every scope; it feeds
tools/gen_keyword_docs.py and `lbctl keywords`.
"""

from __future__ import annotations

from lb.config.model import PROXY_SECTIONS, SECTION_GLOBAL
from lb.config.registry import REGISTRY

SCOPES = ("global", "proxy", "server", "bind")
# Bind options have no `applied` flag in the registry; the ones accepted only
# so that existing files load say so in their doc.
_NOT_APPLIED_DOC = "accepted for compatibility"

Row = tuple[str, str, tuple[str, ...], bool, str]  # (scope, name, sections, applied, doc)


def keyword_table() -> list[Row]:
    """Every registered keyword: (scope, name, sections, applied, doc), sorted by scope then name."""
    import lb.config.keywords  # noqa: F401  (registers every keyword module)

    order = {section: n for n, section in enumerate((SECTION_GLOBAL, *PROXY_SECTIONS))}
    rows: list[Row] = []
    for (scope, name), kw in REGISTRY.keywords.items():
        sections = tuple(sorted(kw.sections, key=lambda s: order.get(s, len(order))))
        rows.append((scope, name, sections, kw.applied, kw.doc))
    for name, skw in REGISTRY.server_keywords.items():
        sections = ("server", "default-server") if skw.default_server else ("server",)
        rows.append(("server", name, sections, skw.applied, skw.doc))
    for name, bkw in REGISTRY.bind_keywords.items():
        rows.append(("bind", name, ("bind",), not bkw.doc.startswith(_NOT_APPLIED_DOC), bkw.doc))
    scopes = (*SCOPES, *sorted(REGISTRY.sections))  # then the sections feature modules registered
    return sorted(rows, key=lambda row: (scopes.index(row[0]), row[1]))


__all__ = ["keyword_table", "SCOPES"]
