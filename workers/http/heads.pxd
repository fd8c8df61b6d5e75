# Cython declarations of workers/http/heads.py (the source stays the .py file).

cimport cython

from workers.http.exchange cimport Exchange


cpdef bytes encode_chunk(object data)

@cython.locals(name=bytes, value=bytes, lower=bytes, parts=list, connection=bytes)
cpdef bytes request_head(object conn, Exchange ex)

cpdef bytes status_line(str version, int status, bytes reason)

@cython.locals(name=bytes, value=bytes, lower=bytes, token=bytes, size=Py_ssize_t, server_close=bint,
               has_length=bint, upgrade=bint, parts=list, headers=list, connection=bytes)
cpdef bytes response_head(object conn, Exchange ex, str version, bytes reason)

cpdef bytes interim_head(int status, bytes reason, list headers)
@cython.locals(size=cython.longlong, name=bytes, value=bytes)
cpdef long long fields_size(list fields)
