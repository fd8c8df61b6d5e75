"""Section headers, out-of-section keywords, duplicate proxy names,
keywords in the wrong section, no/default modifiers."""

EXPECTED = r"""
[ALERT]    (4242) : config : parsing [004.cfg:1]: unknown keyword 'maxconn' out of section.
[ALERT]    (4242) : config : parsing [004.cfg:4] : 'frontend' expects an <id> argument
[ALERT]    (4242) : config : parsing [004.cfg:6] : please use the 'bind' keyword for listening addresses.
[ALERT]    (4242) : config : parsing [004.cfg:8] : 'backend' cannot handle unexpected argument 'extra'.
[ALERT]    (4242) : config : parsing [004.cfg:10] : character '@' is not permitted in 'frontend' name 'f@e'.
[ALERT]    (4242) : config : Parsing [004.cfg:16]: proxy 'dup' has the same name as frontend 'dup' declared at 004.cfg:13.
[ALERT]    (4242) : config : parsing [004.cfg:19] : 'bind' not allowed in 'defaults' section.
[ALERT]    (4242) : config : parsing [004.cfg:20]: negation/default currently supported only for options, log, busy-polling, set-dumpable, strict-limits, insecure-fork-wanted and numa-cpu-mapping.
[WARNING]  (4242) : config : parsing [004.cfg:26] : 'server' ignored because frontend 'fe3' has no backend capability.
[ALERT]    (4242) : config : Error(s) found in configuration file : 004.cfg
[ALERT]    (4242) : config : Fatal errors found in configuration.
"""
