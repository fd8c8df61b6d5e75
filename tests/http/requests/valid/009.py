"""asterisk-form target."""

request = {
    "method": 'OPTIONS',
    "uri": '*',
    "version": 'HTTP/1.1',
    "headers": [
        ('host', 'lb.test'),
    ],
    "body": b'',
}
