"""The user's preferences while the window is open, from one source.

The window owns one :class:`Preferences` and hands it to every tab (``Tab(project, tasks, preferences,
parent)``). Tabs read ``preferences.settings`` when they need a value and follow ``changed`` for what they
show (the thumbnail size); the Preferences dialog writes through :meth:`Preferences.update`, which saves the
file and tells every tab at once. Nothing else reads or writes the settings file while the window is open.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from imgclf_gui.core.support.settings import Settings, load_settings, save_settings


class Preferences(QObject):
    """``changed(Settings)``: the preferences were changed (a copy of the new ones);
    ``save_failed(str)``: they could not be written, a sentence for the status bar (they hold anyway)."""

    changed = Signal(object)
    save_failed = Signal(str)

    def __init__(self, settings: Settings | None = None, *, path: Path | None = None,
                 parent: QObject | None = None) -> None:
        """``settings``: start from these instead of the saved file; ``path``: another file (tests)."""
        super().__init__(parent)
        self._path = path
        found: list = []
        self._settings = replace(settings) if settings is not None else load_settings(path, found)
        #: Sentences about a damaged preferences file that was set aside when loading (shown once).
        self.notes = [str(note) for note in found]

    @property
    def settings(self) -> Settings:
        """The current preferences (a copy: change them through :meth:`update`)."""
        return replace(self._settings)

    def update(self, settings: Settings | None = None, **changes: Any) -> None:
        """Use ``settings`` (and/or single fields, e.g. ``thumbnail_size=96``), save them, tell every tab."""
        new = replace(settings if settings is not None else self._settings, **changes)
        if new == self._settings:
            return
        self._settings = new
        try:
            save_settings(new, self._path)
        except OSError as exc:
            self.save_failed.emit(f"The preferences could not be saved ({exc}); they hold until imgclf closes.")
        self.changed.emit(replace(new))


__all__ = ["Preferences"]
