# Cython declarations of workers/http/h1.py (the source stays the .py file).

cimport cython

from workers.buffer cimport OutBuffer
from workers.http.deadlines cimport Deadline
from workers.http.exchange cimport ClientSide, Exchange
from workers.http.log cimport exchange_ended
from workers.http.target cimport check_request_head
from workers.http.serverconn cimport ServerConn
from workers.loop cimport EventLoop
from workers.runtime cimport FrontendRuntime, ServerRuntime

cdef long MANY_CONNECTIONS


cdef class H1Connection(ClientSide):
    cdef public object client
    cdef public object sock
    cdef public bint ssl
    cdef public object parser
    cdef public bint feeding
    cdef public list exchanges
    cdef public Exchange parsing
    cdef public object tunnel
    cdef public bint eof
    cdef public bint close_when_flushed
    cdef public bint parse_error
    cdef public int pending_error
    cdef public long requests
    cdef public long long received
    cdef public long long received_done
    cdef public double idle_since
    cdef public Py_ssize_t head_size
    cdef public bint closed

    cpdef start(self)
    @cython.locals(feeding=bint)
    cpdef parse(self, bytes data)
    cpdef send(self, object data)
    cpdef flush(self)
    cpdef release_conn(self)
    cpdef shutdown_write(self)
    cpdef finish(self)
