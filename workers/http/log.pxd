# Cython declarations of workers/http/log.py (the source stays the .py file).

cimport cython

from lb.logs.record cimport LogRecord
from workers.http.exchange cimport ClientSide, Exchange
from workers.runtime cimport FrontendRuntime, ServerRuntime

cpdef long ms_between(double start, double end)

@cython.locals(frontend=FrontendRuntime)
cpdef exchange_ended(ClientSide side, Exchange ex, long long wire_in, object counts)

@cython.locals(status=int, slot=Py_ssize_t, bytes_out=cython.longlong, tally=cython.longlong[::1], server=ServerRuntime)
cpdef account(FrontendRuntime frontend, Exchange ex, long long wire_in, double now)

@cython.locals(now=double)
cpdef fill_record(LogRecord record, object conn, Exchange ex)
cpdef fill_request_line(LogRecord record, Exchange ex)
cpdef fill_captures(LogRecord record, Exchange ex)
@cython.locals(size=cython.longlong)
cpdef long long request_size(Exchange ex)
@cython.locals(size=cython.longlong)
cpdef long long response_size(Exchange ex)
