"""The one background-task mechanism of the GUI (after Orange3's ``concurrent.py`` idea, own code).

A task is a plain function ``fn(state, *args)`` run on a worker thread. It reports through its
:class:`TaskState` (``set_progress``, ``set_partial_result``, ``should_stop``) or hands the plain
callables ``state.progress_callback`` / ``state.stop_callback`` to a core function. Everything the caller
registered (``on_progress``, ``on_partial``, ``on_done``, ``on_error``, ``on_cancelled``) runs on the GUI
thread, delivered through queued signals, so a callback may touch widgets and a worker never does.

Flood control: progress is forwarded only when the shown value (per mille, or the total) changes, and at
most one progress and one partial-result event are waiting in the event loop at any time; a fast worker
overwrites (``partial_mode="latest"``) or appends to (``"all"``) the waiting value instead of posting more.
"""
from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Literal

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Qt, Signal, Slot

from imgclf_gui.core.tasks_api import Cancelled

PartialMode = Literal["latest", "all"]


@dataclass(frozen=True)
class TaskFailure:
    """What ``on_error`` receives: the exception, a one-line message and the full traceback text."""

    exception: BaseException
    traceback: str

    @property
    def message(self) -> str:
        text = str(self.exception).strip()
        return text or type(self.exception).__name__

    def __str__(self) -> str:
        return self.message


