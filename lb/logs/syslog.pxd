# Cython declarations of lb/logs/syslog.py (the source stays the .py file).

cdef class Framer:
    cdef public str format
    cdef public int facility
    cdef public str tag
    cdef public long pid
    cdef public object hostname
    cdef public long long _cache_second
    cdef public int _cache_level
    cdef public bytes _cache

    cpdef int priority(self, int level)
    cpdef bytes header(self, int level, double now, str structured_data=*)


cpdef bytes frame(bytes header, bytes body, long max_len)
