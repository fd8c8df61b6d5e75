# Cython declarations of lb/logs/render.py (the source stays the .py file).

cimport cython

from lb.logs.record cimport LogRecord
from lb.logs.steps cimport Step

# the step codes, as C ints once imported from lb.logs.steps
cdef int ACCEPT_DATE, ACCEPT_DATE_S, ACCEPT_MILLIS, REQUEST_DATE_S, ACTCONN, BACKEND, BACKEND_QUEUE, BACKEND_SRC_IP, BACKEND_SRC_PORT, BECONN, BYTES_IN, BYTES_OUT, CLIENT_IP, CLIENT_PORT, FALLBACK, FECONN, FRONTEND, FRONTEND_IP, FRONTEND_PORT, FRONTEND_T, HOSTNAME, LOG_COUNT, PID, REQ_CAPTURES, REQ_COOKIE, REQUEST_COUNTER, REQUEST_DATE, REQUEST_LINE, RES_CAPTURES, RES_COOKIE, RETRIES, SEP, SERVER, SERVER_IP, SERVER_PORT, SRV_QUEUE, SRVCONN, STATUS_HTTP, STATUS_TCP, T_ACTIVE, T_CONNECT, T_D_HTTP, T_D_TCP, T_HANDSHAKE, T_IDLE, T_Q, T_QUEUE, T_REQUEST, T_RESPONSE, T_TOTAL, T_U, TERM, TERM_COOKIE, TERM_TCP, TEXT, UNIQUE_ID
cdef int OPT_MANDATORY, OPT_QUOTE

@cython.locals(step=Step, code=int, space=bint, parts=list)
cpdef str render(list steps, LogRecord r, object c)
cdef str text(object value, int opts)
cdef str name(str value, int opts)
cdef str port(object ip, long value, int opts)
@cython.locals(code=int)
cdef object field(Step step, LogRecord r, object c)
@cython.locals(code=int, opts=int)
cdef str address(Step step, LogRecord r)
@cython.locals(code=int, opts=int)
cdef str names(Step step, LogRecord r, object c)
@cython.locals(value=long)
cdef str timer(int code, LogRecord r)
@cython.locals(value="long long")
cdef str counter(int code, LogRecord r, object c)
@cython.locals(code=int)
cdef object other(Step step, LogRecord r, object c)
cpdef double request_date(LogRecord r)
cpdef object request_line(LogRecord r)
cdef str url_text(str line, int opts)
@cython.locals(second="long long")
cpdef long long seconds_of(double epoch)
@cython.locals(second="long long", micros="long long")
cpdef long millis_of(double epoch)
@cython.locals(second="long long")
cdef str date_ms(Step step, double epoch)
@cython.locals(second="long long")
cdef str date_s(Step step, double epoch)
