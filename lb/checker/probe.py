"""One run of a server's check program, non-blocking, on the checker's selector (checker).

A Probe walks the compiled program (lb.checker.program) the way HAProxy's
`tcpcheck_main` does: connect (with the PROXY header when configured),
send, read and evaluate expects, and ends with one Outcome: a status index
(lb.checker.status), an HTTP code, an info text and the duration.

Timeouts (HAProxy `tcpcheck_eval_connect`): every connect is bounded by
`inter`, or by min(inter, timeout connect) when `timeout check` is set;
once connected, `timeout check` (when set) bounds the rest of the check.
Without `timeout check`, `inter` bounds the whole check.

Sockets are closed with a reset (SO_LINGER 0), as HAProxy closes checks,
so that hundreds of checks per second leave no TIME_WAIT behind; the
`linger` option of `tcp-check connect` asks for a normal close.
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
import struct
from typing import Callable, NamedTuple

from lb.checker import report
from lb.checker import status as st
from lb.checker.expect import CONTINUE, FAIL, WAIT, eval_http, eval_tcp, success_info
from lb.checker.httpmsg import HttpResponse, build_request
from lb.checker.model import BUFSIZE, KIND_TCP, ConnectRule, ExpectRule, HttpSendRule, Rule, SendRule
from lb.checker.proxyhdr import check_header
from lb.checker.rules import status_index
from lb.checker.target import CheckTarget
from lb.checker.timers import Timer, TimerHeap, now_ms

RESET_ON_CLOSE = struct.pack("ii", 1, 0)


class Outcome(NamedTuple):
    status: int
    code: int
    info: str
    duration: int  # ms


def step_of(rule: Rule) -> int:
    """HAProxy's step number: 0 for the implicit first connect, else declaration index + 1."""
    if isinstance(rule, ConnectRule) and rule.implicit:
        return 0
    return rule.index + 1


def step_info(rule: Rule) -> str:
    """` at step 2 of tcp-check (expect string '+PONG')`: where a tcp-check stopped (chk_report_conn_err)."""
    step = step_of(rule)
    if step == 0:
        return " at initial connection step of tcp-check"
    text = f" at step {step} of tcp-check"
    if isinstance(rule, ConnectRule):
        text += f" (connect port {rule.port})" if rule.port else " (connect)"
    elif isinstance(rule, ExpectRule):
        text += {"string": f" (expect string '{rule.pattern}')", "binary": f" (expect binary '{rule.pattern}')",
                 "rstring": " (expect regex)", "rbinary": " (expect binary regex)"}.get(rule.kind, "")
    elif isinstance(rule, (SendRule, HttpSendRule)):
        text += " (send)"
    if rule.comment:
        text += f" comment: '{rule.comment}'"
    return text


