"""Statistics: HAProxy 2.6's `show stat` / `show info` model and renderers (any process).

Standard library only (plus lb.config.model, lb.shm, lb.checker.status).
Pure functions of (configuration, shared memory, facts), shared by the
master's stats socket and the workers' stats page and Prometheus exporter:

- `fields`: HAProxy's field names, positions, tags and descriptions;
- `objects`: the frontends, listeners, servers and backends of a config,
  their ids and shared-memory rows;
- `combine`: counters combined over the slots' rows and `carried`;
- `state`: server status text, backend weights and status;
- `model`: `stat_rows(config, shm, facts)`, one row per object;
- `info`: `show info` fields;
- `render`: CSV, typed and JSON texts;
- `sampler`, `carry`: the master's tick work (rates, maxima, counters kept
  across reloads), writing the master-owned shared-memory fields;
- `client`: a small client of a stats socket (lbctl status, lbctl top).
"""
