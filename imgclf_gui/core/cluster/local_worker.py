"""Preloaded by Dask into the worker processes of ``--cluster local:N`` (never imported otherwise).

A terminal's Ctrl+C goes to every process of the command, local workers included. Left to themselves they
would each die with a screenful of tracebacks while the command is still stopping them in order (cancel,
write what arrived, close the cluster), so they leave Ctrl+C to the command.
"""
from __future__ import annotations

import signal
import threading
from typing import Any


def dask_setup(worker: Any) -> None:
    """Called by Dask in each local worker process as it starts (and restarts, after a crash)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
