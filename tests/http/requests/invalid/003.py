"""a chunk size that is not hexadecimal."""

request = {"status": 400}
