"""Configuration loading: HAProxy's language into lb.config.model objects (master, cli)."""

from __future__ import annotations

from typing import Mapping

from lb.config.model import Config
from lb.config.parser import parse_files


def load(paths: str | list[str], env: Mapping[str, str] | None = None) -> Config:
    """Parse and validate `paths`; the diagnostics are in `config.diagnostics`.

    Never raises for a bad configuration: callers decide what alerts mean
    (lbctl check prints them, a reload keeps the running generation).
    """
    return parse_files([paths] if isinstance(paths, str) else list(paths), env)


__all__ = ["Config", "load"]
