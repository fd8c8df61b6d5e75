"""absolute-form target forwarded as is."""

request = {
    "method": 'GET',
    "uri": 'http://lb.test/v008/abs?q=1',
    "version": 'HTTP/1.1',
    "headers": [
        ('host', 'lb.test'),
    ],
    "body": b'',
}
