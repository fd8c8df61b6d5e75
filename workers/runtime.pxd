# Cython declarations of workers/runtime.py (the source stays the .py file).

from lb.balance.base cimport Balancer
from workers.http.plan cimport BackendPlan, FrontendPlan

cimport cython


@cython.locals(total=cython.longlong, cell=cython.uint)
cpdef long long column_sum(unsigned int[:] column)


cdef class Counted:
    cdef public unsigned long long[::1] counters
    cdef public Py_ssize_t counter_base
    cdef public long long[::1] tally
    cdef public long long t_samples

    cpdef count(self, Py_ssize_t counter, long long amount=*)
    cpdef note_max(self, Py_ssize_t counter, long long value)


cdef class ServerRuntime(Counted):
    cdef public object conf
    cdef public str name
    cdef public Py_ssize_t index
    cdef public int id
    cdef public int weight
    cdef public int maxconn
    cdef public bint backup
    cdef public bint h2
    cdef public BackendRuntime backend
    cdef public int family
    cdef public tuple address
    cdef public int send_proxy
    cdef public object cookie
    cdef public object shm
    cdef public unsigned int[::1] conns
    cdef public Py_ssize_t conns_cell
    cdef public unsigned int[:] conns_column
    cdef public unsigned int[::1] queued
    cdef public unsigned int[::1] maxconns
    cdef public object queue

    cpdef take_conn(self)
    cpdef drop_conn(self)
    cpdef long current_conns(self)
    cpdef bint has_room(self)
    cpdef queue_changed(self)
    cpdef bint is_usable(self)


cdef class BackendRuntime(Counted):
    cdef public object conf
    cdef public int splice
    cdef public str name
    cdef public Py_ssize_t index
    cdef public str mode
    cdef public object timeouts
    cdef public int retries
    cdef public int redispatch
    cdef public bint keepalive
    cdef public list servers
    cdef public dict by_name
    cdef public Balancer balancer
    cdef public object queue
    cdef public object shm
    cdef public unsigned int[::1] beconn
    cdef public Py_ssize_t beconn_cell
    cdef public unsigned int[::1] bequeued
    cdef public Py_ssize_t bequeued_cell
    cdef public long active_streams
    cdef public BackendPlan plan
    cdef public object tcp_rules

    cpdef stream_assigned(self)
    cpdef stream_released(self)
    cpdef queue_changed(self)
    @cython.locals(total=cython.longlong, server=ServerRuntime)
    cpdef long current_conns(self)
    cpdef on_slot_freed(self, ServerRuntime server)


cdef class FrontendRuntime(Counted):
    cdef public object conf
    cdef public int splice
    cdef public str name
    cdef public str mode
    cdef public bint is_http
    cdef public object timeouts
    cdef public int maxconn
    cdef public BackendRuntime default_backend
    cdef public object settings
    cdef public dict backend_of
    cdef public BackendRuntime static_backend
    cdef public bint has_switching
    cdef public object logger
    cdef public list listeners
    cdef public bint paused
    cdef public unsigned int[::1] feconn
    cdef public Py_ssize_t feconn_cell
    cdef public unsigned int[:] feconn_column
    cdef public unsigned int[:] actconn_cells
    cdef public Py_ssize_t obj
    cdef public object shm
    cdef public long current
    cdef public FrontendPlan plan
    cdef public dict listener_ids
    cdef public dict listener_counts
    cdef public bint disabled
    cdef public object tcp_rules

    cpdef conn_opened(self)
    cpdef conn_closed(self)
    cpdef long total_conns(self)
    cpdef long total_actconn(self)
    cpdef BackendRuntime route(self, object txn)


cdef class ListenerCounts(Counted):
    cdef public long current

    cpdef conn_opened(self)
    cpdef conn_closed(self)
    cpdef add_bytes(self, long long received, long long sent)
