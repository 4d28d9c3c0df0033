"""The one background-task mechanism of the GUI (after Orange3's ``concurrent.py`` idea, own code).

A task is a plain function ``fn(state, *args)`` run on a worker thread. It reports through its
:class:`TaskState` (``set_progress``, ``set_status``, ``set_partial_result``, ``should_stop``) or hands
the plain callables ``state.progress_callback`` / ``status_callback`` / ``stop_callback`` to a core
function. Every callback the caller registered (``on_progress``, ``on_status``, ``on_partial``,
``on_done``, ``on_error``, ``on_cancelled``) runs on the GUI thread, delivered through queued signals, so
a callback may touch widgets and a worker never does.

Flood control: progress is forwarded only when the shown value (per mille, or the total) changes, status
only when its text changes, and at most one event per kind (progress, status, partial) waits in the event
loop; a fast worker overwrites (``partial_mode="latest"``) or appends to (``"all"``) the waiting value.

Slots: ``start(..., slot=key)`` (any hashable, usually ``("preview", id(self))``) supersedes the task
that was in that slot: it is asked to stop AND its callbacks are dropped at once, so nothing of it can
reach the caller after the new task started. A view showing "the result for what is selected now" needs
no generation counter of its own. ``discard()``, ``cancel_slot(key)`` and ``shutdown()`` drop callbacks too.

Ownership: a worker thread must never drop the last reference to a QObject. A parentless QObject (a
project model with its file-system watcher, a handle) whose last Python reference dies on a worker is
destroyed there, and Qt's event dispatcher is left polling a closed descriptor: we saw endless
"QSocketNotifier: Invalid socket" and then heap corruption. So the worker signals through a ``_Bridge``
owned by the runner (a Qt parent, so Python cannot delete it), the handle keeps ``fn`` and its arguments
alive until the end is delivered on the GUI thread, the worker lets go of its own references before it
announces the end, and an exception's traceback (its frames hold the task's locals) is not kept.
"""
from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Literal

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from imgclf_gui.core.support.tasks_api import Cancelled

