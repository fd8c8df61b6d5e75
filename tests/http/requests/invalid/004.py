"""a space inside a header name."""

request = {"status": 400}
