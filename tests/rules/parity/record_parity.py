"""Record HAProxy's behaviour for the lb.rules parity tests (a tool, not a test).

    python tests/rules/parity/record_parity.py [/usr/sbin/haproxy]

For every case file `*.case.json` next to this script (a config with
`{DIR}` and `{SERVER}` placeholders, extra files, canned server responses
and raw requests), it starts a canned HTTP server on loopback, runs the
real haproxy on the config, sends each request on its own connection and
stores, per request: the head the server received, the bytes the client
got back and the 4-char termination state from haproxy's log, into
`*.golden.json`.  test_parity.py replays the requests through lb.rules and
compares byte for byte.  Connection headers are removed from the recorded
bytes: the HTTP engine (workers/http.py) owns them.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONNECTION = re.compile(rb"connection: [a-z-]+\r\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CannedServer:
    """Answers every request with the canned response for its path; records heads."""

    def __init__(self, responses: dict[str, str]) -> None:
        self.responses = {k: v.encode("latin-1") for k, v in responses.items()}
        self.heads: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buf:
                    try:
                        data = conn.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                self.heads.append(head + b"\r\n\r\n")
                path = head.split(b" ")[1].decode("latin-1").split("?")[0]
                key = path.strip("/").replace("/", "_")
                conn.sendall(self.responses.get(key, self.responses["default"]))


def read_response(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=3) as conn:
        conn.sendall(raw)
        data = b""
        while True:
            if b"\r\n\r\n" in data:
                head, body = data.split(b"\r\n\r\n", 1)
                lengths = re.findall(rb"(?im)^content-length: *(\d+)", head)
                if raw.startswith(b"HEAD ") or len(body) >= (int(lengths[0]) if lengths else 0):
                    return data
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk


def record(case_path: Path, haproxy: str) -> None:
    case = json.loads(case_path.read_text())
    server = CannedServer(case["responses"])
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in case.get("files", {}).items():
            Path(tmp, name).write_text(text)
        config = case["config"].replace("{DIR}", tmp).replace("{SERVER}", f"127.0.0.1:{server.port}")
        config = config.replace("{PORT}", str(port))
        Path(tmp, "h.cfg").write_text(config)
        proc = subprocess.Popen([haproxy, "-f", f"{tmp}/h.cfg"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        time.sleep(case.get("settle", 0.5))
        results = []
        try:
            for raw_text in case["requests"]:
                before = len(server.heads)
                answer = read_response(port, raw_text.encode("latin-1"))
                time.sleep(0.05)
                forwarded = server.heads[before] if len(server.heads) > before else None
                results.append({
                    "forwarded": None if forwarded is None else CONNECTION.sub(b"", forwarded).decode("latin-1"),
                    "response": CONNECTION.sub(b"", answer).decode("latin-1"),
                })
        finally:
            proc.terminate()
            output = proc.communicate(timeout=5)[0].decode("latin-1")
    states = re.findall(r" \d{3} \d+ \S+ \S+ (\S{4}) ", output)
    for result, state in zip(results, states):
        result["state"] = state
    golden = case_path.with_name(case_path.name.replace(".case.json", ".golden.json"))
    golden.write_text(json.dumps({"haproxy": subprocess.run([haproxy, "-v"], capture_output=True, text=True)
                                  .stdout.splitlines()[0], "results": results}, indent=1) + "\n")  # fmt: skip
    print(f"{golden.name}: {len(results)} results, {len(states)} log states")


if __name__ == "__main__":
    binary = sys.argv[1] if len(sys.argv) > 1 else "/usr/sbin/haproxy"
    for path in sorted(HERE.glob("*.case.json")):
        record(path, binary)
