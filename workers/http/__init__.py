"""mode http in the worker: the client protocol, the exchange, the server side (worker).

    h1.py          H1Connection: HTTP/1 client connections on httptools (parsing,
                   pipelining, framing out, keep-alive, soft stop)
    exchange.py    Exchange: one request/response, protocol-independent (rules,
                   routing, a server through the Connector, the response path)
    serverconn.py  ServerConn and IdlePool: HTTP/1 connections to servers
    deadlines.py   one deadline per connection, with a phase enum
    tunnel.py      the byte relay after a 101 Switching Protocols
    heads.py       HTTP/1 wire formats: heads both ways, chunks, HTX sizes
    policy.py      the rules engine's steps (lb.rules) as the exchange calls them
    plan.py        what a proxy needs, worked out once per worker
    log.py         the log line of a finished exchange
"""
