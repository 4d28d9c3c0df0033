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
