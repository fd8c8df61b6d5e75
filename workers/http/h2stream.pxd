# Cython declarations of workers/http/h2stream.py (the source stays the .py file).

from workers.http.exchange cimport ClientSide, Exchange
from workers.http.log cimport exchange_ended


cdef class H2Stream(ClientSide):
    cdef public object h2c
    cdef public int stream_id
    cdef public int handshake_ms
    cdef public long requests
    cdef public object client
    cdef public object counts
    cdef public Exchange ex
    cdef public list pending
    cdef public Py_ssize_t pending_size
    cdef public bint end_pending
    cdef public list trailers
    cdef public bint reset_after_end
    cdef public bint headers_sent
    cdef public bint local_closed
    cdef public bint remote_closed
    cdef public long long unacked
    cdef public long long received
    cdef public bint logged
    cdef public bint started
    cdef public bint finished
    cdef public bint client_reset

    cpdef bint on_request(self, list headers, bint end_stream, long idle_ms)
    cpdef start(self)
    cpdef on_data(self, bytes data, long long flow_controlled)
    cpdef on_end(self)
    cpdef on_reset(self)
    cpdef acknowledge(self)
    cpdef send_end(self)
    cpdef window_opened(self)
    cpdef update_server_reading(self)
    cpdef log(self, Exchange ex)
    cpdef abort(self, Exchange ex, str term)
    cpdef reset(self, int code)
    cpdef check_finished(self)
