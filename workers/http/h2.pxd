# Cython declarations of workers/http/h2.py (the source stays the .py file).

from workers.buffer cimport OutBuffer
from workers.http.deadlines cimport Deadline
from workers.http.h2stream cimport H2Stream
from workers.loop cimport EventLoop
from workers.runtime cimport FrontendRuntime


cdef class H2Connection:
    cdef public object client
    cdef public EventLoop loop
    cdef public object worker
    cdef public FrontendRuntime frontend
    cdef public object facts
    cdef public object plan
    cdef public object sock
    cdef public bint ssl
    cdef public OutBuffer out
    cdef public Deadline deadline
    cdef public tuple proxy_addresses
    cdef public object h2
    cdef public long reset_budget
    cdef public Py_ssize_t bufsize
    cdef public dict streams
    cdef public list to_start
    cdef public dict blocked
    cdef public bint out_blocked
    cdef public double last_io
    cdef public double last_start_time
    cdef public double last_start_date
    cdef public long requests
    cdef public long completed
    cdef public long client_resets
    cdef public bint draining
    cdef public long last_stream
    cdef public bint closed
    cdef public bint close_when_flushed
    cdef public object drain_timer

    cpdef start_streams(self)
    cpdef send_headers(self, int stream_id, list fields, bint end)
    cpdef Py_ssize_t send_data(self, int stream_id, bytes data)
    cpdef end_stream(self, int stream_id)
    cpdef reset_stream(self, int stream_id, int code)
    cpdef acknowledge(self, int stream_id, long long size)
    cpdef window_blocked(self, H2Stream stream)
    cpdef uncork(self)
    cpdef flush_if_uncorked(self)
    cpdef flush(self)
    cpdef refresh_interest(self)
    cpdef stream_finished(self, H2Stream stream)
    cpdef lost(self, str side)
    cpdef finish(self)
