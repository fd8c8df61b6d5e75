# Cython declarations of lb/logs/runtime.py (the source stays the .py file).

from lb.logs.record cimport LogRecord
from lb.logs.syslog cimport Framer
from lb.logs.targets cimport Sink


cdef class Target:
    cdef public Sink sink
    cdef public Framer framer
    cdef public long max_len
    cdef public int level
    cdef public int minlevel
    cdef public tuple ranges
    cdef public long sample_size
    cdef public long sample_index

    cpdef bint sampled(self)
    cpdef send(self, int level, bytes body, double now, str structured_data=*)


cpdef bint is_error(LogRecord record, bint http)


cdef class ProxyLogger:
    cdef public str name
    cdef public list targets
    cdef public bint http
    cdef public object format
    cdef public object format_sd
    cdef public list steps
    cdef public bint enabled
    cdef public bint logs_at_accept
    cdef public bint dontlognull
    cdef public bint dontlog_normal
    cdef public bint separate_errors
    cdef public object context
    cdef public long max_body

    cpdef log(self, LogRecord record)
    cpdef _emit(self, int level, str line, str structured_data=*)
