"""a chunk longer than its announced size."""

request = {"status": 400}
