"""HTTP/1.0 without Host: lb asks the server for keep-alive, as HAProxy does."""

request = {
    "method": 'GET',
    "uri": '/v004/old',
    "version": 'HTTP/1.0',
    "headers": [
        ('connection', 'keep-alive'),
    ],
    "body": b'',
}
