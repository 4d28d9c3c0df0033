"""The one rate / time-left clock: no estimate before measured work, then one from measured work only."""
from __future__ import annotations

from imgclf_gui.core.support.clock import RateClock, format_duration


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_estimating_until_work_is_measured_then_a_time_left_from_measured_batches_only():
    t = FakeTime()
    clock = RateClock(now=t)
    assert clock.update(0, 264).seconds_left is None  # the starting line
    t.now = 25.0  # the backbone is converted once: nothing is counted meanwhile
    reading = clock.update(0, 264)
    assert reading.rate is None and reading.describe() == "estimating time left…"
    t.now = 26.0
    assert clock.update(32, 264).seconds_left is None  # the first batch: its wait included the warm-up
    t.now = 30.0
    reading = clock.update(64, 264)  # 32 images in 4 s, measured
    assert reading.rate == 8.0 and reading.seconds_left == 25.0  # 200 left at 8/s, not 45 s for 4 images
    assert reading.describe() == "8.0 images/s, about 25 s left"
    t.now = 55.0
    assert clock.update(264, 264).describe() == "all done"


def test_images_found_cached_at_the_start_say_nothing_about_speed():
    t = FakeTime()
    clock = RateClock(now=t)
    clock.update(0, 1000)
    t.now = 0.1
    clock.update(900, 1000)  # cached: arrived at once
    t.now = 10.1
    reading = clock.update(950, 1000)
    assert reading.rate == 5.0 and reading.seconds_left == 10.0


def test_a_short_measurement_is_no_estimate_and_reset_starts_again():
    t = FakeTime()
    clock = RateClock(now=t, min_seconds=1.0)
    clock.update(0, 10)
    t.now = 1.0
    clock.update(1, 10)
    t.now = 1.5
    assert clock.update(2, 10).rate is None  # half a second of work is too little to promise anything
    t.now = 3.0
    assert clock.update(5, 10).seconds_left == 2.5
    clock.reset()
    assert clock.update(5, 10).rate is None


def test_durations_read_as_a_person_says_them():
    assert [format_duration(s) for s in (4.4, 65, 3725)] == ["4 s", "1 min 05 s", "1 h 02 min"]
