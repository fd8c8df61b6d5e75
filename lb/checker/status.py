"""The one table of health-check results (checker writes; workers, master, stats, CLI read).

Modeled on HAProxy's `check_statuses[]` (src/check.c): every check ends with
one of these statuses, and the checker stores its *index in STATUSES* in the
shm array `srv_status`, so every process decodes it the same way:

    from lb.checker.status import STATUSES
    status = STATUSES[shm.srv_status[i]]      # -> Status("L4CON", FAILED, "Layer4 connection problem")

Descriptions are HAProxy's, byte for byte: they appear in log lines
(`reason: Layer4 connection problem`) and in the stats `check_status` field.
Standard library only.  Indexes are part of the shm format: append, never
reorder.
"""

from __future__ import annotations

from typing import NamedTuple

# Result classes (HAProxy's CHK_RES_*)
UNKNOWN = 0
FAILED = 1
PASSED = 2
CONDPASS = 3  # passed, but the server asked to be taken out of load balancing


class Status(NamedTuple):
    code: str  # short name: "L4OK"
    result: int  # UNKNOWN | FAILED | PASSED | CONDPASS
    desc: str  # long description used in logs: "Layer4 check passed"
    shows_code: bool  # messages append ", code: N" (HAProxy: status >= HCHK_STATUS_L57DATA)

    @property
    def passed(self) -> bool:
        return self.result in (PASSED, CONDPASS)


STATUSES: tuple[Status, ...] = (
    Status("UNK", UNKNOWN, "Unknown", False),
    Status("INI", UNKNOWN, "Initializing", False),
    Status("SOCKERR", FAILED, "Socket error", False),
    Status("L4OK", PASSED, "Layer4 check passed", False),
    Status("L4TOUT", FAILED, "Layer4 timeout", False),
    Status("L4CON", FAILED, "Layer4 connection problem", False),
    Status("L6OK", PASSED, "Layer6 check passed", False),
    Status("L6TOUT", FAILED, "Layer6 timeout", False),
    Status("L6RSP", FAILED, "Layer6 invalid response", False),
    Status("L7TOUT", FAILED, "Layer7 timeout", False),
    Status("L7RSP", FAILED, "Layer7 invalid response", False),
    Status("L7OK", PASSED, "Layer7 check passed", True),
    Status("L7OKC", CONDPASS, "Layer7 check conditionally passed", True),
    Status("L7STS", FAILED, "Layer7 wrong status", True),
)

INDEX: dict[str, int] = {status.code: index for index, status in enumerate(STATUSES)}

# Named indexes, for the checker's own code (what it stores in srv_status).
UNK = INDEX["UNK"]
INI = INDEX["INI"]
SOCKERR = INDEX["SOCKERR"]
L4OK = INDEX["L4OK"]
L4TOUT = INDEX["L4TOUT"]
L4CON = INDEX["L4CON"]
L6OK = INDEX["L6OK"]
L6TOUT = INDEX["L6TOUT"]
L6RSP = INDEX["L6RSP"]
L7TOUT = INDEX["L7TOUT"]
L7RSP = INDEX["L7RSP"]
L7OK = INDEX["L7OK"]
L7OKC = INDEX["L7OKC"]
L7STS = INDEX["L7STS"]


def status_of(index: int) -> Status:
    """The Status stored as `index` in shm; unknown numbers read as UNK (as HAProxy does)."""
    if 0 <= index < len(STATUSES):
        return STATUSES[index]
    return STATUSES[UNK]


def by_code(code: str) -> int:
    """Index of a status written in a config (`ok-status L7OKC`), case-insensitive."""
    return INDEX[code.upper()]
