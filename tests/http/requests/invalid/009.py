"""a signed Content-Length."""

request = {"status": 400}
