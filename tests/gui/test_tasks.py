"""The background-task mechanism: callbacks on the GUI thread, in order, cancellable, errors surfaced."""
from __future__ import annotations

import threading

from PySide6.QtCore import QCoreApplication, QThread

from imgclf_gui.core.support.tasks_api import check_stop
from imgclf_gui.gui.common.tasks import TaskFailure, TaskRunner


def _on_gui_thread() -> bool:
    return QThread.currentThread() is QCoreApplication.instance().thread()


def test_progress_arrives_in_order_on_gui_thread_and_done_last(qtbot):
    runner = TaskRunner()
    seen: list[tuple] = []
    threads: list[bool] = []

    def work(state, n):
        for i in range(n + 1):
            state.set_progress(i, n)
        return "result"

    def on_progress(done, total):
        threads.append(_on_gui_thread())
        seen.append((done, total))

    done: list = []
    handle = runner.start(work, 5000, on_progress=on_progress, on_done=lambda r: done.append(r))
    with qtbot.waitSignal(handle.finished, timeout=5000):
        pass
    assert done == ["result"] and handle.outcome == "done"
    assert all(threads)
    dones = [d for d, _ in seen]
    assert dones == sorted(dones), "progress must never go backwards"
    assert seen[-1] == (5000, 5000), "the final value is never dropped"
    assert len(seen) <= 1001, "forwarded only when the per-mille value changes"


def test_cancel_reaches_on_cancelled_and_core_callbacks_work(qtbot):
    runner = TaskRunner()
    started = threading.Event()

    def work(state):
        started.set()
        while True:  # a core function sees only the plain callables
            check_stop(state.stop_callback)
            state.progress_callback(1, 2)
            QThread.msleep(5)

    calls: list[str] = []
    handle = runner.start(work, on_cancelled=lambda: calls.append("cancelled"),
                          on_done=lambda r: calls.append("done"))
    assert started.wait(5)
    assert handle.is_running()
    handle.cancel()
    with qtbot.waitSignal(handle.finished, timeout=5000):
        pass
    assert calls == ["cancelled"] and not handle.is_running()


def test_error_reaches_on_error_with_traceback(qtbot):
    runner = TaskRunner()

    def work(state):
        raise ValueError("the image folder is gone")

    failures: list[TaskFailure] = []
    handle = runner.start(work, on_error=failures.append)
    with qtbot.waitSignal(handle.finished, timeout=5000):
        pass
    assert handle.outcome == "error"
    [failure] = failures
    assert failure.message == "the image folder is gone"
    assert "ValueError" in failure.traceback and "work" in failure.traceback


def test_partial_results_all_mode_keeps_every_item_in_order(qtbot):
    runner = TaskRunner()

    def work(state):
        for i in range(2000):
            state.set_partial_result(i)
        return None

    got: list[int] = []
    gui_thread: list[bool] = []

    def on_partial(item):
        gui_thread.append(_on_gui_thread())
        got.append(item)

    handle = runner.start(work, on_partial=on_partial, partial_mode="all")
    with qtbot.waitSignal(handle.finished, timeout=5000):
        pass
    assert got == list(range(2000)) and all(gui_thread)


def test_partial_results_latest_mode_coalesces_but_keeps_the_last(qtbot):
    runner = TaskRunner()
    gate = threading.Event()

    def work(state):
        for i in range(500):
            state.set_partial_result(i)
        gate.set()
        return None

    got: list[int] = []
    handle = runner.start(work, on_partial=got.append)
    with qtbot.waitSignal(handle.finished, timeout=5000):
        pass
    assert got[-1] == 499
    assert len(got) < 500, "a fast worker must not post one event per partial result"


def test_widget_updated_from_callbacks_only_on_gui_thread(qtbot):
    from PySide6.QtWidgets import QProgressBar

    bar = QProgressBar()
    qtbot.addWidget(bar)
    runner = TaskRunner()
    touched_from: list[bool] = []

    def on_progress(done, total):
        touched_from.append(_on_gui_thread())
        bar.setMaximum(total)
        bar.setValue(done)

    handle = runner.start(lambda state: [state.set_progress(i, 10) for i in range(11)],
                          on_progress=on_progress)
    with qtbot.waitSignal(handle.finished, timeout=5000):
        pass
    assert touched_from and all(touched_from)
    assert bar.value() == 10


def test_cancelled_before_start_never_runs_fn(qtbot):
    runner = TaskRunner(max_threads=1)
    block = threading.Event()
    first = runner.start(lambda state: block.wait(5))
    ran: list[bool] = []
    second = runner.start(lambda state: ran.append(True), on_cancelled=lambda: ran.append(False))
    second.cancel()
    block.set()
    with qtbot.waitSignal(second.finished, timeout=5000):
        pass
    assert ran == [False]
    assert runner.shutdown(2000)
    assert first.outcome in ("done", "running")


