"""only Connection is consumed by the proxy; HAProxy 2.6 forwards Keep-Alive and Proxy-Connection."""

request = {
    "method": 'GET',
    "uri": '/v010',
    "version": 'HTTP/1.1',
    "headers": [
        ('host', 'lb.test'),
        ('keep-alive', 'timeout=5'),
        ('proxy-connection', 'keep-alive'),
    ],
    "body": b'',
}

xfail = "workers/http_rules.HOP_BY_HOP: lb also drops 'keep-alive' and 'proxy-connection' request headers; HAProxy 2.6 removes only 'connection' and forwards 'keep-alive: timeout=5' and 'proxy-connection: keep-alive'"
