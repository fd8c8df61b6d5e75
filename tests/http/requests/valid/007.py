"""spaces around a value trimmed; an empty value kept."""

request = {
    "method": 'GET',
    "uri": '/v007',
    "version": 'HTTP/1.1',
    "headers": [
        ('host', 'lb.test'),
        ('x-pad', 'padded value'),
        ('x-empty', ''),
    ],
    "body": b'',
}

