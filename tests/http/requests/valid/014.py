"""every visible ASCII character HAProxy accepts in a target, forwarded untouched."""

request = {
    "method": 'GET',
    "uri": "/v014/a%20b/c;p=1?x=%2F&y=[1]&z=~!$'()*+,@:",
    "version": 'HTTP/1.1',
    "headers": [
        ('host', 'lb.test'),
    ],
    "body": b'',
}
