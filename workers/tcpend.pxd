# Cython declarations of workers/tcpend.py (the source stays the .py file).

cimport cython

from workers.connector cimport Connector
from workers.runtime cimport BackendRuntime, ServerRuntime
from workers.tcp cimport TcpSession


@cython.locals(tally="long long[::1]", server=ServerRuntime, backend=BackendRuntime, connector=Connector)
cpdef count_stream(TcpSession session)
@cython.locals(connector=Connector, tried=ServerRuntime)
cpdef fill_record(TcpSession session, object record, str term)
