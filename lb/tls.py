"""TLS on `bind` lines: the bind keywords and the server SSLContext (master, cli; context built in worker or master).

    bind :443 ssl crt /etc/lb/site.pem alpn h2,http/1.1 [ssl-min-ver TLSv1.2] [ciphers ...] ...

Options go into `Bind.options` ("ssl", "crt" (a list), "alpn", "ciphers",
"ssl_min_ver", ...).  `crt` names a PEM file holding the certificate chain
and the key (or the key in `<file>.key`, as HAProxy allows), or a
directory whose files are all loaded; with several certificates the one
whose names match the client's SNI is used, the first one otherwise.

ALPN advertises the protocols of `alpn` that lb speaks (`h2`,
`http/1.1`, `http/1.0`), in the configured order: a client that picks `h2`
gets the HTTP/2 protocol (workers/http/h2.py).  Deviation, documented:
`ciphersuites` (TLS 1.3) is
accepted but Python's ssl module cannot set it, OpenSSL's defaults apply.
The minimum version defaults to TLSv1.2, as in HAProxy 2.6.
"""

from __future__ import annotations

import os
import ssl
from typing import Any

from lb import features
from lb.config.registry import KwError, bind_keyword

features.provide("OPENSSL", __name__)  # TLS termination on `bind ... ssl crt` (Python's ssl: OpenSSL)

