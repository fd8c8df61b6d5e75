"""Conditional blocks, environment variables and quoting shape the model."""

from lb.config.routing import routing_of

ENV = {"LB_TEST_ADDR": "127.0.0.1", "LB_TEST_SITE": "blue", "LB_TEST_PROD": None, "LB_TEST_PORT": None}

WARNINGS = """
[WARNING]  (4242) : config : parsing [002.cfg:4]: 'not production'.
"""


def check(config):
    assert config.global_.maxconn == 1000  # the .if branch, not the .elif one
    assert list(config.frontends) == ["fe-blue"]
    fe = config.frontends["fe-blue"]
    assert [(b.host, b.port) for b in fe.binds] == [("127.0.0.1", 8080), ("127.0.0.1", 9005)]
    routing = routing_of(fe)
    assert routing.default_backend is config.backends["be_main"]
    assert [(r.rule.backend, r.backend, r.dynamic) for r in routing.rules] == [
        ("be_api", config.backends["be_api"], False),
        ("be_blue", config.backends["be_blue"], False),
    ]
    assert routing.rules[0].rule.cond.polarity == "if"
    assert routing.rules[0].rule.cond.words == ["{", "path_beg", "/api", "}"]
    assert [s.name for s in config.backends["be_blue"].servers] == ["s$1"]  # single quotes: no expansion
