"""HAProxy's runtime API ("stats socket"), served by the master (master).

- `keywords`: the `stats socket|timeout|maxconn` global keywords;
- `server`: the listening sockets and their clients on the master's
  selectors loop (non-blocking, bounded lines, `stats timeout`);
- `session`: one client's command stream (one-shot `a; b` lines, `prompt`);
- `commands`: the command table (words -> handler, level, help line) and
  its dispatch, HAProxy's help and "Unknown command" answers;
- `cmd_*`: the commands, grouped by what they touch;
- `state`: what the commands act on (the master's generations and the
  shared-memory fields the master writes).

Statistics are computed by lb.stats, which the workers' stats page shares.
"""
