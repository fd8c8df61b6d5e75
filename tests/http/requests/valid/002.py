"""a Content-Length body."""

request = {
    "method": 'POST',
    "uri": '/v002/form',
    "version": 'HTTP/1.1',
    "headers": [
        ('host', 'lb.test'),
        ('content-type', 'application/x-www-form-urlencoded'),
        ('content-length', '11'),
    ],
    "body": b'hello=world',
}
