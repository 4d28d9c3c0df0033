"""The one background-task mechanism of the GUI (after Orange3's ``concurrent.py`` idea, own code).

A task is a plain function ``fn(state, *args)`` run on a worker thread. It reports through its
:class:`TaskState` (``set_progress``, ``set_partial_result``, ``should_stop``) or hands the plain
callables ``state.progress_callback`` / ``state.stop_callback`` to a core function. Everything the caller
registered (``on_progress``, ``on_partial``, ``on_done``, ``on_error``, ``on_cancelled``) runs on the GUI
thread, delivered through queued signals, so a callback may touch widgets and a worker never does.

Flood control: progress is forwarded only when the shown value (per mille, or the total) changes, and at
most one progress and one partial-result event are waiting in the event loop at any time; a fast worker
overwrites (``partial_mode="latest"``) or appends to (``"all"``) the waiting value instead of posting more.

Ownership: a worker thread must never drop the last reference to a QObject. A parentless QObject (a
project model with its file-system watcher, a handle) whose last Python reference dies on a worker is
destroyed there, and Qt's event dispatcher is left polling a closed descriptor: we saw endless
"QSocketNotifier: Invalid socket" and then heap corruption. So the worker signals through a ``_Bridge``
owned by the runner (a Qt parent, so Python cannot delete it), the handle keeps ``fn`` and its arguments
alive until the end is delivered on the GUI thread, the worker lets go of its own references before it
announces the end, and an exception's traceback (its frames hold the task's locals) is not kept.
"""
from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from imgclf_gui.core.support.tasks_api import Cancelled

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

    def __init__(self, bridge: _Bridge, partial_mode: PartialMode) -> None:
        self._bridge = bridge
        self._outcome: tuple[str, Any] | None = None  # set by the worker just before it announces the end
        self._worker_left = threading.Event()  # set once the worker no longer touches the bridge
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
        self._bridge.progress_ready.emit()

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
        self._bridge.partial_ready.emit()

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


class _Bridge(QObject):
    """The signals a worker emits, on an object the runner owns (see "Ownership" above)."""

    progress_ready = Signal()
    partial_ready = Signal()
    ended = Signal()


class TaskHandle(QObject):
    """The GUI's side of one task: cancel it, ask whether it runs, wait for ``finished`` in tests.

    ``finished`` is emitted on the GUI thread after the final callback, whatever the outcome
    (done, error or cancelled); ``outcome`` then says which.
    """

    finished = Signal()

    def __init__(
        self,
        name: str,
        callbacks: dict[str, Callable[..., Any] | None],
        partial_mode: PartialMode,
        bridge: _Bridge,
        payload: tuple[Callable[..., Any], tuple[Any, ...]],
    ) -> None:
        super().__init__()
        self.name = name
        self._bridge = bridge
        self.state = TaskState(bridge, partial_mode)
        self.outcome: Literal["running", "done", "error", "cancelled"] = "running"
        self.result: Any = None
        self._callbacks = callbacks
        self._payload: tuple[Callable[..., Any], tuple[Any, ...]] | None = payload  # released on the GUI thread
        self._runner_hook: Callable[[TaskHandle, _Bridge], None] | None = None
        queued = Qt.ConnectionType.QueuedConnection
        bridge.progress_ready.connect(self._deliver_progress, queued)
        bridge.partial_ready.connect(self._deliver_partials, queued)
        bridge.ended.connect(self._deliver_end, queued)

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

    @Slot()
    def _deliver_end(self) -> None:
        # Values still waiting were posted before the end, so Qt delivered them already; drain
        # defensively anyway so the last progress/partial is never lost.
        self._deliver_progress()
        self._deliver_partials()
        outcome, payload = self.state._outcome or ("error", TaskFailure(RuntimeError("task ended silently"), ""))
        self.state._outcome = None
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
            # Drop the callbacks and the task's function here, on the GUI thread: closures over a window
            # or a model are released where Qt objects may die. The bridge goes with the next event loop.
            self._callbacks = {}
            self._payload = None
            bridge, self._bridge = self._bridge, None
            hook, self._runner_hook = self._runner_hook, None
            if hook is not None and bridge is not None:
                hook(self, bridge)  # the runner deletes the bridge once the worker has left it
            self.finished.emit()


class _Runnable(QRunnable):
    """Runs on a pool thread and is deleted there: it holds nothing whose last reference may die there."""

    def __init__(self, state: TaskState, bridge: _Bridge, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._state: TaskState | None = state
        self._bridge: _Bridge | None = bridge  # owned by the runner: dropping it here deletes nothing
        self._fn: Callable[..., Any] | None = fn
        self._args: tuple[Any, ...] | None = args

    def run(self) -> None:  # worker thread: only the TaskState and the bridge's signals from here
        state, bridge, fn, args = self._state, self._bridge, self._fn, self._args
        self._state = self._fn = self._args = None  # the handle still holds fn and args (GUI side)
        assert state is not None and bridge is not None and fn is not None and args is not None
        try:
            if state.should_stop():
                raise Cancelled()
            state._outcome = ("done", fn(state, *args))
        except Cancelled:
            state._outcome = ("cancelled", None)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the GUI
            text = traceback.format_exc()
            _drop_frames(exc)
            state._outcome = ("error", TaskFailure(exc, text))
        del fn, args  # let go before announcing the end: the GUI thread may release right after
        bridge.ended.emit()
        state._worker_left.set()


def _drop_frames(exc: BaseException | None) -> None:
    """An exception's traceback keeps every frame's locals alive (QObjects among them); the text is kept."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc.__traceback__ = None
        exc = exc.__cause__ or exc.__context__


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
        self._retired: list[tuple[_Bridge, TaskState]] = []  # bridges of ended tasks, deleted once unused

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
        # The handle has no Qt parent: Python owns it (this set, and whoever keeps it), and only the GUI
        # thread ever holds it. The worker talks through the bridge, which this runner owns.
        self._delete_unused_bridges()
        bridge = _Bridge(self)
        handle = TaskHandle(name or getattr(fn, "__name__", "task"), callbacks, partial_mode, bridge, (fn, args))
        was_busy = bool(self._handles)
        self._handles.add(handle)
        handle._runner_hook = self._forget
        self._pool.start(_Runnable(handle.state, bridge, fn, args))
        if not was_busy:
            self.busy_changed.emit(True)
        return handle

    def _delete_unused_bridges(self) -> None:
        still_used = []
        for bridge, state in self._retired:
            if state._worker_left.is_set():
                bridge.deleteLater()
            else:
                still_used.append((bridge, state))
        self._retired = still_used

    def running(self) -> list[TaskHandle]:
        return [h for h in self._handles if h.is_running()]

    def cancel_all(self) -> None:
        for handle in list(self._handles):
            handle.cancel()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel everything and wait for the workers (call before the window is destroyed)."""
        self.cancel_all()
        return self._pool.waitForDone(timeout_ms)

    def _forget(self, handle: TaskHandle, bridge: _Bridge) -> None:
        self._handles.discard(handle)
        self._retired.append((bridge, handle.state))
        self._delete_unused_bridges()
        if not self._handles:
            self.busy_changed.emit(False)
