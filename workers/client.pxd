# Cython declarations of workers/client.py (the source stays the .py file).

cimport cython

from lb.logs.record cimport LogRecord
from workers.loop cimport EventLoop, Timer
from workers.runtime cimport FrontendRuntime, ListenerCounts


cdef class ClientConn:
    cdef public object worker
    cdef public EventLoop loop
    cdef public object listener
    cdef public FrontendRuntime frontend
    cdef public object sock
    cdef public object facts
    cdef public double accept_time
    cdef public double accept_date
    cdef public long handshake_ms
    cdef public int mask
    cdef public Timer timer
    cdef public object protocol
    cdef public bint closed
    cdef public long long serial
    cdef public ListenerCounts counts

    cpdef set_mask(self, int mask, object callback)
    @cython.locals(facts=object, frontend=FrontendRuntime, record=LogRecord)
    cpdef LogRecord base_record(self)
    cpdef release(self)
    cpdef accounting_done(self)
    cpdef close(self)
