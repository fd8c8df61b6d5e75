# Cython declarations of workers/http/target.py (the source stays the .py file).

cimport cython

from workers.http.exchange cimport Exchange


@cython.locals(host=bytes, name=bytes, value=bytes, size=Py_ssize_t)
cpdef check_request_head(Exchange ex)