PartialMode = Literal["latest", "all"]
MIN_THREADS = 4  #: threads of a runner made without ``max_threads``, whatever the core count
_log = logging.getLogger(__name__)


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
        self.started = threading.Event()  # set just before ``fn`` runs (tests wait on it)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._partial_mode = partial_mode
        self._shown: dict[str, Any] = {}  # channel -> what was last forwarded (progress per mille, status text)
        self._waiting: dict[str, Any] = {}  # channel -> value for the event already posted (at most one each)

    # -- called by the worker -------------------------------------------------------------------
    def set_progress(self, done: int, total: int) -> None:
        """Report ``done`` of ``total``; forwarded only when the visible value changes."""
        total = max(int(total), 0)
        done = min(max(int(done), 0), total) if total else max(int(done), 0)
        self._post("progress", (done, total), shown=(done * 1000 // total if total else done, total))

    def set_status(self, text: str) -> None:
        """Say what the task does now ("Extracting features"); forwarded only when the text changes."""
        self._post("status", str(text), shown=str(text))

    def set_partial_result(self, obj: Any) -> None:
        """Hand an intermediate result to the GUI (coalesced: see the module docstring)."""
        self._post("partial", obj)

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

    @property
    def status_callback(self) -> Callable[[str], None]:
        """``on_stage(text)`` for core functions: each text becomes ``on_status(text)``."""
        return self.set_status

    def _post(self, channel: str, value: Any, shown: Any = None) -> None:
        with self._lock:
            if shown is not None:
                if self._shown.get(channel) == shown:
                    return
                self._shown[channel] = shown
            posted = channel in self._waiting  # the waiting event will pick up the newest value
            if channel != "partial":
                self._waiting[channel] = value
            elif self._partial_mode == "all":
                self._waiting.setdefault(channel, []).append(value)
            else:
                self._waiting[channel] = [value]
        if not posted:
            self._bridge.ready.emit(channel)

    # -- called on the GUI thread ---------------------------------------------------------------
    def _take(self, channel: str) -> Any:
        with self._lock:
            return self._waiting.pop(channel, None)


class _Bridge(QObject):
    """The signals a worker emits, on an object the runner owns (see "Ownership" above)."""

    ready = Signal(str)  # "progress", "status" or "partial": a value waits in the TaskState
    ended = Signal()


class TaskHandle(QObject):
    """The GUI's side of one task: cancel or discard it, ask whether it runs, wait for ``finished`` in tests
    (emitted on the GUI thread after the final callback, whatever the outcome; ``outcome`` says which)."""

    finished = Signal()

    def __init__(
        self,
        name: str,
        callbacks: dict[str, Callable[..., Any] | None],
        partial_mode: PartialMode,
        bridge: _Bridge,
        payload: tuple[Callable[..., Any], tuple[Any, ...]],
        slot: Hashable | None = None,
    ) -> None:
        super().__init__()
        self.name = name
        self.slot = slot
        self._discarded = False
        self._bridge = bridge
        self.state = TaskState(bridge, partial_mode)
        self.outcome: Literal["running", "done", "error", "cancelled"] = "running"
        self.result: Any = None
        self._callbacks = callbacks
        self._payload: tuple[Callable[..., Any], tuple[Any, ...]] | None = payload  # released on the GUI thread
        self._runner_hook: Callable[[TaskHandle, _Bridge], None] | None = None
        queued = Qt.ConnectionType.QueuedConnection
        bridge.ready.connect(self._deliver, queued)
        bridge.ended.connect(self._deliver_end, queued)

    def cancel(self) -> None:
        """Ask the task to stop; ``on_cancelled`` follows once the worker raised ``Cancelled``."""
        self.state._stop.set()

    def discard(self) -> None:
        """Ask the task to stop and never hear from it again: every callback is dropped now (on the GUI
        thread), so none of them runs, whatever the worker still delivers. ``finished`` still comes."""
        self.state._stop.set()
        self._discarded = True
        self._callbacks = {}

    @property
    def discarded(self) -> bool:
        """True once :meth:`discard` was called (or a newer task in its slot superseded it)."""
        return self._discarded

    def is_cancel_requested(self) -> bool:
        return self.state._stop.is_set()

    def is_running(self) -> bool:
        return self.outcome == "running"

    @Slot(str)
    def _deliver(self, channel: str) -> None:
        value = self.state._take(channel)
        if value is None or self.outcome != "running":
            return
        if channel == "progress":
            callback = self._callbacks.get("on_progress")
            if callback is not None:
                callback(*value)
        elif channel == "status":
            callback = self._callbacks.get("on_status")
            if callback is not None:
                callback(value)
        else:
            for item in value:  # looked up each time: a callback may discard this very task
                callback = self._callbacks.get("on_partial")
                if callback is None:
                    break
                callback(item)

    @Slot()
    def _deliver_end(self) -> None:
        # Values still waiting were posted before the end, so Qt delivered them already; drain
        # defensively anyway so the last progress/partial is never lost.
        for channel in ("progress", "status", "partial"):
            self._deliver(channel)
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
                elif self._discarded:
                    # Nobody waits for this task any more (e.g. the preview of an image no longer shown).
                    _log.debug("discarded task %r failed:\n%s", self.name, payload.traceback)
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
            state.started.set()
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
    Slots (see the module docstring): ``start(..., slot=key)``, ``slot_task(key)``, ``cancel_slot(key)``.
    """

    busy_changed = Signal(bool)

    def __init__(self, max_threads: int | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        # MIN_THREADS even on 2 cores: long tasks (training, inbox bottlenecks) must not starve thumbnails
        self._pool.setMaxThreadCount(max(1, max_threads) if max_threads is not None
                                     else max(MIN_THREADS, self._pool.maxThreadCount()))
        self._handles: set[TaskHandle] = set()
        self._retired: list[tuple[_Bridge, TaskState]] = []  # bridges of ended tasks, deleted once unused
        self._slots: dict[Hashable, TaskHandle] = {}  # the current task of each slot, until it ends

    def start(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_progress: Callable[[int, int], None] | None = None,
        on_partial: Callable[[Any], None] | None = None,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[TaskFailure], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        on_status: Callable[[str], None] | None = None,
        partial_mode: PartialMode = "latest",
        name: str | None = None,
        slot: Hashable | None = None,
    ) -> TaskHandle:
        """Run ``fn(state, *args)`` in the background; callbacks arrive on the GUI thread.

        ``on_done(result)`` when ``fn`` returns (also if cancel was requested but ``fn`` returned
        normally, e.g. training that returns a partial result); ``on_cancelled()`` when it raised
        ``Cancelled``; ``on_error(TaskFailure)`` for any other exception; ``on_status(text)`` for
        ``state.set_status``. With ``partial_mode="all"`` every partial result reaches ``on_partial`` in
        order; with ``"latest"`` only the newest one waiting does. With ``slot``, the task that was in
        that slot is superseded (asked to stop, its callbacks dropped) before this one starts.
        """
        if slot is not None:
            previous = self._slots.pop(slot, None)
            if previous is not None and previous.is_running():  # (not one ending: its on_done may call us)
                previous.discard()
        callbacks = {
            "on_progress": on_progress,
            "on_status": on_status,
            "on_partial": on_partial,
            "on_done": on_done,
            "on_error": on_error,
            "on_cancelled": on_cancelled,
        }
        # The handle has no Qt parent: Python owns it (this set, and whoever keeps it), and only the GUI
        # thread ever holds it. The worker talks through the bridge, which this runner owns.
        self._delete_unused_bridges()
        bridge = _Bridge(self)
        handle = TaskHandle(name or getattr(fn, "__name__", "task"), callbacks, partial_mode, bridge, (fn, args),
                            slot)
        was_busy = bool(self._handles)
        self._handles.add(handle)
        if slot is not None:
            self._slots[slot] = handle
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

    def slot_task(self, slot: Hashable) -> TaskHandle | None:
        """The task running in ``slot`` (None once it ended, or after ``cancel_slot``)."""
        handle = self._slots.get(slot)
        return handle if handle is not None and handle.is_running() else None

    def cancel_slot(self, slot: Hashable) -> None:
        """Ask the task in ``slot`` to stop and drop its callbacks (nothing of it arrives any more)."""
        handle = self._slots.pop(slot, None)
        if handle is not None:
            handle.discard()

    def cancel_all(self) -> None:
        for handle in list(self._handles):
            handle.cancel()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop everything and wait for the workers (call before the window is destroyed). Every callback
        is dropped: the widgets they would update are about to go."""
        self._slots.clear()
        for handle in list(self._handles):
            handle.discard()
        return self._pool.waitForDone(timeout_ms)

    def _forget(self, handle: TaskHandle, bridge: _Bridge) -> None:
        self._handles.discard(handle)
        if handle.slot is not None and self._slots.get(handle.slot) is handle:
            del self._slots[handle.slot]
        self._retired.append((bridge, handle.state))
        self._delete_unused_bridges()
        if not self._handles:
            self.busy_changed.emit(False)
