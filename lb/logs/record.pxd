# Cython declarations of lb/logs/record.py (the source stays the .py file).
# Typed fields: filling a record stores C values, no Python int per timer.

cdef class LogRecord:
    cdef public str client_ip
    cdef public long client_port
    cdef public str frontend_ip
    cdef public long frontend_port
    cdef public str backend_src_ip
    cdef public long backend_src_port
    cdef public str server_ip
    cdef public long server_port
    cdef public str frontend
    cdef public object backend
    cdef public object server
    cdef public bint frontend_ssl
    cdef public double accept_date
    cdef public double request_date
    cdef public long t_handshake
    cdef public long t_idle
    cdef public long t_request
    cdef public long t_queue
    cdef public long t_connect
    cdef public long t_response
    cdef public long t_active
    cdef public long t_total
    cdef public long long bytes_out
    cdef public long long bytes_in
    cdef public long long received
    cdef public long status
    cdef public str term_state
    cdef public str cookie_flags
    cdef public long retries
    cdef public bint redispatched
    cdef public long actconn
    cdef public long feconn
    cdef public long beconn
    cdef public long srvconn
    cdef public long srv_queue
    cdef public long backend_queue
    cdef public str method
    cdef public str uri
    cdef public str http_version
    cdef public object request_line
    cdef public object captured_request_headers
    cdef public object captured_response_headers
    cdef public str captured_request_cookie
    cdef public str captured_response_cookie
    cdef public str unique_id
    cdef public bint is_error
    cdef public long long request_counter
    cdef public object request_headers
    cdef public object rules_txn
