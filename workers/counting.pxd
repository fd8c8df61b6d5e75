# Cython declarations of workers/counting.py (the source stays the .py file).

cimport cython

@cython.locals(klass=int)
cpdef Py_ssize_t hrsp_slot(int status)
