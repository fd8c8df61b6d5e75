"""Routing: unknown and looping backends, http frontend to tcp backend (both
rule kinds), and the default_backend-over-servers warning; tcp -> http is fine."""

EXPECTED = r"""
[ALERT]    (4242) : config : http frontend 'fe' (002.cfg:6) tries to use incompatible tcp backend 'be_tcp' (002.cfg:27) as its default backend (see 'mode').
[ALERT]    (4242) : config : Proxy 'fe': unable to find required use_backend: 'nosuch'.
[ALERT]    (4242) : config : http frontend 'fe' (002.cfg:6) tries to use incompatible tcp backend 'be_tcp' (002.cfg:27) in a 'use_backend' rule (see 'mode').
[ALERT]    (4242) : config : Proxy 'fe2': unable to find required default_backend: 'missing'.
[ALERT]    (4242) : config : Proxy 'loop': loop detected for default_backend: 'loop'.
[WARNING]  (4242) : config : In proxy 'both', the 'default_backend' rule always has precedence over the servers, which will never be used.
[ALERT]    (4242) : config : Fatal errors found in configuration.
"""
