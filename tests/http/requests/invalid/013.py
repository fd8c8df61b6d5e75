"""a separator character inside a header name."""

request = {"status": 400}
