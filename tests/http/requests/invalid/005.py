"""obs-fold (a continuation line): refused on purpose; HAProxy 2.6 unfolds it into spaces."""

request = {"status": 400}
