"""a control character (DEL) in the request target."""

request = {"status": 400}