class TaskState:
    """The worker's side of a task. Thread-safe; never touches Qt widgets."""

    def __init__(self, handle: "TaskHandle", partial_mode: PartialMode) -> None:
        self._handle = handle
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._partial_mode = partial_mode
        self._last_shown: tuple[int, int] | None = None  # (per mille, total) last forwarded
        self._progress: tuple[int, int] | None = None
        self._progress_pending = False
        self._partials: list[Any] = []
        self._partial_pending = False

    # -- called by the worker -------------------------------------------------------------------
    def set_progress(self, done: int, total: int) -> None:
        """Report ``done`` of ``total``; forwarded only when the visible value changes."""
        total = max(int(total), 0)
        done = min(max(int(done), 0), total) if total else max(int(done), 0)
        shown = (done * 1000 // total if total else done, total)
        with self._lock:
            if shown == self._last_shown:
                return
            self._last_shown = shown
            self._progress = (done, total)
            if self._progress_pending:
                return  # the waiting event will pick up the newest value
            self._progress_pending = True
        self._handle._progress_ready.emit()

    def set_partial_result(self, obj: Any) -> None:
        """Hand an intermediate result to the GUI (coalesced: see the module docstring)."""
        with self._lock:
            if self._partial_mode == "latest":
                self._partials = [obj]
            else:
                self._partials.append(obj)
            if self._partial_pending:
                return
            self._partial_pending = True
        self._handle._partial_ready.emit()

    def should_stop(self) -> bool:
        """True once the user cancelled; the worker should raise ``Cancelled`` or return soon."""
        return self._stop.is_set()

    @property
    def progress_callback(self) -> Callable[[int, int], None]:
        """``on_progress(done, total)`` for core functions."""
        return self.set_progress

    @property
    def stop_callback(self) -> Callable[[], bool]:
        """``should_stop() -> bool`` for core functions."""
        return self.should_stop

    # -- called on the GUI thread ---------------------------------------------------------------
    def _take_progress(self) -> tuple[int, int] | None:
        with self._lock:
            self._progress_pending = False
            value, self._progress = self._progress, None
            return value

    def _take_partials(self) -> list[Any]:
        with self._lock:
            self._partial_pending = False
            items, self._partials = self._partials, []
            return items


class TaskHandle(QObject):
    """The GUI's side of one task: cancel it, ask whether it runs, wait for ``finished`` in tests.

    ``finished`` is emitted on the GUI thread after the final callback, whatever the outcome
    (done, error or cancelled); ``outcome`` then says which.
    """

    finished = Signal()
    # Internal: emitted from the worker thread, delivered queued on this object's (the GUI) thread.
    _progress_ready = Signal()
    _partial_ready = Signal()
    _ended = Signal(str, object)

    def __init__(
        self,
        name: str,
        callbacks: dict[str, Callable[..., Any] | None],
        partial_mode: PartialMode,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.name = name
        self.state = TaskState(self, partial_mode)
        self.outcome: Literal["running", "done", "error", "cancelled"] = "running"
        self.result: Any = None
        self._callbacks = callbacks
        self._runner_hook: Callable[[TaskHandle], None] | None = None
        queued = Qt.ConnectionType.QueuedConnection
        self._progress_ready.connect(self._deliver_progress, queued)
        self._partial_ready.connect(self._deliver_partials, queued)
        self._ended.connect(self._deliver_end, queued)

    def cancel(self) -> None:
        """Ask the task to stop; ``on_cancelled`` follows once the worker raised ``Cancelled``."""
        self.state._stop.set()

    def is_cancel_requested(self) -> bool:
        return self.state._stop.is_set()

    def is_running(self) -> bool:
        return self.outcome == "running"

    @Slot()
    def _deliver_progress(self) -> None:
        value = self.state._take_progress()
        callback = self._callbacks.get("on_progress")
        if value is not None and callback is not None and self.outcome == "running":
            callback(*value)

    @Slot()
    def _deliver_partials(self) -> None:
        items = self.state._take_partials()
        callback = self._callbacks.get("on_partial")
        if callback is None or self.outcome != "running":
            return
        for item in items:
            callback(item)

    @Slot(str, object)
    def _deliver_end(self, outcome: str, payload: Any) -> None:
        # Values still waiting were posted before the end, so Qt delivered them already; drain
        # defensively anyway so the last progress/partial is never lost.
        self._deliver_progress()
        self._deliver_partials()
        self.outcome = outcome  # type: ignore[assignment]
        callback = self._callbacks.get(f"on_{outcome}")
        try:
            if outcome == "done":
                self.result = payload
                if callback is not None:
                    callback(payload)
            elif outcome == "error":
                if callback is not None:
                    callback(payload)
                else:
                    # Never swallow a failure silently: the global error handler shows it.
                    raise RuntimeError(f"Background task {self.name!r} failed:\n{payload.traceback}")
            elif callback is not None:
                callback()
        finally:
            # Drop the callbacks so closures over big objects (a window, a model) are released.
            self._callbacks = {}
            hook, self._runner_hook = self._runner_hook, None
            if hook is not None:
                hook(self)
            self.finished.emit()


class _Runnable(QRunnable):
    def __init__(self, handle: TaskHandle, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._handle = handle
        self._fn = fn
        self._args = args

    def run(self) -> None:  # worker thread: only signals and the TaskState from here
        state = self._handle.state
        try:
            if state.should_stop():
                raise Cancelled()
            result = self._fn(state, *self._args)
        except Cancelled:
            self._handle._ended.emit("cancelled", None)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the GUI
            self._handle._ended.emit("error", TaskFailure(exc, traceback.format_exc()))
        else:
            self._handle._ended.emit("done", result)


class TaskRunner(QObject):
    """Starts tasks on a private thread pool and keeps their handles alive until they finish.

    Create it on the GUI thread. ``busy_changed(bool)`` lets a status bar show a spinner.
    """

    busy_changed = Signal(bool)

    def __init__(self, max_threads: int | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        if max_threads is not None:
            self._pool.setMaxThreadCount(max(1, max_threads))
        self._handles: set[TaskHandle] = set()

    def start(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_progress: Callable[[int, int], None] | None = None,
        on_partial: Callable[[Any], None] | None = None,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[TaskFailure], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        partial_mode: PartialMode = "latest",
        name: str | None = None,
    ) -> TaskHandle:
        """Run ``fn(state, *args)`` in the background; callbacks arrive on the GUI thread.

        ``on_done(result)`` when ``fn`` returns (also if cancel was requested but ``fn`` returned
        normally, e.g. training that returns a partial result); ``on_cancelled()`` when it raised
        ``Cancelled``; ``on_error(TaskFailure)`` for any other exception. With
        ``partial_mode="all"`` every partial result reaches ``on_partial`` in order; with ``"latest"``
        only the newest one waiting does.
        """
        callbacks = {
            "on_progress": on_progress,
            "on_partial": on_partial,
            "on_done": on_done,
            "on_error": on_error,
            "on_cancelled": on_cancelled,
        }
        # No Qt parent: Python owns the handle (this set, and whoever keeps it), which avoids deleting a
        # QObject from inside its own signal emission.
        handle = TaskHandle(name or getattr(fn, "__name__", "task"), callbacks, partial_mode)
        was_busy = bool(self._handles)
        self._handles.add(handle)
        handle._runner_hook = self._forget
        self._pool.start(_Runnable(handle, fn, args))
        if not was_busy:
            self.busy_changed.emit(True)
        return handle

    def running(self) -> list[TaskHandle]:
        return [h for h in self._handles if h.is_running()]

    def cancel_all(self) -> None:
        for handle in list(self._handles):
            handle.cancel()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel everything and wait for the workers (call before the window is destroyed)."""
        self.cancel_all()
        return self._pool.waitForDone(timeout_ms)

    def _forget(self, handle: TaskHandle) -> None:
        self._handles.discard(handle)
        if not self._handles:
            self.busy_changed.emit(False)
