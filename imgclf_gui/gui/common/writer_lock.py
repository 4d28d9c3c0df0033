"""The window's hold on a project's lock (``core.project.lock``), and waiting for it when another has it.

:class:`WriterLock` takes the lock when a project opens; when another window or command holds it, it
remembers who (``reason``) and tries again every ``LOCK_RETRY_MS`` until it gets it, then emits ``taken``.
:class:`~imgclf_gui.gui.common.project_model.ProjectModel` turns that into ``read_only``.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from imgclf_gui.core.project.lock import ProjectLock, try_lock

LOCK_RETRY_MS = 3000  # a read-only window checks this often whether the project's lock is free
APP = "imgclf (window)"


class WriterLock(QObject):
    """``taken()``: the lock another process held is ours now (the project may be changed here)."""

    taken = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock: ProjectLock | None = None
        self._root: Path | None = None
        #: Who holds the project, in a sentence, while it is not ours ("" when it is).
        self.reason = ""
        self._retry = QTimer(self, interval=LOCK_RETRY_MS)
        self._retry.timeout.connect(self._try_again)

    @property
    def held(self) -> bool:
        return self._lock is not None

    def take(self, root: Path) -> str | None:
        """Take ``root``'s lock, or start waiting for it; a sentence when a crashed holder's lock was taken
        over, else None."""
        self.release()
        self._root = root
        lock = try_lock(root, APP)
        if isinstance(lock, ProjectLock):
            self._lock = lock
            if lock.took_over is not None:
                return (f"{lock.took_over.describe()} had stopped without closing this project; its lock was "
                        "taken over.")
            return None
        self.reason = str(lock)
        self._retry.start()
        return None

    def release(self) -> None:
        self._retry.stop()
        if self._lock is not None:
            self._lock.release()
        self._lock, self._root, self.reason = None, None, ""

    def _try_again(self) -> None:
        if self._root is None or self._lock is not None:
            self._retry.stop()
            return
        lock = try_lock(self._root, APP)
        if not isinstance(lock, ProjectLock):
            self.reason = str(lock)  # the holder may have changed
            return
        self._retry.stop()
        self._lock, self.reason = lock, ""
        self.taken.emit()
