"""repeated headers kept apart and in order."""

request = {
    "method": 'GET',
    "uri": '/v006',
    "version": 'HTTP/1.1',
    "headers": [
        ('host', 'lb.test'),
        ('x-dup', '1'),
        ('accept', 'a'),
        ('x-dup', '2, 3'),
    ],
    "body": b'',
}
