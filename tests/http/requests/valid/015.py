"""Connection: close concerns the client side only; the server connection stays keep-alive."""

request = {
    "method": 'GET',
    "uri": '/v015',
    "version": 'HTTP/1.1',
    "headers": [
        ('host', 'lb.test'),
    ],
    "body": b'',
}
