"""lb: a prefork load balancer for HAProxy-style configurations (all processes)."""

from lb.engine import use_pure_python_if_asked

use_pure_python_if_asked()

__version__ = "0.1.0"
