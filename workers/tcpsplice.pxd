# Cython declarations of workers/tcpsplice.py (the source stays the .py file).

cimport cython

from workers.tcp cimport TcpSession


cpdef bint take_pipe(TcpSession session, bint client_side)
cpdef note_read(TcpSession session, bint client_side, Py_ssize_t size)
@cython.locals(size=Py_ssize_t, emptied=bint, client_fd=int, server_fd=int, src_fd=int, dst_fd=int)
cpdef relay(TcpSession session, bint client_side)
cpdef bint flush(TcpSession session, bint client_side)
cpdef release(TcpSession session)
