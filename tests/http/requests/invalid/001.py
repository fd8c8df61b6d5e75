"""Content-Length with Transfer-Encoding: refused on purpose (issue 4); HAProxy 2.6 drops the Content-Length and forwards."""

request = {"status": 400}