class Probe:
    """Runs once; `done(probe)` is called with `probe.outcome` set, unless abort() came first.

    Every way in (start, socket events, the timeout) goes through `_enter`:
    an exception in the probe's own work ends this check as a failed one
    (SOCKERR, "internal error: ..."), is reported once with its traceback,
    and closes the socket.  `done` is then called outside that guard: what
    the checker does with the result is the checker's to guard.
    """

    def __init__(self, target: CheckTarget, selector: selectors.BaseSelector, timers: TimerHeap,
                 done: Callable[["Probe"], None]) -> None:
        self.target, self.selector, self.timers, self.done = target, selector, timers, done
        self.outcome: Outcome | None = None
        self.reported = False  # done() called, or abort(): it never will be
        self.started = 0.0
        self.pos = 0
        self.sock: socket.socket | None = None
        self.mask = 0
        self.timer: Timer | None = None
        self.connect_rule: ConnectRule | None = None
        self.connected = False
        self.sending: Rule | None = None
        self.out = bytearray()
        self.inbuf = bytearray()
        self.resp: HttpResponse | None = None
        self.received = 0  # bytes read since the last send or connect
        self.must_read = True
        self.eof = False
        self.code = 0
        self.success: tuple[Rule, int, str] | None = None  # (rule, status, info) a protocol expect reported

    # -- life cycle ------------------------------------------------------------
    def start(self) -> None:
        self.started = now_ms()
        self._enter("start", self._run)

    def abort(self) -> None:
        """Stop without reporting (server put in maintenance, checker stopping, a failure around it)."""
        self.reported = True
        self._close()

    def _enter(self, step: str, work: Callable[[], None]) -> None:
        """Run `work` for this check, then hand a finished outcome to `done`, once."""
        try:
            work()
        except Exception as exc:  # noqa: BLE001  a bug ends this check, not the checker
            report.internal_error(f"probe {step}", self.target, exc)
            self._finish(st.SOCKERR, f"internal error: {exc!r}")
        if self.outcome is not None and not self.reported:
            self.reported = True
            self.done(self)

    @property
    def tcp_check(self) -> bool:
        return self.target.kind == KIND_TCP

    def _finish(self, status: int, info: str = "", code: int | None = None) -> None:
        """Set the outcome (the first one wins) and close; `_enter` reports it."""
        if self.outcome is not None:
            return
        duration = max(0, int(now_ms() - self.started))
        self.outcome = Outcome(status, self.code if code is None else code, info, duration)
        self._close()

    def _close(self) -> None:
        """Release the timer and the socket; never raises, always closes."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        sock, self.sock = self.sock, None
        if sock is None:
            return
        try:
            if self.mask:
                self.selector.unregister(sock)
        except (KeyError, ValueError, OSError):  # not (or no longer) registered: nothing to undo
            pass
        self.mask = 0
        try:
            if not (isinstance(self.connect_rule, ConnectRule) and self.connect_rule.linger):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
        except OSError:
            pass
        try:
            sock.close()
        except OSError:  # closed under us already
            pass

    # -- the program -------------------------------------------------------------
    def _run(self) -> None:
        program = self.target.program
        while self.outcome is None and self.pos < len(program):
            rule = program[self.pos]
            if isinstance(rule, ConnectRule):
                proceed = self._step_connect(rule)
            elif isinstance(rule, (SendRule, HttpSendRule)):
                proceed = self._step_send(rule)
            elif isinstance(rule, ExpectRule):
                proceed = self._step_expect(rule)
            else:
                proceed = True
            if not proceed:
                return
            self.pos += 1
        if self.outcome is None:
            self._succeed(program[-1])

    def _succeed(self, last: Rule) -> None:
        if self.success is not None and self.success[0] is last:
            self._finish(self.success[1], self.success[2])
        elif isinstance(last, ExpectRule):
            self._finish(status_index(last.ok_status, st.L7OK), success_info(last, self.tcp_check))
        elif isinstance(last, ConnectRule):
            self._finish(st.L4OK, "" if last.implicit else "(tcp-check)")
        else:
            self._finish(st.L7OK, "(tcp-check)")

    def _step_connect(self, rule: ConnectRule) -> bool:
        if self.connect_rule is not rule:
            self._open(rule)
            if self.outcome is not None:
                return False
        if not self.connected:
            self._want(selectors.EVENT_WRITE)
            return False
        return self._flush()

    def _step_send(self, rule: SendRule | HttpSendRule) -> bool:
        if self.sending is not rule:
            self.sending = rule
            self.inbuf.clear()
            self.received, self.must_read, self.code = 0, True, 0
            if isinstance(rule, HttpSendRule):
                self.out += build_request(rule)
                self.resp = HttpResponse()
            else:
                self.out += rule.data
        return self._flush()

    def _step_expect(self, rule: ExpectRule) -> bool:
        if self.must_read:
            self._want(selectors.EVENT_READ)
            return False
        if rule.http and self.resp is not None:
            verdict = eval_http(rule, self.resp, self.eof, step_of(rule))
            self.code = self.resp.status or 0
        else:
            verdict = eval_tcp(rule, bytes(self.inbuf), self.eof, step_of(rule), self.tcp_check)
        if verdict.code is not None:
            self.code = verdict.code
        if verdict.outcome == CONTINUE and verdict.info:
            self.success = (rule, verdict.status, verdict.info)  # a protocol check's own success text
        if verdict.outcome == WAIT:
            self.pos, self.must_read = rule.head, True
            self._want(selectors.EVENT_READ)
            return False
        if verdict.outcome == FAIL:
            self._finish(verdict.status, verdict.info)
            return False
        return verdict.outcome == CONTINUE

    # -- socket work ---------------------------------------------------------------
    def _open(self, rule: ConnectRule) -> None:
        self._close()
        self.connect_rule, self.connected, self.sending = rule, False, None
        self.out.clear()
        self.inbuf.clear()
        self.resp, self.received, self.must_read, self.eof = None, 0, True, False
        host, port, family = self.target.destination(rule)
        try:
            self.sock = socket.socket(family, socket.SOCK_STREAM)
            self.sock.setblocking(False)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            err = self.sock.connect_ex((host, port))
        except OSError as exc:
            self._finish(st.SOCKERR, self._error_info(exc.errno or errno.EIO))
            return
        self._arm(self._connect_budget())
        if err == 0:
            self._connected()
        elif err not in (errno.EINPROGRESS, errno.EAGAIN):
            self._finish(st.L4CON, self._error_info(err))

    def _connect_budget(self) -> float:
        budget = float(self.target.inter)
        if self.target.timeout_check and self.target.timeout_connect:
            budget = min(budget, self.target.timeout_connect)
        return budget

    def _connected(self) -> None:
        self.connected = True
        if self.target.timeout_check:
            self._arm(float(self.target.timeout_check))
        version = self.target.header_version(self.connect_rule)  # type: ignore[arg-type]
        if version:
            self.out += check_header(version, self.sock)  # type: ignore[arg-type]

    def _flush(self) -> bool:
        """Write pending bytes; True when everything went out."""
        while self.out:
            try:
                sent = self.sock.send(self.out)  # type: ignore[union-attr]
            except (BlockingIOError, InterruptedError):
                self._want(selectors.EVENT_WRITE)
                return False
            except OSError as exc:
                self._finish(st.SOCKERR, self._error_info(exc.errno or errno.EIO))
                return False
            del self.out[:sent]
        return True

    def _want(self, events: int) -> None:
        if self.sock is None or events == self.mask:
            return
        if self.mask:
            self.selector.modify(self.sock, events, self._on_io)
        else:
            self.selector.register(self.sock, events, self._on_io)
        self.mask = events

    def _arm(self, delay: float) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.timers.call_at(now_ms() + delay, self._on_timeout, owner=self)

    def _on_io(self, mask: int) -> None:
        self._enter("io", lambda: self._handle_io(mask))

    def _handle_io(self, mask: int) -> None:
        if self.outcome is not None or self.sock is None:
            return
        if not self.connected:
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self._finish(st.L4CON, self._error_info(err))
                return
            self._connected()
            self._run()
        elif mask & selectors.EVENT_READ and self.mask == selectors.EVENT_READ:
            self._receive()
        else:
            self._run()

    def _receive(self) -> None:
        error = 0
        try:
            data = self.sock.recv(max(1, BUFSIZE - len(self.inbuf)))  # type: ignore[union-attr]
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            data, error = b"", exc.errno or errno.EIO
        if data:
            self.received += len(data)
            self.inbuf += data
            if self.resp is not None:
                self.resp.feed(data)
        else:
            self.eof = True
        if not self.received and (error or self.eof):
            self._empty_response(error)
            return
        self.must_read = False
        self._run()

    def _empty_response(self, error: int) -> None:
        rule = self.target.program[self.pos]
        if error:
            self._finish(st.SOCKERR, self._error_info(error))
            return
        info = f"TCPCHK got an empty response at step {step_of(rule)}"
        if rule.comment:
            info += f" comment: '{rule.comment}'"
        failed = st.L7RSP
        if isinstance(rule, ExpectRule):
            failed = status_index(rule.error_status, st.L7RSP)
        self._finish(failed, info)

    def _on_timeout(self) -> None:
        self.timer = None
        self._enter("timeout", self._handle_timeout)

    def _handle_timeout(self) -> None:
        if self.outcome is not None:
            return
        rule = self.target.program[min(self.pos, len(self.target.program) - 1)]
        if not self.connected:
            self._finish(st.L4TOUT, self._error_info(0))
            return
        timed_out = st.L7TOUT
        if isinstance(rule, ExpectRule):
            timed_out = status_index(rule.tout_status, st.L7TOUT)
        self._finish(timed_out, self._error_info(0))

    def _error_info(self, err: int) -> str:
        """strerror, then where a tcp-check stopped (HAProxy chk_report_conn_err)."""
        where = step_info(self.target.program[min(self.pos, len(self.target.program) - 1)]) \
            if self.tcp_check else ""
        return (os.strerror(err) if err else "") + where
