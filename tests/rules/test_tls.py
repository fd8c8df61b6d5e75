"""TLS bind options and the server SSLContext: certificates, SNI choice, ALPN, versions (in memory, no sockets)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from lb.tls import build_server_context, certificate_files, certificate_names
from tests.rules.helpers import load

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def make_cert(directory: Path, name: str, key_apart: bool = False) -> Path:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key.tmp"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name},DNS:*.{name}"],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    if key_apart:
        key.rename(directory / f"{name}.pem.key")
    else:
        cert.write_bytes(cert.read_bytes() + key.read_bytes())
        key.unlink()
    return cert


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("certs")
    make_cert(directory, "a.example")
    make_cert(directory, "b.example", key_apart=True)
    return directory


def handshake(context: ssl.SSLContext, server_name: str | None, alpn: list[str] | None = None,
              version: ssl.TLSVersion | None = None) -> ssl.SSLObject:  # fmt: skip
    """Run a TLS handshake between an in-memory client and `context`; return the client side."""
    client_ctx = ssl.create_default_context()
    client_ctx.check_hostname, client_ctx.verify_mode = False, ssl.CERT_NONE
    if alpn:
        client_ctx.set_alpn_protocols(alpn)
    if version:
        client_ctx.minimum_version = client_ctx.maximum_version = version
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=server_name)
    server = context.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(20):
        for side, obj in (("client", client), ("server", server)):
            if not done[side]:
                try:
                    obj.do_handshake()
                    done[side] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return client
    raise AssertionError("handshake did not finish")


def bind_of(tmp_path: Path, options: str):
    config = load(tmp_path, f"frontend fe\n    bind 127.0.0.1:8443 {options}\n    default_backend be\n"
                            "backend be\n    server s 127.0.0.1:9\n")  # fmt: skip
    assert not config.alerts, [d.message for d in config.alerts]
    return config.frontends["fe"].binds[0]


def test_article_bind_line(tmp_path: Path, certs: Path) -> None:
    bind = bind_of(tmp_path, f"ssl crt {certs}/a.example.pem alpn h2,http/1.1")
    assert bind.options["ssl"] and bind.options["crt"] == [f"{certs}/a.example.pem"]
    assert bind.options["alpn"] == ["h2", "http/1.1"]
    client = handshake(build_server_context(bind), "a.example", ["h2", "http/1.1"])
    assert client.selected_alpn_protocol() == "h2"  # the HTTP/2 protocol (workers/http/h2.py)
    assert client.getpeercert(binary_form=True)


def test_certificate_directory_and_sni_choice(tmp_path: Path, certs: Path) -> None:
    assert [Path(p).name for p in certificate_files(str(certs))] == ["a.example.pem", "b.example.pem"]
    assert set(certificate_names(str(certs / "b.example.pem"))) == {"b.example", "*.b.example"}
    context = build_server_context(bind_of(tmp_path, f"ssl crt {certs}"))
    for sni, expected in (("b.example", "b.example"), ("www.b.example", "b.example"), ("other", "a.example"),
                          (None, "a.example")):  # fmt: skip
        client = handshake(context, sni)
        der = client.getpeercert(binary_form=True)
        assert expected.encode() in der, sni


def test_versions(tmp_path: Path, certs: Path) -> None:
    context = build_server_context(bind_of(tmp_path, f"ssl crt {certs}/a.example.pem ssl-min-ver TLSv1.3"))
    assert context.minimum_version == ssl.TLSVersion.TLSv1_3
    assert handshake(context, None).version() == "TLSv1.3"
    context = build_server_context(bind_of(tmp_path, f"ssl crt {certs}/a.example.pem no-tlsv13"))
    assert context.maximum_version == ssl.TLSVersion.TLSv1_2
    assert build_server_context(bind_of(tmp_path, f"ssl crt {certs}/a.example.pem")).minimum_version == \
        ssl.TLSVersion.TLSv1_2  # fmt: skip


@pytest.mark.parametrize("alpn,offered,chosen", [
    ("h2", ["h2"], "h2"),
    ("http/1.1,h2", ["h2", "http/1.1"], "http/1.1"),  # the bind's order
    ("spdy/3,http/1.1", ["spdy/3", "http/1.1"], "http/1.1"),  # what lb does not speak is not advertised
    ("spdy/3", ["spdy/3"], None),
])  # fmt: skip
def test_alpn_advertises_what_lb_speaks(tmp_path: Path, certs: Path, alpn: str, offered: list[str],
                                        chosen: str | None) -> None:  # fmt: skip
    context = build_server_context(bind_of(tmp_path, f"ssl crt {certs}/a.example.pem alpn {alpn}"))
    assert handshake(context, None, offered).selected_alpn_protocol() == chosen


@pytest.mark.parametrize("options,message", [
    ("ssl", "Proxy 'fe': no SSL certificate specified for bind '127.0.0.1:8443' at [{f}:7] (use 'crt')."),
    ("ssl crt /nonexist.pem", "unable to stat SSL certificate from file '/nonexist.pem' : No such file or directory."),
    ("ssl crt {certs}/a.example.pem ssl-min-ver TLSv1.9", "'TLSv1.9' : unknown ssl/tls version"),
    ("ssl crt {certs}/a.example.pem verify sometimes", "'verify' : unknown verify method 'sometimes', only 'none', "
     "'optional', and 'required' are supported"),
])  # fmt: skip
def test_errors(tmp_path: Path, certs: Path, options: str, message: str) -> None:
    config = load(tmp_path, f"frontend fe\n    bind 127.0.0.1:8443 {options.format(certs=certs)}\n"
                            "    default_backend be\nbackend be\n")  # fmt: skip
    assert message.format(f=tmp_path / "t.cfg") in [d.message for d in config.alerts]


def test_missing_key(tmp_path: Path) -> None:
    lone = tmp_path / "lone.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "k"),
                    "-out", str(lone), "-days", "1", "-subj", "/CN=x"], check=True, capture_output=True, timeout=60)
    config = load(tmp_path, f"frontend fe\n    bind 127.0.0.1:8443 ssl crt {lone}\n")
    assert f"No Private Key found in '{lone}.key'." in [d.message for d in config.alerts]
