"""transfer-coding names are case-insensitive."""

request = {
    "method": 'POST',
    "uri": '/v016',
    "version": 'HTTP/1.1',
    "headers": [
        ('host', 'lb.test'),
        ('transfer-encoding', 'Chunked'),
    ],
    "body": b'abc',
}
