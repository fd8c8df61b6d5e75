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

xfail = "workers/http_rules.request_head (raw path): trailing spaces of a header value are forwarded ('x-pad: padded value   '); HAProxy 2.6 trims them ('x-pad: padded value')"
