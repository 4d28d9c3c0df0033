"""How many cores imgclf's own thread pools may use in this process (decoding threads, the network's).

By default every core of the machine. A Dask worker that was given one thread of a node shared with other
workers limits itself to that share (:func:`limit_cpus`), so that 32 workers on 32 cores run 32 network
threads, not 32 x 32 that fight over the same cores.
"""
from __future__ import annotations

import os

_limit: int | None = None


def cpu_budget() -> int:
    """Cores this process may keep busy: the limit set by :func:`limit_cpus`, else the machine's count."""
    return _limit or os.cpu_count() or 1


def limit_cpus(cores: int | None) -> None:
    """Use at most ``cores`` cores from now on (None: all of them again). Thread pools made earlier keep
    their size; the network's interpreters are made per thread count, so new ones follow."""
    global _limit
    _limit = max(1, int(cores)) if cores else None


__all__ = ["cpu_budget", "limit_cpus"]
