"""two Cookie headers kept apart."""

request = {
    "method": 'GET',
    "uri": '/v019',
    "version": 'HTTP/1.1',
    "headers": [
        ('host', 'lb.test'),
        ('x-lower', 'yes'),
        ('cookie', 'a=1; b=2'),
        ('cookie', 'c=3'),
    ],
    "body": b'',
}
