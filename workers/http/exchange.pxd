# Cython declarations of workers/http/exchange.py (the source stays the .py file).

from workers.buffer cimport OutBuffer
from workers.connector cimport Connector
from workers.http.deadlines cimport Deadline
from workers.http.plan cimport BackendPlan, FrontendPlan
from workers.http.serverconn cimport ServerConn, ServerConnOwner
from workers.loop cimport EventLoop
from workers.runtime cimport BackendRuntime, FrontendRuntime, ServerRuntime


cdef class Exchange


cdef class ClientSide:
    cdef public EventLoop loop
    cdef public object worker
    cdef public FrontendRuntime frontend
    cdef public object facts
    cdef public FrontendPlan plan
    cdef public Deadline deadline
    cdef public OutBuffer out
    cdef public ServerConn conn
    cdef public bint closing
    cdef public tuple proxy_addresses
    cdef public double accept_time
    cdef public double accept_date

    cpdef uncork(self)
    cpdef send_interim(self, Exchange ex, int status, bytes reason, list headers)
    cpdef send_response_head(self, Exchange ex, str version, bytes reason)
    cpdef send_response_body(self, Exchange ex, bytes body)
    cpdef end_response(self, Exchange ex)
    cpdef send_reply(self, Exchange ex, object reply)
    cpdef exchange_done(self, Exchange ex)
    cpdef refresh_interest(self)
    cpdef ServerConn take_server_conn(self, ServerRuntime server)
    cpdef start_tunnel(self, object tunnel)


cimport cython


cdef class Exchange(ServerConnOwner):
    # request, as parsed
    cdef public bytes method
    cdef public bytes url
    cdef public str version
    cdef public bint keep_alive
    cdef public bint upgrade
    cdef public bint chunked
    cdef public bint complete
    cdef public list body
    cdef public Py_ssize_t body_size
    cdef public long long bytes_in
    cdef public bytes early_tunnel_data
    cdef public object request
    cdef public object rules
    cdef public list trailers
    cdef public list raw_headers
    # routing
    cdef public object backend  # BackendRuntime (the heads tests give a stand-in)
    cdef public ServerRuntime server
    cdef public ServerRuntime persist
    cdef public object cookie_capture
    cdef public str captured_cookie
    cdef public str captured_set_cookie
    cdef public long long rt
    cdef public str unique_id
    cdef public Connector connector
    cdef public ServerConn conn
    cdef public object tunnel
    cdef public bint server_counted
    cdef public bint retried
    cdef public bint local_reply
    cdef public bint started
    cdef public bint rejected
    cdef public long long raw_in
    # response
    cdef public object response
    cdef public list resp_headers
    cdef public Py_ssize_t head_fed
    cdef public bytes reason
    cdef public int status
    cdef public bint resp_chunked
    cdef public bint resp_until_close
    cdef public bint resp_no_body
    cdef public bint resp_done
    cdef public bint server_close
    cdef public bint close_after
    cdef public long long bytes_out
    cdef public long long resp_payload
    cdef public long long interim_size
    cdef public list resp_trailers
    cdef public bytes local_data
    cdef public object comp
    # timers and log facts
    cdef public double headers_at
    cdef public double sent_at
    cdef public double response_at
    cdef public int t_queue
    cdef public int t_connect
    cdef public int retries
    cdef public bint redispatched
    cdef public bint tracked
    cdef public object service
    cdef public str term
    cdef public ClientSide client
    cdef public double begin
    cdef public long idle_ms

    @cython.locals(client=ClientSide, backend=BackendRuntime)
    cpdef start(self)
    cpdef connect(self, BackendRuntime backend)
    cpdef request_body(self, bytes body)
    cpdef request_complete(self)
    cpdef push_body(self, bytes wire)
    cpdef send_pending_body(self, ServerConn conn)
    @cython.locals(client=ClientSide, server=ServerRuntime, backend=BackendRuntime)
    cpdef send_request(self, ServerConn conn)
    cpdef bint retry_on_fresh_conn(self)
    cpdef bad_response(self)
    cpdef server_failed(self, int status, str term)
    cpdef drop_server_conn(self)
    cpdef release_server(self)
    @cython.locals(backend=BackendRuntime)
    cpdef finish_response(self)
    @cython.locals(client=ClientSide, conn=ServerConn)
    cpdef on_server_data(self, bytes data)
    @cython.locals(conn=ServerConn, client=ClientSide, backend=BackendRuntime, status=int)
    cpdef resp_headers_complete(self)
    cpdef abort_response(self, str term)
    cpdef reply_local(self, object reply, bint close=*)
    cpdef send_error(self, int status, bint close=*)
    cpdef abandon(self)
    cpdef expired(self, int phase)
