"""Cycles are still collected with automatic collection off, on the GUI thread, and stop() restores it."""
import gc
import threading

from imgclf_gui.gui.common.gc_guard import GuiThreadGarbageCollector


class _Node:
    collected_on: list[str] = []

    def __init__(self):
        self.me = self  # a reference cycle: only the cycle collector frees it

    def __del__(self):
        _Node.collected_on.append(threading.current_thread().name)


def test_cycles_are_collected_on_the_gui_thread_by_the_timer(qtbot):
    collector = GuiThreadGarbageCollector(interval_ms=10)
    try:
        assert not gc.isenabled()
        _Node.collected_on.clear()
        for _ in range(2000):  # enough allocations to pass the first generation's threshold
            _Node()
        qtbot.waitUntil(lambda: len(_Node.collected_on) >= 1000, timeout=5000)
        assert set(_Node.collected_on) == {threading.main_thread().name}
    finally:
        collector.stop()
    assert gc.isenabled()
