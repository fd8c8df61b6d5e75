"""bare LF line ends: refused on purpose; HAProxy 2.6 accepts them."""

request = {"status": 400}
