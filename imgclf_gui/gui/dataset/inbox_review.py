"""Reviewing the inbox at speed in the Dataset tab: badges on its thumbnails, its order, Enter to accept the
selected images' suggestions, and "Accept All at or Above…" (one undoable action).

The tab hands over what it shows (:meth:`InboxReview.listing`, :meth:`InboxReview.showing`); the moves go
through the tab's labelling path (so the next image is selected after them) and :class:`ProjectModel`.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from imgclf_gui.core.models.predict import is_unsure
from imgclf_gui.core.project.rules import count_words
from imgclf_gui.core.review.inbox import accept_label
from imgclf_gui.core.review.suggestions import ACCEPT_AT, ORDER_NAME
from imgclf_gui.gui.common.project_model import INBOX
from imgclf_gui.gui.dataset.inbox_suggestions import InboxSuggestions
from imgclf_gui.gui.dataset.suggestion_bar import AcceptDialog, SuggestionBar

if TYPE_CHECKING:
    from imgclf_gui.gui.dataset.dataset_tab import DatasetTab


class InboxReview:
    """Built once per tab; owns the suggestion engine and the bar above the grid."""

    def __init__(self, tab: DatasetTab) -> None:
        self.tab = tab
        self.engine = InboxSuggestions(tab.project, tab.tasks, tab.preferences, tab)
        self.bar = SuggestionBar(self.engine, tab)
        self.order = ORDER_NAME
        self.accept_percent = round(ACCEPT_AT * 100)
        self._inbox_shown = False
        self.engine.changed.connect(self._on_suggestions_changed)
        self.bar.order_changed.connect(self._on_order_changed)
        self.bar.accept_all_requested.connect(self.accept_all_dialog)

    # -- what the grid shows --------------------------------------------------------------------
    def listing(self, name: str) -> list[Path]:
        """The images of class ``name`` (or the inbox) in the order the grid shows them."""
        paths = self.tab.project.images(name)
        return self.engine.order(paths, self.order) if name == INBOX and self.order != ORDER_NAME else paths

    def showing(self, name: str | None) -> None:
        """The grid now shows class ``name`` (``INBOX``: badges and the bar), or a health finding (None)."""
        self._inbox_shown = name == INBOX
        self.bar.setVisible(self._inbox_shown and self.tab.project.root is not None)
        self.tab.thumb_model.set_badges(self._badge if self._inbox_shown else None)

    def _badge(self, path: Path) -> tuple[str, bool] | None:
        found = self.engine.suggestion_for(path)
        return None if found is None else (found.badge, is_unsure(found.confidence))

    def _on_suggestions_changed(self) -> None:
        if not self._inbox_shown:
            return
        self.tab.thumb_model.badges_changed()
        if self.order != ORDER_NAME:
            self._reorder()

    def _on_order_changed(self, order: str) -> None:
        """The user chose another order: it starts at its first image (the least certain one, say)."""
        self.order = order
        if self._inbox_shown:
            self._reorder()
            if self.tab.thumb_model.rowCount():
                self.tab._select([self.tab.thumb_model.path(0)])

    def _reorder(self) -> None:
        """Sort what is shown again, keeping the selection (a background refresh never changes which
        images the next key acts on)."""
        model, grid = self.tab.thumb_model, self.tab.grid
        ordered = self.engine.order(model.paths, self.order)
        if ordered == model.paths:
            return
        selected, current = grid.selected_paths(), self.tab._current_path()
        scrolled = grid.verticalScrollBar().value()
        model.set_paths(ordered, self.tab._thumbs)
        if selected:  # shown where it went: the next key acts on it, so it must be in view
            self.tab._select(selected, current)
        else:  # someone browsing with the scroll bar stays where they were
            grid.verticalScrollBar().setValue(scrolled)

    # -- accepting ------------------------------------------------------------------------------
    def accept_selected(self) -> None:
        """Enter: send each selected inbox image to its suggested class, then move on."""
        if not self._inbox_shown or self.tab.project.root is None:
            return
        paths = self.tab.grid.selected_paths()
        if not paths:
            return
        plan: dict[str, list[Path]] = {}
        for path in paths:
            found = self.engine.suggestion_for(path)
            if found is not None:
                plan.setdefault(found.class_name, []).append(path)
        if not plan:
            self.tab.project.message.emit("No suggestion yet for the selected image"
                                          f"{'s' if len(paths) > 1 else ''}; press a class's key instead.")
            return
        if len(plan) == 1:
            [(name, chosen)] = plan.items()
            self.tab.send_paths(chosen, lambda: self.tab.project.move_images(chosen, name))
        else:
            chosen = [p for group in plan.values() for p in group]
            per_class = ", ".join(f"{name} {len(group)}" for name, group in plan.items())
            label = f"accept {count_words(len(chosen), 'suggestion')} ({per_class})"
            self.tab.send_paths(chosen, lambda: self.tab.project.send_images_to_classes(plan, label))

    def accept_all_dialog(self) -> None:
        """Accept All at or Above…: the counts per class as the threshold changes; OK moves them at once."""
        if self.tab.project.root is None or self.engine.suggestions is None:
            return
        inbox = self.tab.project.images(INBOX)
        dialog = AcceptDialog(lambda threshold: self.engine.plan(inbox, threshold), len(inbox),
                              self.accept_percent, self.tab)
        if dialog.exec() != AcceptDialog.DialogCode.Accepted or not dialog.plan:
            return
        self.accept_percent = dialog.percent.value()
        self.tab.project.send_images_to_classes(dialog.plan, accept_label(dialog.plan, dialog.threshold))
