"""Import every module that registers configuration keywords (master, cli).

A feature module that registers keywords must be listed here, so that the
parser knows its keywords whatever the importing process.
"""

import lb.balance  # noqa: F401  balance
import lb.checker.keywords  # noqa: F401  check, inter, rise, fall ...
import lb.compression.keywords  # noqa: F401  compression, maxcomprate, maxcompcpuusage, maxzlibmem, tune.comp/zlib
import lb.checker.native  # noqa: F401  option pgsql-check, mysql-check, redis-check, ldap-check, smtpchk
import lb.config.kw_global  # noqa: F401
import lb.config.kw_proxy  # noqa: F401
import lb.config.kw_server  # noqa: F401
import lb.h2settings  # noqa: F401  tune.h2.*, bind/server proto h2
import lb.config.validate  # noqa: F401  post-parse checks: routing, timeouts, listeners
import lb.logs.keywords  # noqa: F401  log, log-format, option tcplog/httplog, log-tag ...
import lb.rules.after_response  # noqa: F401  http-after-response
import lb.rules.httperrors  # noqa: F401  http-errors sections, errorfiles, http-error
import lb.rules.keywords  # noqa: F401  mode http: acl, http-request/response, redirect, cookie, capture, forwardfor, bind ssl
import lb.rules.stick_rules  # noqa: F401  stick on|match|store-request|store-response, use-server
import lb.rules.tcp_rules  # noqa: F401  tcp-request connection|session|content, inspect-delay
import lb.rules.uniqueid  # noqa: F401  unique-id-format, unique-id-header
import lb.runtime_api.keywords  # noqa: F401  stats socket, stats timeout, stats maxconn
import lb.sticktables.keywords  # noqa: F401  stick-table; table names resolved after parsing
import lb.services.keywords  # noqa: F401  stats enable, stats uri, stats auth ... (proxy sections)
# Last: it accepts with a notice only the keywords no module above registered.
import lb.compat  # noqa: F401  tune.* and process keywords accepted with a notice
