"""A progress line for the commands: rewritten in place on a terminal, plain lines in a log."""
from __future__ import annotations

import time
from typing import TextIO


class ProgressLine:
    """Images done/total, images per second and time left: one rewritten line on a terminal,
    a line every few seconds otherwise (logs, CI), so output stays readable in both."""

    def __init__(self, stream: TextIO, *, label: str = "Extracting", interval_s: float | None = None) -> None:
        self.label = label
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.interval_s = interval_s if interval_s is not None else (0.2 if self.tty else 5.0)
        self.start = time.monotonic()
        self._last = -1e9
        self._shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last < self.interval_s and done < total:
            return
        self._last = now
        elapsed = max(now - self.start, 1e-9)
        rate = done / elapsed
        left = (total - done) / rate if rate > 0 else None
        pct = 100 * done // total if total else 100
        text = f"{self.label}: {done}/{total} images ({pct}%), {rate:.1f} img/s, {format_duration(left)} left"
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


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"
