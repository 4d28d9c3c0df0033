"""A progress line for the commands: rewritten in place on a terminal, plain lines in a log.

Rate and time left come from ``core/support/clock.RateClock``, the same clock as the app's progress bar.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from imgclf_gui.core.support.clock import RateClock, format_duration


class ProgressLine:
    """Images done/total, images per second and time left: one rewritten line on a terminal,
    a line every few seconds otherwise (logs, CI), so output stays readable in both."""

    def __init__(self, stream: TextIO, *, label: str = "Extracting", interval_s: float | None = None,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.label = label
        self._now = now
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.interval_s = interval_s if interval_s is not None else (0.2 if self.tty else 5.0)
        self.clock = RateClock(now=now)
        self.start = now()
        self._last = -1e9
        self._shown = False

    def restart(self) -> None:
        """A new job on the same line: forget what was measured."""
        self.clock.reset()
        self.start = self._now()
        self._last = -1e9

    def __call__(self, done: int, total: int) -> None:
        reading = self.clock.update(done, total)  # every report, shown or not: the clock measures them all
        now = self._now()
        if now - self._last < self.interval_s and done < total:
            return
        self._last = now
        pct = 100 * done // total if total else 100
        state = f"done in {format_duration(now - self.start)}" if reading.finished else reading.describe()
        text = f"{self.label}: {done}/{total} images ({pct}%), {state}"
        if self.tty:
            self.stream.write("\r" + text.ljust(78))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self._shown = True

    def finish(self) -> None:
        if self.tty and self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False
