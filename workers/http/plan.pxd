# Cython declarations of workers/http/plan.py (the source stays the .py file).

cdef class Limits:
    cdef public Py_ssize_t head
    cdef public Py_ssize_t headers


cdef class FrontendPlan:
    cdef public Limits limits
    cdef public int mode
    cdef public object request_timeout
    cdef public object keepalive_timeout
    cdef public object unique_id
    cdef public bint needs_request
    cdef public bint needs_response
    cdef public bint after_response
    cdef public bint frontend_tracks
    cdef public object static_backend
    cdef public object direct_backend
    cdef public object compression


cdef class BackendPlan:
    cdef public int mode
    cdef public bint needs_request
    cdef public bint needs_response
    cdef public bint after_response
    cdef public dict by_conf
