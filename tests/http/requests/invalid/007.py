"""a header line with an empty name."""

request = {"status": 400}
