"""header names lower-cased (HAProxy 2.6, HTX), value case kept."""

request = {
    "method": 'GET',
    "uri": '/v005',
    "version": 'HTTP/1.1',
    "headers": [
        ('host', 'lb.test'),
        ('x-custom-header', 'Mixed Case Value'),
    ],
    "body": b'',
}
