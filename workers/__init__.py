"""The worker processes: event loop, listeners, tcp relay and the HTTP engine (worker)."""

from lb.engine import use_pure_python_if_asked

use_pure_python_if_asked()
