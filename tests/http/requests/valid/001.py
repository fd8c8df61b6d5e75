"""a plain GET with a query string: names lower-cased, values and order kept."""

request = {
    "method": 'GET',
    "uri": '/v001/index.html?lang=fr&page=2',
    "version": 'HTTP/1.1',
    "headers": [
        ('host', 'lb.test'),
        ('user-agent', 'curl/8.0'),
        ('accept', '*/*'),
    ],
    "body": b'',
}
