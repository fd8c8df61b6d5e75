"""HTAB and obs-text (UTF-8 bytes) inside a value."""

request = {
    "method": 'GET',
    "uri": '/v012',
    "version": 'HTTP/1.1',
    "headers": [
        ('host', 'lb.test'),
        ('x-tab', 'a\tb'),
        ('x-text', 'cafÃ©'),
    ],
    "body": b'',
}
