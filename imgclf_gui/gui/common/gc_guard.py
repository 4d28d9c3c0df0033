"""Python's cycle collector, moved onto the GUI thread.

The collector runs on whichever thread happens to allocate when a generation fills up; a QObject in a
reference cycle freed that way on a worker thread crashes Qt. So automatic collection is switched off
and a timer on the GUI thread collects instead, each generation when its own threshold is passed (the
idea of pyqtgraph's ``GarbageCollector``; importing pyqtgraph for it would add ~350 ms to start-up).
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class GuiThreadGarbageCollector(QObject):
    """Create on the GUI thread and keep alive; ``stop()`` gives collection back to Python."""

    def __init__(self, interval_ms: int = 1000, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect_if_due)
        self._timer.start(interval_ms)

    def collect_if_due(self) -> None:
        counts = gc.get_count()
        generation = -1
        for gen, (count, threshold) in enumerate(zip(counts, self._thresholds)):
            if count <= threshold:
                break
            generation = gen
        if generation >= 0:
            gc.collect(generation)

    def stop(self) -> None:
        self._timer.stop()
        gc.collect()
        gc.enable()
