"""`lbctl demo` (the README's first command) really balances: every bundled application answers."""

from __future__ import annotations

import re

from tests.support import lbctl


def test_demo_balances_over_the_three_applications() -> None:
    result = lbctl("demo", "--duration", "4", "--interval", "0.1", timeout=60)
    assert result.returncode == 0, result.stderr
    answers = re.findall(r"request +\d+: 200 Hello from (app-\d)", result.stdout)
    assert set(answers) == {"app-1", "app-2", "app-3"}
    # lb's own httplog lines are printed too, one per request
    assert re.search(r'www apps/app-\d \S+ 200 \d+ - - ---- .* "GET /demo/\d+ HTTP/1.1"', result.stdout)
