# Cython declarations of lb/balance/base.py (the source stays the .py file).

cimport cython


cdef class Balancer:
    cdef public list actives
    cdef public list backups
    cdef public Py_ssize_t backend_index
    cdef public object shm
    cdef public Py_ssize_t slot
    cdef public bint allbackups
    cdef public list params
    cdef public Py_ssize_t _pick_cell
    cdef public unsigned long long[:] _picks_column
    cdef public list _all
    cdef public bint any_maxconn
    cdef public unsigned int[::1] _maxconn
    cdef public unsigned long long[::1] _versions
    cdef public unsigned long long[::1] _picks
    cdef public long long _health_seen
    cdef public long long _admin_seen
    cdef public list _usable

    @cython.locals(health=cython.longlong, admin=cython.longlong)
    cpdef list usable(self, object exclude=*)
    cpdef list compute_usable(self, object exclude)
    cpdef bint has_room(self, object server)
    @cython.locals(position=cython.longlong, picks=cython.ulonglong)
    cpdef long long count_pick(self)
    @cython.locals(servers=list)
    cpdef object pick(self, object key=*, object exclude=*)
    cpdef object choose(self, list servers, object key)
