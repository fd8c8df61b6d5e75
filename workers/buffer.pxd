# Cython declarations of workers/buffer.py (the source stays the .py file).

cimport cython


cdef class OutBuffer:
    cdef public object sock
    cdef public list chunks
    cdef public Py_ssize_t size
    cdef public bint corked
    cdef public bint above_high
    cdef public object on_level

    cpdef bint write(self, object data)
    cpdef queue(self, object data)
    cpdef bint write_view(self, object view)
    cpdef cork(self)
    cpdef bint uncork(self)
    @cython.locals(done=Py_ssize_t, count=Py_ssize_t)
    cpdef bint flush(self)
    cpdef clear(self)
    cdef _level(self, bint above)
