"""Expect forwarded; the body sent without waiting is accepted."""

request = {
    "method": 'PATCH',
    "uri": '/v020',
    "version": 'HTTP/1.1',
    "headers": [
        ('host', 'lb.test'),
        ('content-length', '2'),
        ('expect', '100-continue'),
    ],
    "body": b'{}',
}
