# Cython declarations of lb/logs/targets.py (the source stays the .py file).

cdef class Sink:
    cdef public str description
    cdef public long long sent
    cdef public long long dropped
    cdef public long long errors

    cpdef send(self, bytes data)
    cpdef _send(self, bytes data)


cdef class UdpSink(Sink):
    cdef public tuple address
    cdef public object sock
    cdef public bint connected


cdef class UnixSink(Sink):
    cdef public str path
    cdef public object sock
    cdef public double next_attempt


cdef class FdSink(Sink):
    cdef public int fd
    cdef public int own_fd
    cdef public object sock
