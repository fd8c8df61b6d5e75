"""The article's configurations load, with their values and resolved routing."""

import socket

from lb.config.routing import routing_of


def check(config):
    assert config.global_.maxconn == 50000
    assert config.global_.nbproc == 2

    pg = config.frontends["pgsql_frontend"]
    assert pg.mode == "tcp"
    assert [(b.host, b.port) for b in pg.binds] == [("127.0.0.1", 15432)]
    assert pg.timeouts.client == 30_000 and pg.option("dontlognull")
    assert routing_of(pg).default_backend is config.backends["pgsql_backend"]
    assert routing_of(pg).rules == []

    db = config.backends["pgsql_backend"]
    assert db.balance.algorithm == "leastconn"
    assert [(s.name, s.port, s.id, s.check, s.inter, s.rise, s.fall) for s in db.servers] == [
        ("db-01", 25432, 1, True, 3000, 2, 3),
        ("db-02", 25433, 2, True, 3000, 2, 3),
        ("db-03", 25434, 3, True, 3000, 2, 3),
    ]
    assert db.timeouts.connect == 5000 and db.timeouts.server == 30_000

    web = config.frontends["web"]
    assert web.mode == "http" and web.timeouts.client == 60_000
    assert [(b.host, b.port, b.family) for b in web.binds] == [
        ("127.0.0.1", 18080, socket.AF_INET),
        ("127.0.0.1", 18081, socket.AF_INET),
        ("::1", 18080, socket.AF_INET6),
    ]
    assert routing_of(web).default_backend is config.backends["web_servers"]

    servers = config.backends["web_servers"].servers
    assert [(s.name, s.weight, s.backup) for s in servers] == [("web-01", 10, False), ("web-02", 20, True)]
