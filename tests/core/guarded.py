"""Running a loader on hostile input as the hostile-input tests need: in a thread (a FIFO opened by mistake would
block for ever), with whatever it raised and the memory it peaked at."""
from __future__ import annotations

import threading
import tracemalloc
from collections.abc import Callable


def run_guarded(load: Callable[[], object], what: str) -> tuple[BaseException | None, int]:
    """(the exception ``load()`` raised or None, peak traced bytes); fails the test if it runs past 60 s."""
    outcome: list[BaseException | None] = [None]

    def work() -> None:
        try:
            load()
        except BaseException as exc:  # noqa: BLE001 - the test inspects whatever came out
            outcome[0] = exc

    tracemalloc.start()
    try:
        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        worker.join(60)
        assert not worker.is_alive(), f"{what} hung"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return outcome[0], peak
