"""a Content-Length beyond 64 bits: refused; HAProxy 2.6 lets 2^64 through its overflow check."""

request = {"status": 400}
