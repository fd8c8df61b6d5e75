"""an explicit empty body."""

request = {
    "method": 'PUT',
    "uri": '/v013/empty',
    "version": 'HTTP/1.1',
    "headers": [
        ('host', 'lb.test'),
        ('content-length', '0'),
    ],
    "body": b'',
}
