# Cython declarations of workers/http/deadlines.py (the source stays the .py file).

from workers.loop cimport EventLoop, Timer


cdef class Deadline:
    cdef public EventLoop loop
    cdef public object owner
    cdef public int phase
    cdef public double due
    cdef public double timeout
    cdef public Timer timer
    cdef public double client_io
    cdef public double server_io

    cpdef enter(self, int phase, double start, object timeout_ms)
    cpdef clear(self)
    cpdef cancel(self)
    cpdef double idle_due(self, double last_io)
