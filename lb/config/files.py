"""Which files a list of `-f` arguments names, as HAProxy expands them (master, cli).

Each argument is a file or a directory; a directory stands for the `*.cfg`
files directly in it, in lexical (byte) order, skipping names that start
with a dot and anything that is not a regular file (HAProxy's
cfgfiles_expand_directories()).  Problems are returned as HAProxy's alert
texts instead of stopping at the first one, so `lbctl check` reports them
all.  Standard library only.
"""

from __future__ import annotations

import os
import stat


def is_config_name(name: str) -> bool:
    """HAProxy's test: no leading dot, and the first `.cfg` ends the name."""
    return not name.startswith(".") and name.find(".cfg") >= 0 and name.find(".cfg") + 4 == len(name)


def expand_paths(paths: list[str]) -> tuple[list[str], list[str]]:
    """(the files to read in order, alert messages for what cannot be read)."""
    files: list[str] = []
    problems: list[str] = []
    for path in paths:
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            problems.append(f"Cannot open configuration file/directory {path} : {exc.strerror}")
            continue
        if not stat.S_ISDIR(mode):
            files.append(path)
            continue
        try:
            names = sorted(os.listdir(path), key=os.fsencode)
        except OSError as exc:
            problems.append(f"Cannot open configuration directory {path} : {exc.strerror}")
            continue
        for name in filter(is_config_name, names):
            full = f"{path}/{name}"  # HAProxy's "%s/%s", so locations read the same
            if _is_regular(full):
                files.append(full)
    return files, problems


def _is_regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False
