# Cython declarations of lb/logs/steps.py (the source stays the .py file).

cdef class Step:
    cdef public int code
    cdef public int opts
    cdef public str text
    cdef public object call
    cdef public long long second
    cdef public str cached
