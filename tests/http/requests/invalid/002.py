"""two different Content-Length values."""

request = {"status": 400}
