"""Transfer-Encoding other than chunked (identity): HAProxy 2.6 answers 400 (422 is only for codings before a final chunked)."""

request = {"status": 400}

