# Cython declarations of workers/loop.py (the source stays the .py file).

cdef class Timer:
    cdef public double when
    cdef public object callback
    cdef public tuple args
    cdef public bint cancelled


cdef class EventLoop:
    cdef public object selector
    cdef public list _timers
    cdef object _sequence
    cdef public double now
    cdef public bint running
    cdef public object report_error
    cdef public set dropped

    cpdef register(self, object fileobj, int events, object callback)
    cpdef modify(self, object fileobj, int events, object callback)
    cpdef unregister(self, object fileobj)
    cpdef Timer timer_at(self, double when, object callback)
