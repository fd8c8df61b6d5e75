"""a chunked body with a chunk extension and a trailer: forwarded chunked, extension dropped."""

request = {
    "method": 'POST',
    "uri": '/v003/chunked',
    "version": 'HTTP/1.1',
    "headers": [
        ('host', 'lb.test'),
        ('transfer-encoding', 'chunked'),
    ],
    "body": b'hello world',
}
