"""HTTP/1.0 keep-alive with a body."""

request = {
    "method": 'POST',
    "uri": '/v018',
    "version": 'HTTP/1.0',
    "headers": [
        ('content-length', '5'),
        ('connection', 'keep-alive'),
    ],
    "body": b'hi 10',
}
