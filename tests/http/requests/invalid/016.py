"""a Content-Length list with different values."""

request = {"status": 400}
