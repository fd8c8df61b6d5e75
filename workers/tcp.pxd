# Cython declarations of workers/tcp.py (the source stays the .py file).

cimport cython

from workers.buffer cimport OutBuffer
from workers.client cimport ClientConn
from workers.connector cimport Connector, ConnectorOwner
from workers.loop cimport EventLoop, Timer
from workers.runtime cimport BackendRuntime, FrontendRuntime, ServerRuntime


cdef class TcpSession(ConnectorOwner):
    cdef public object request
    cdef public ClientConn client
    cdef public EventLoop loop
    cdef public object worker
    cdef public FrontendRuntime frontend
    cdef public object sock
    cdef public object server_sock
    cdef public ServerRuntime server
    cdef public BackendRuntime backend
    cdef public Connector connector
    cdef public OutBuffer to_server
    cdef public OutBuffer to_client
    cdef public bint client_eof
    cdef public bint server_eof
    cdef public int server_mask
    cdef public long long bytes_in
    cdef public long long bytes_out
    cdef public double last_client
    cdef public double last_server
    cdef public double client_timeout
    cdef public double server_timeout
    cdef public Timer timer
    cdef public long long rt
    cdef public bint closed
    cdef public object txn
    cdef public bytes early
    cdef public bint early_eof
    cdef public int splice
    cdef public object pipe_up
    cdef public object pipe_down
    cdef public int large_up
    cdef public int large_down

    cpdef int splice_policy(self)
    cpdef on_client_event(self, int mask)
    cpdef on_server_event(self, int mask)
    @cython.locals(size=Py_ssize_t, out=OutBuffer, now=double)
    cpdef pump(self, bint client_side)
    cpdef bint count_read(self, bint client_side, Py_ssize_t size)
    @cython.locals(out=OutBuffer)
    cpdef flush(self, bint client_side)
    cpdef on_eof(self, bint client_side)
    cpdef bint pending_up(self)
    cpdef bint pending_down(self)
    cpdef maybe_done(self)
    @cython.locals(to_server_pending=bint, to_client_pending=bint, client_mask=int, server_mask=int)
    cpdef update_masks(self)
    cpdef finish(self, str term)
    cpdef release(self)
