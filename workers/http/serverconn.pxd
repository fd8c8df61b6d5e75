# Cython declarations of workers/http/serverconn.py (the source stays the .py file).

from workers.buffer cimport OutBuffer
from workers.connector cimport ConnectorOwner
from workers.http.deadlines cimport Deadline
from workers.loop cimport EventLoop, Timer
from workers.runtime cimport ServerRuntime


cdef class ServerConnOwner(ConnectorOwner):
    cdef public Py_ssize_t resp_head_read

    cpdef on_server_data(self, bytes data)
    cpdef on_server_eof(self)
    cpdef on_server_error(self)
    cpdef on_server_drained(self)
    cpdef resp_headers_complete(self)
    cpdef resp_body(self, bytes body)
    cpdef resp_complete(self)


cdef class ResponseEvents:
    cdef public ServerConnOwner owner
    cdef public bytes reason
    cdef public list headers
    cdef public object limits


cdef class ServerConn:
    cdef public EventLoop loop
    cdef public object sock
    cdef public ServerRuntime server
    cdef public ServerConnOwner owner
    cdef public Deadline deadline
    cdef public ResponseEvents events
    cdef public object pool
    cdef public object parser
    cdef public int mask
    cdef public OutBuffer out
    cdef public bint closed
    cdef public long requests
    cdef public bint reading
    cdef public Timer idle_timer
    cdef public str local_ip
    cdef public int local_port

    cpdef attach(self, ServerConnOwner owner, Deadline deadline, object limits)
    cpdef new_response(self)
    cpdef send(self, object data)
    cpdef flush(self)
    cpdef update_mask(self)
    cpdef pause_reading(self, bint paused)
    cpdef close(self)
