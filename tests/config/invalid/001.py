"""Keyword and value errors: unknown keywords with hints, ranges, bind options,
server-line errors in HAProxy's server context, duplicate server; the
post-parse checks still run and report what the failed lines left missing."""

EXPECTED = r"""
[ALERT]    (4242) : config : parsing [001.cfg:2] : unknown keyword 'maxconnn' in 'global' section; did you mean 'maxconn' maybe ?
[ALERT]    (4242) : config : parsing [001.cfg:3] : 'nbproc' value 0 is out of range, expects an integer between 1 and 64.
[ALERT]    (4242) : config : parsing [001.cfg:4] : 'spread-checks' value 60 is out of range, expects an integer between 0 and 50.
[ALERT]    (4242) : config : parsing [001.cfg:9] : unexpected character 'x' in 'timeout client'
[ALERT]    (4242) : config : parsing [001.cfg:13] : 'bind 127.0.0.1:8080' in section 'frontend': unknown keyword 'accpet-proxy'; did you mean 'accept-proxy' maybe ?
[ALERT]    (4242) : config : parsing [001.cfg:14] : 'bind' : 'port' value 70000 is out of range, expects an integer between 1 and 65535.
[ALERT]    (4242) : config : parsing [001.cfg:15] : 'maxconn' expects an integer between 0 and 10000000, got 'abc'.
[WARNING]  (4242) : config : parsing [001.cfg:16] : 'retries' ignored because frontend 'fe' has no backend capability.
[ALERT]    (4242) : config : parsing [001.cfg:20] : unknown keyword 'baalnce' in 'backend' section; did you mean 'balance' maybe ?
[ALERT]    (4242) : config : [001.cfg:21] : 'server be/s1' : unknown keyword 'chekc'; did you mean 'check' maybe ?
[ALERT]    (4242) : config : [001.cfg:21] : 'server be/s1' : weight of server s1 is not within 0 and 256 (999).
[ALERT]    (4242) : config : parsing [001.cfg:22] : backend 'be', another server named 's1' was already defined at line 21, please use distinct names.
[ALERT]    (4242) : config : [001.cfg:23] : 'server be/s2' : 'weight' expects an integer between 0 and 256, got 'x'.
[ALERT]    (4242) : config : Error(s) found in configuration file : 001.cfg
[WARNING]  (4242) : config : frontend 'fe' has no 'bind' directive. Please declare it as a backend if this was intended.
[WARNING]  (4242) : config : missing timeouts for frontend 'fe'.
   | While not properly invalid, you will certainly encounter various problems
   | with such a configuration. To fix this, please ensure that all following
   | timeouts are set to a non-zero value: 'client', 'connect', 'server'.
[ALERT]    (4242) : config : Fatal errors found in configuration.
"""
