"""The one rate and time-left clock, for the command line's progress line and the app's progress bar.

It estimates only from work it has watched being done. The first report is the starting line: what is
done there (cached images) cost nothing and says nothing about speed. The wait until the count first
moves is left out as well (a backbone warming up, the first batch), so a slow start never turns into a
promise of "45 s left" for 4 images. Until ``min_seconds`` of work have been measured it says
"estimating" rather than guess. No Qt here: ``gui`` and ``commands`` both feed it ``(done, total)``.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ClockReading", "RateClock", "format_duration"]


@dataclass(frozen=True)
class ClockReading:
    """Where a job stands: ``rate`` (items per second) and ``seconds_left`` are None while estimating."""

    done: int
    total: int
    rate: float | None = None
    seconds_left: float | None = None

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    def describe(self, unit: str = "images") -> str:
        """"12.5 images/s, about 1 min 05 s left"; "estimating time left…" before any measured work."""
        if self.finished:
            return "all done"
        if self.rate is None or self.seconds_left is None:
            return "estimating time left…"
        return f"{self.rate:.1f} {unit}/s, about {format_duration(self.seconds_left)} left"


class RateClock:
    """Feed it ``update(done, total)`` as a job reports progress; it answers with a ``ClockReading``."""

    def __init__(self, *, min_seconds: float = 1.0, now: Callable[[], float] = time.monotonic) -> None:
        self.min_seconds = min_seconds
        self._now = now
        self._start: int | None = None  # the count at the first report
        self._base: tuple[int, float] | None = None  # (count, time) when the count first moved

    def reset(self) -> None:
        """Start again (a new job, or a new stage of the same one)."""
        self._start = None
        self._base = None

    def update(self, done: int, total: int) -> ClockReading:
        now = self._now()
        if self._start is None:
            self._start = done
        if self._base is None:
            if done > self._start:
                self._base = (done, now)
            return ClockReading(done, total)
        base_done, base_time = self._base
        elapsed = now - base_time
        measured = done - base_done
        if elapsed < self.min_seconds or measured <= 0:
            return ClockReading(done, total)
        rate = measured / elapsed
        return ClockReading(done, total, rate, max(0, total - done) / rate)


def format_duration(seconds: float) -> str:
    """"45 s", "2 min 05 s", "1 h 20 min"."""
    seconds = max(0, int(round(seconds)))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"
