"""lb: a prefork load balancer for HAProxy-style configurations (all processes)."""

__version__ = "0.1.0"
