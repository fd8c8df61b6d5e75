"""The status table: HAProxy's check_statuses[] names and descriptions, and shm index stability."""

import pytest

from lb.checker import status as st

HAPROXY = [  # (code, description, shows ", code: N") from src/check.c check_statuses[]
    ("UNK", "Unknown", False),
    ("INI", "Initializing", False),
    ("SOCKERR", "Socket error", False),
    ("L4OK", "Layer4 check passed", False),
    ("L4TOUT", "Layer4 timeout", False),
    ("L4CON", "Layer4 connection problem", False),
    ("L6OK", "Layer6 check passed", False),
    ("L6TOUT", "Layer6 timeout", False),
    ("L6RSP", "Layer6 invalid response", False),
    ("L7TOUT", "Layer7 timeout", False),
    ("L7RSP", "Layer7 invalid response", False),
    ("L7OK", "Layer7 check passed", True),
    ("L7OKC", "Layer7 check conditionally passed", True),
    ("L7STS", "Layer7 wrong status", True),
]


@pytest.mark.parametrize("index,expected", list(enumerate(HAPROXY)))
def test_table_entries_and_their_shm_index(index, expected):
    code, desc, shows_code = expected
    status = st.STATUSES[index]
    assert (status.code, status.desc, status.shows_code) == (code, desc, shows_code)
    assert st.INDEX[code] == index == getattr(st, code)


@pytest.mark.parametrize("code,passed", [("L4OK", True), ("L6OK", True), ("L7OK", True), ("L7OKC", True),
                                         ("L4CON", False), ("L4TOUT", False), ("L7STS", False),
                                         ("SOCKERR", False), ("UNK", False), ("INI", False)])
def test_passed(code, passed):
    assert st.STATUSES[st.INDEX[code]].passed is passed


@pytest.mark.parametrize("index", [-1, len(st.STATUSES), 255])
def test_unknown_numbers_read_as_unk(index):
    assert st.status_of(index).code == "UNK"


def test_by_code_is_case_insensitive():
    assert st.by_code("l7okc") == st.L7OKC
