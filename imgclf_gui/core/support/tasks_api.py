"""Plain-callable progress and cancellation, shared by every long core function.

Core functions take ``on_progress(done, total)`` and ``should_stop() -> bool``; the GUI adapts them to
Qt signals (``gui/tasks.py``) and the CLI to a progress bar. Nothing here knows about either.
"""
from __future__ import annotations

from collections.abc import Callable

ProgressFn = Callable[[int, int], None] | None
StopFn = Callable[[], bool] | None


class Cancelled(Exception):
    """The user asked a long job to stop; files and caches are left consistent."""


def check_stop(should_stop: StopFn) -> None:
    if should_stop is not None and should_stop():
        raise Cancelled()