VERSIONS = {"SSLv3": ssl.TLSVersion.SSLv3, "TLSv1.0": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
            "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}  # fmt: skip
_NO_FLAGS = {"no-sslv3": "SSLv3", "no-tlsv10": "TLSv1.0", "no-tlsv11": "TLSv1.1", "no-tlsv12": "TLSv1.2",
             "no-tlsv13": "TLSv1.3"}  # fmt: skip
_FORCE = {"force-sslv3": "SSLv3", "force-tlsv10": "TLSv1.0", "force-tlsv11": "TLSv1.1", "force-tlsv12": "TLSv1.2",
          "force-tlsv13": "TLSv1.3"}  # fmt: skip
_SKIPPED_SUFFIXES = (".key", ".ocsp", ".issuer", ".sctl")
ALPN_SPOKEN = ("h2", "http/1.1", "http/1.0")  # what lb answers; others in `alpn` are not advertised


def certificate_files(location: str) -> list[str]:
    """The PEM files `crt <location>` loads: the file, or a directory's files in name order."""
    if os.path.isdir(location):
        names = sorted(n for n in os.listdir(location) if not n.startswith(".") and not n.endswith(_SKIPPED_SUFFIXES))
        return [os.path.join(location, n) for n in names if os.path.isfile(os.path.join(location, n))]
    return [location]


def _key_file(path: str) -> str | None:
    """None when the PEM holds its key, else the `<path>.key` HAProxy falls back to."""
    with open(path, "rb") as fh:
        data = fh.read()
    return None if b"PRIVATE KEY-----" in data else path + ".key"


def check_certificate(path: str) -> None:
    """KwError with HAProxy's wording when `path` cannot serve as a certificate."""
    try:
        os.stat(path)
    except OSError as exc:
        raise KwError(f"unable to stat SSL certificate from file '{path}' : {exc.strerror}.") from None
    for pem in certificate_files(path):
        keyfile = _key_file(pem)
        if keyfile is not None and not os.path.exists(keyfile):
            raise KwError(f"No Private Key found in '{keyfile}'.")
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(pem, keyfile)
        except (ssl.SSLError, OSError) as exc:
            raise KwError(f"unable to load SSL certificate from file '{pem}' : {exc}.") from None


@bind_keyword("ssl", doc="terminate TLS on this listener")
def bkw_ssl(options: dict[str, Any], args: list[str]) -> None:
    options["ssl"] = True


@bind_keyword("crt", 1, doc="PEM file (certificate chain and key) or directory of them")
def bkw_crt(options: dict[str, Any], args: list[str]) -> None:
    if not args[0]:
        raise KwError("'crt' : missing certificate location")
    check_certificate(args[0])
    options.setdefault("crt", []).append(args[0])


@bind_keyword("alpn", 1, doc="comma-separated ALPN protocols (lb advertises h2, http/1.1, http/1.0 among them)")
def bkw_alpn(options: dict[str, Any], args: list[str]) -> None:
    if not args[0]:
        raise KwError("'alpn' : missing the comma-delimited ALPN protocol suite")
    options["alpn"] = [p for p in args[0].split(",") if p]


def _version(word: str):
    def handler(options: dict[str, Any], args: list[str]) -> None:
        if args[0] not in VERSIONS:
            raise KwError(f"'{args[0]}' : unknown ssl/tls version")
        options[word.replace("-", "_")] = args[0]

    return handler


for _word in ("ssl-min-ver", "ssl-max-ver"):
    bind_keyword(_word, 1, doc="SSLv3|TLSv1.0|TLSv1.1|TLSv1.2|TLSv1.3")(_version(_word))
for _word in ("ciphers", "ciphersuites", "curves", "ecdhe", "ca-file", "crl-file", "npn"):
    bind_keyword(_word, 1, doc="TLS setting, stored as given")(
        lambda options, args, key=_word.replace("-", "_"): options.__setitem__(key, args[0]))
for _word in (*_NO_FLAGS, *_FORCE, "prefer-client-ciphers", "no-tls-tickets", "strict-sni", "allow-0rtt",
              "no-ca-names"):  # fmt: skip
    bind_keyword(_word, doc="TLS flag")(lambda options, args, key=_word: options.__setitem__(key, True))


@bind_keyword("verify", 1, doc="none|optional|required: client certificate verification")
def bkw_verify(options: dict[str, Any], args: list[str]) -> None:
    if args[0] not in ("none", "optional", "required"):
        raise KwError(f"'verify' : unknown verify method '{args[0]}', only 'none', 'optional', and 'required' "
                      "are supported")  # fmt: skip
    options["verify"] = args[0]


def _versions(options: dict[str, Any]) -> tuple[ssl.TLSVersion, ssl.TLSVersion]:
    for flag, name in _FORCE.items():
        if options.get(flag):
            return VERSIONS[name], VERSIONS[name]
    order = list(VERSIONS)
    low = VERSIONS[options.get("ssl_min_ver", "TLSv1.2")]
    high = VERSIONS[options.get("ssl_max_ver", "TLSv1.3")]
    enabled = [n for n in order if low <= VERSIONS[n] <= high and not options.get(_flag_of(n))]
    if enabled:
        low, high = VERSIONS[enabled[0]], VERSIONS[enabled[-1]]
    return low, high


def _flag_of(name: str) -> str:
    return next(flag for flag, version in _NO_FLAGS.items() if version == name)


def _base_context(options: dict[str, Any]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version, context.maximum_version = _versions(options)
    if options.get("ciphers"):
        context.set_ciphers(options["ciphers"])
    if options.get("curves") or options.get("ecdhe"):
        context.set_ecdh_curve((options.get("curves") or options["ecdhe"]).split(":")[0])
    if not options.get("prefer-client-ciphers"):
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    if options.get("no-tls-tickets"):
        context.options |= ssl.OP_NO_TICKET
    spoken = [protocol for protocol in options.get("alpn") or () if protocol in ALPN_SPOKEN]
    if spoken:
        context.set_alpn_protocols(spoken)
    if options.get("ca_file"):
        context.load_verify_locations(options["ca_file"])
    verify = options.get("verify", "none")
    context.verify_mode = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}[verify]
    return context


def certificate_names(path: str) -> list[str]:
    """DNS names (subject CN and subjectAltName) of the first certificate in `path`."""
    try:
        decoded = ssl._ssl._test_decode_cert(path)  # type: ignore[attr-defined]
    except (AttributeError, ssl.SSLError, OSError):
        return []
    names = [value for kind, value in decoded.get("subjectAltName", ()) if kind == "DNS"]
    for rdn in decoded.get("subject", ()):
        names.extend(value for key, value in rdn if key == "commonName")
    return names


def _matches(pattern: str, server_name: str) -> bool:
    pattern, server_name = pattern.lower(), server_name.lower()
    if pattern.startswith("*."):
        head, dot, rest = server_name.partition(".")
        return bool(head) and dot == "." and rest == pattern[2:]
    return pattern == server_name


def build_server_context(bind: Any) -> ssl.SSLContext:
    """The SSLContext for a `bind ... ssl crt ...` listener (`bind` has `.options`)."""
    options = bind.options
    pems = [pem for location in options.get("crt", []) for pem in certificate_files(location)]
    contexts: list[tuple[list[str], ssl.SSLContext]] = []
    for pem in pems:
        context = _base_context(options)
        context.load_cert_chain(pem, _key_file(pem))
        contexts.append((certificate_names(pem), context))
    if not contexts:
        raise ValueError(f"no SSL certificate specified for bind '{bind}' (use 'crt')")
    default = contexts[0][1]

    def select(sslobj: Any, server_name: str | None, _ctx: ssl.SSLContext) -> None:
        sslobj.sni = server_name  # kept for ssl_fc_sni: Python offers no other way to read it
        if server_name and len(contexts) > 1:
            for names, context in contexts:
                if any(_matches(name, server_name) for name in names):
                    sslobj.context = context
                    return

    default.sni_callback = select
    return default
