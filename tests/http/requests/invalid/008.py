"""NUL inside a header value: refused on purpose; HAProxy 2.6 forwards it."""

request = {"status": 400}
