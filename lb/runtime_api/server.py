"""The stats sockets of the configuration, served by the master (master).

`StatsSockets` turns the `stats socket` lines into listening sockets on the
master's selector (lb.sockserver) and every client into a Session
(lb.runtime_api.session) whose commands act on the master through a
RuntimeState.  On reload the master opens the sockets of the new
configuration before its generation starts (an error aborts the reload, as
a bind error does), keeps the ones whose address did not change (so a
client never finds the socket missing), and closes the others once the new
generation is active.
"""

from __future__ import annotations

import selectors

from lb.config.model import Config, StatsSocket
from lb.runtime_api import commands
from lb.runtime_api.session import Session
from lb.runtime_api.state import RuntimeState
from lb.sockserver import SocketServer, Spec


def specs_of(config: Config) -> list[Spec]:
    glob = config.global_
    return [Spec(key=("stats",) + sock.key, family=sock.family, path=sock.file, host=sock.host, port=sock.port,
                 mode=sock.mode, uid=sock.uid, gid=sock.gid, maxconn=glob.stats_maxconn,
                 data=(sock, glob.stats_timeout, glob.bufsize))  # fmt: skip
            for sock in glob.stats_sockets]


class StatsSockets:
    def __init__(self, selector: selectors.BaseSelector, state: RuntimeState) -> None:
        commands.load_commands()
        self.state = state
        self.server = SocketServer(selector, self.new_session)

    def new_session(self, spec: Spec) -> Session:
        sock, timeout_ms, bufsize = spec.data
        level = commands.LEVELS[sock.level]
        return Session(level, lambda session, args: commands.dispatch(session, args, self.state),
                       max_line=bufsize - 1, timeout_ms=timeout_ms)  # fmt: skip

    def prepare(self, config: Config) -> list[str]:
        """Open what `config` adds; errors leave everything as it was."""
        return self.server.open(specs_of(config))

    def commit(self, config: Config) -> None:
        """`config` is the running one: close the sockets it no longer has."""
        self.server.update(specs_of(config))

    def poll(self) -> None:
        self.server.poll()

    def next_deadline(self) -> float | None:
        return self.server.next_deadline()

    def close(self) -> None:
        self.server.close()


__all__ = ["StatsSockets", "StatsSocket", "specs_of"]
