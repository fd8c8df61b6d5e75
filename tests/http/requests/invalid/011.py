"""a version that is not HTTP/x.y."""

request = {"status": 400}
