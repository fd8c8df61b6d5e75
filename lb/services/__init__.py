"""HTTP services: answers lb gives itself instead of a server (worker).

HAProxy's applets: the stats page (`stats enable`/`stats uri`) and
`http-request use-service prometheus-exporter`.  lb.services.base is the
contract between a service and the engine (workers/http); each service lives
in its own module and registers its name in lb.services.registry.
"""
