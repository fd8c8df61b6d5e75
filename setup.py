"""Build: the metadata is in setup.cfg; this file only adds the optional compiled modules.

With Cython and a C compiler, the per-request modules listed in
lb/engine.py (COMPILED) are compiled from their `.py` sources and `.pxd`
declarations (Cython's pure-Python mode).  Without either, or with
LB_PURE_PYTHON=1 in the environment, lb installs as plain Python and says
so in one line: it runs the same, slower.
"""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent


def compiled_modules() -> list[str]:
    """COMPILED of lb/engine.py, read without importing the package."""
    tree = ast.parse((HERE / "lb" / "engine.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "COMPILED":
            return list(ast.literal_eval(node.value))
    raise RuntimeError("lb/engine.py has no COMPILED list")


def notice(reason: str) -> None:
    print(f"lb: building the pure-Python engine only ({reason})", file=sys.stderr)


def extensions() -> list:
    if os.environ.get("LB_PURE_PYTHON"):
        notice("LB_PURE_PYTHON is set")
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        notice("Cython is not installed")
        return []
    # The .pxd files alone type the compiled classes: the .py annotations are for readers and mypy.
    directives = {"language_level": "3", "embedsignature": True, "annotation_typing": False}
    try:
        return cythonize(compiled_modules(), compiler_directives=directives, quiet=True)
    except Exception as exc:  # noqa: BLE001  (a module Cython cannot translate: the .py files still work)
        notice(f"Cython failed: {exc}")
        return []


class OptionalBuildExt(build_ext):
    """A missing or failing C compiler leaves the pure-Python engine, with a notice."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001  (any compiler failure: the .py files work alone)
            notice(f"compiling failed: {exc}")

    def build_extension(self, ext) -> None:  # type: ignore[no-untyped-def]
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            notice(f"compiling {ext.name} failed: {exc}")


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
