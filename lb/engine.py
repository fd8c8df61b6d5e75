"""Which engine runs: the compiled hot path or plain Python (all processes; standard library only).

The per-request modules (COMPILED below) are compiled with Cython in
pure-Python mode when lb is installed with a C compiler at hand: each
`.py` stays the one readable source, and a `.pxd` beside it types its
classes.  Python imports an extension module before the source of the
same name, so a compiled build runs compiled code; `LB_PURE_PYTHON=1`
in the environment makes it run the `.py` files instead, through a
finder installed ahead of Python's own when `lb` or `workers` is first
imported.

`engine()` says which one this process runs (`lbctl start` logs it).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from types import ModuleType
from typing import Sequence

# The modules compiled when a compiler is available (setup.py reads this list).
COMPILED = (
    "workers/loop.py",
    "workers/buffer.py",
    "workers/runtime.py",
    "workers/counting.py",
    "workers/connector.py",
    "workers/client.py",
    "workers/tcp.py",
    "workers/tcpsplice.py",
    "workers/tcpend.py",
    "workers/http/deadlines.py",
    "workers/http/plan.py",
    "workers/http/target.py",
    "workers/http/heads.py",
    "workers/http/exchange.py",
    "workers/http/h1.py",
    "workers/http/h1end.py",
    "workers/http/serverconn.py",
    "workers/http/log.py",
    "workers/http/h2heads.py",
    "workers/http/h2stream.py",
    "workers/http/h2.py",
    "lb/logs/record.py",
    "lb/logs/steps.py",
    "lb/logs/render.py",
    "lb/logs/syslog.py",
    "lb/logs/targets.py",
    "lb/logs/runtime.py",
    "lb/balance/base.py",
    "lb/balance/roundrobin.py",
    "lb/balance/leastconn.py",
)
PURE_PYTHON_ENV = "LB_PURE_PYTHON"
PACKAGES = ("lb", "workers")


class NoCython:
    """What a compiled module reads of the `cython` module, for plain Python
    without Cython installed: `cython.compiled` is False."""

    compiled = False


class SourceFirst(importlib.abc.MetaPathFinder):
    """Finds the `.py` source of lb's modules even where a compiled module sits beside it."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) \
            -> importlib.machinery.ModuleSpec | None:  # fmt: skip
        if fullname.partition(".")[0] not in PACKAGES or "." not in fullname:
            return None
        name = fullname.rpartition(".")[2]
        for entry in path or sys.path:
            source = os.path.join(entry, name + ".py")
            if os.path.isfile(source):
                return importlib.util.spec_from_file_location(fullname, source)
        return None


def use_pure_python_if_asked() -> None:
    """Install SourceFirst when LB_PURE_PYTHON is set (called by the packages' __init__)."""
    if os.environ.get(PURE_PYTHON_ENV) and not any(isinstance(f, SourceFirst) for f in sys.meta_path):
        sys.meta_path.insert(0, SourceFirst())


def engine() -> str:
    """"compiled" when the event loop of this process is a compiled module, else "python"."""
    import workers.loop

    return "compiled" if workers.loop.__file__ and not workers.loop.__file__.endswith(".py") else "python"
