# Cython declarations of workers/connector.py (the source stays the .py file).

cimport cython

from workers.loop cimport EventLoop, Timer
from workers.runtime cimport BackendRuntime, ServerRuntime


cdef class ConnectorOwner:
    cpdef bint reuse_connection(self, ServerRuntime server)
    cpdef on_connected(self, object sock, ServerRuntime server)
    cpdef on_connect_failed(self, str term)
    cpdef internal_error(self)


cdef class Connector:
    cdef public EventLoop loop
    cdef public BackendRuntime backend
    cdef public ConnectorOwner owner
    cdef public object key
    cdef public tuple proxy_addresses
    cdef public int dst_port
    cdef public ServerRuntime forced
    cdef public int retries_left
    cdef public ServerRuntime server
    cdef public object sock
    cdef public int retries_done
    cdef public bint redispatched
    cdef public double queued_at
    cdef public object queue
    cdef public int t_queue
    cdef public double connect_started
    cdef public int t_connect
    cdef public Timer timer
    cdef public Timer expiry
    cdef public bint done
    cdef public ServerRuntime holding

    @cython.locals(backend=BackendRuntime, server=object)
    cpdef start(self)
    cpdef chosen(self, ServerRuntime server, bint balanced)
    cpdef no_server(self)
    cpdef enqueue(self, object queue)
    cpdef queue_changed(self)
    cpdef leave_queue(self)
    cpdef retry_from_queue(self)
    cpdef connect(self, ServerRuntime server)
    cpdef attempt_failed(self, bint immediate)
    cpdef bint redispatch_now(self)
    cpdef fail(self, str term)
    cpdef cancel(self)