# -- slots: a newer task in the same slot supersedes the older one -------------------------------
def _recorder(calls: list, tag: str) -> dict:
    """Every callback a task can have, each appending ``(tag, kind, value)`` to ``calls``."""
    return {
        "on_progress": lambda d, t: calls.append((tag, "progress", (d, t))),
        "on_status": lambda text: calls.append((tag, "status", text)),
        "on_partial": lambda obj: calls.append((tag, "partial", obj)),
        "on_done": lambda result: calls.append((tag, "done", result)),
        "on_error": lambda failure: calls.append((tag, "error", failure.message)),
        "on_cancelled": lambda: calls.append((tag, "cancelled", None)),
    }


def test_a_superseded_task_never_calls_back_and_is_asked_to_stop(qtbot):
    runner = TaskRunner()
    posted, release = threading.Event(), threading.Event()
    saw_stop: list[bool] = []

    def old(state):
        # Everything posted here waits in the event loop (the test does not process events until the
        # new task has started), so only the slot can keep it from arriving.
        state.set_progress(1, 2)
        state.set_status("decoding the big image")
        state.set_partial_result("old partial")
        posted.set()
        release.wait(5)
        saw_stop.append(state.should_stop())
        return "old result"

    def new(state):
        state.set_progress(2, 2)
        state.set_status("decoding the small image")
        state.set_partial_result("new partial")
        return "new result"

    calls: list[tuple] = []
    slot = ("preview", 1)
    first = runner.start(old, slot=slot, **_recorder(calls, "old"))
    assert posted.wait(5)
    assert runner.slot_task(slot) is first
    second = runner.start(new, slot=slot, **_recorder(calls, "new"))
    assert first.is_cancel_requested() and first.discarded and not second.discarded
    assert runner.slot_task(slot) is second
    release.set()
    with qtbot.waitSignals([first.finished, second.finished], timeout=5000):
        pass
    assert saw_stop == [True], "the old worker sees the stop request"
    assert [c for c in calls if c[0] == "old"] == [], "nothing of the superseded task arrives"
    assert calls == [("new", "progress", (2, 2)), ("new", "status", "decoding the small image"),
                     ("new", "partial", "new partial"), ("new", "done", "new result")]
    assert first.outcome == "done" and first.result == "old result", "it ran to its end, unheard"
    assert runner.slot_task(slot) is None, "an ended task leaves its slot"


def test_slots_are_independent_and_cancel_slot_drops_callbacks(qtbot):
    runner = TaskRunner()
    started, release = threading.Event(), threading.Event()

    def wait_then_fail(state):
        started.set()
        release.wait(5)
        raise ValueError("the file vanished")  # discarded: must not reach the global error handler

    calls: list[tuple] = []
    a = runner.start(wait_then_fail, slot=("health", 1), **_recorder(calls, "a"))
    b = runner.start(lambda state: "b", slot=("health", 2), **_recorder(calls, "b"))
    plain = runner.start(lambda state: "plain", **_recorder(calls, "plain"))
    assert started.wait(5)
    runner.cancel_slot(("health", 1))
    assert a.discarded and not b.discarded and not plain.discarded
    release.set()
    with qtbot.waitSignals([a.finished, b.finished, plain.finished], timeout=5000):
        pass
    assert sorted(calls) == [("b", "done", "b"), ("plain", "done", "plain")]
    assert a.outcome == "error"


def test_a_callback_may_start_the_next_task_in_its_own_slot(qtbot):
    """The thumbnail loader chains batches: starting the next one from on_done must not drop it."""
    runner = TaskRunner()
    results: list[int] = []
    handles = []
    slot = ("chain", 1)

    def on_done(n):
        results.append(n)
        if n < 3:
            handles.append(runner.start(lambda state, k: k, n + 1, slot=slot, on_done=on_done))

    handles.append(runner.start(lambda state, k: k, 1, slot=slot, on_done=on_done))
    qtbot.waitUntil(lambda: results == [1, 2, 3] and runner.slot_task(slot) is None, timeout=5000)
    assert not any(h.discarded for h in handles), "a task that ended is not superseded by its successor"


def test_status_is_forwarded_on_the_gui_thread_only_when_it_changes(qtbot):
    runner = TaskRunner()
    posted, release = threading.Event(), threading.Event()

    def work(state):
        for i in range(500):
            state.set_status(f"step {i}")
        posted.set()
        release.wait(5)
        state.set_status("step 499")  # the same text again: not forwarded
        state.status_callback("saving")
        return None

    got: list[str] = []
    threads: list[bool] = []

    def on_status(text):
        threads.append(_on_gui_thread())
        got.append(text)

    handle = runner.start(work, on_status=on_status)
    assert posted.wait(5)  # 500 texts posted while the GUI thread delivered none of them
    qtbot.waitUntil(lambda: got == ["step 499"], timeout=5000)  # one event, with the newest text
    release.set()
    with qtbot.waitSignal(handle.finished, timeout=5000):
        pass
    assert got == ["step 499", "saving"] and all(threads)


def test_shutdown_drops_every_callback(qtbot):
    runner = TaskRunner()
    started = threading.Event()

    def work(state):
        started.set()
        while not state.should_stop():
            QThread.msleep(2)
        return "finished after the window closed"

    calls: list[tuple] = []
    handle = runner.start(work, **_recorder(calls, "t"))
    assert started.wait(5)
    assert runner.shutdown(5000)
    with qtbot.waitSignal(handle.finished, timeout=5000):
        pass
    assert calls == [] and handle.discarded
