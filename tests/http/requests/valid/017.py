"""a body on DELETE (HTTP/1.1)."""

request = {
    "method": 'DELETE',
    "uri": '/v017/item/7',
    "version": 'HTTP/1.1',
    "headers": [
        ('host', 'lb.test'),
        ('content-length', '4'),
    ],
    "body": b'gone',
}
