"""empty lines before the request line are skipped."""

request = {
    "method": 'GET',
    "uri": '/v011/after-crlf',
    "version": 'HTTP/1.1',
    "headers": [
        ('host', 'lb.test'),
    ],
    "body": b'',
}
