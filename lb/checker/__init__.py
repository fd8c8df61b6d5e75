"""Health checks: the checker process and its contract with the master (master, checker).

The master calls, in this order, for every generation G:

1. `seed_health(shm, config, old_shm=None, old_config=None)` on G's new
   ShmTable, before forking anything.  For each server (index = position
   in `config.all_servers()`) it writes srv_up, srv_health, srv_status,
   srv_code, srv_duration, srv_change (and zeroes srv_checks).  On reload,
   pass the previous generation's shm and config: a server that keeps its
   `backend/server` name and check target keeps its health.  The master
   initialises srv_admin / srv_weight itself.

2. fork `lb: checker gen G`; in the child, after setproctitle and signal
   defaults: `run_checker(config, shm, slot, master_pid)`.  It returns when
   SIGTERM/SIGINT/SIGUSR1 arrives (or when the master is gone); the child
   then exits.  It beats `shm.heartbeat(slot)` every 250 ms.  If it dies,
   call `run_checker` again in a new child on the same shm: it resumes from
   the state stored there.

The checker is the only writer of srv_up, srv_status, srv_health,
srv_code, srv_duration, srv_change and srv_checks.  Readers: srv_up == 1
means "up as far as checks know" (servers without `check` are always 1);
workers must still skip servers whose srv_admin is ADMIN_MAINT and send no
new load-balanced traffic to ADMIN_DRAIN or weight-0 ones.  srv_status is
an index into lb.checker.status.STATUSES; srv_checks holds the number of
checks run in its low 32 bits and of failed checks in its high 32 bits.
"""

from lb.checker.runner import run_checker
from lb.checker.seed import seed_health

__all__ = ["run_checker", "seed_health"]
