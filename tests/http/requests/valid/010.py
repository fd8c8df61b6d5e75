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

