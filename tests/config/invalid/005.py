"""`.alert` stops reading the file, as in HAProxy."""

EXPECTED = r"""
[ALERT]    (4242) : config : parsing [005.cfg:3]: 'stop here'.
[ALERT]    (4242) : config : Error(s) found in configuration file : 005.cfg
[WARNING]  (4242) : config : missing timeouts for frontend 'fe'.
   | While not properly invalid, you will certainly encounter various problems
   | with such a configuration. To fix this, please ensure that all following
   | timeouts are set to a non-zero value: 'client', 'connect', 'server'.
[ALERT]    (4242) : config : Fatal errors found in configuration.
"""
