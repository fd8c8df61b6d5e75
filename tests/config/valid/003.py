"""Accepted silently: listen, tcp -> http, tunnel timeout, no servers, no backend, disabled."""

from lb.config.routing import routing_of

WARNINGS = ""


def check(config):
    listen = config.frontends["self_served"]
    assert config.backends["self_served"] is listen
    assert routing_of(listen).default_backend is listen  # serves its own servers
    assert routing_of(config.frontends["tcp_in"]).default_backend is config.backends["http_be"]
    assert routing_of(config.frontends["lonely"]).default_backend is None
    assert config.backends["empty_be"].servers == []
    assert config.frontends["stopped"].disabled
