"""The inbox's suggestions in the Dataset tab, through its real widgets: badges on the thumbnails, Enter to
accept, a key to override, the least-certain order, "Accept All at or Above…" as one undo, learning again
while the user labels, Stop and Resume, and the tab staying quiet where it cannot suggest anything."""
from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

from imgclf_gui.core.review import inbox as core_inbox
from imgclf_gui.core.review.suggestions import ORDER_LEAST_CERTAIN
from imgclf_gui.gui.common.project_model import INBOX
from imgclf_gui.gui.common.thumbnail_grid import BadgeRole
from imgclf_gui.gui.dataset.suggestion_bar import AcceptDialog
from tests.core.test_inbox_suggestions import colour_project
from tests.gui.conftest import _pick, open_window

LONG = 30_000


@pytest.fixture
def window(qtbot, tmp_path, fake_backbone):
    """Classes blue, green, red of 6 images; the inbox holds blue-0, blue-1, green-0, ... red-1."""
    return open_window(qtbot, colour_project(tmp_path / "proj", fake_backbone.id))


def _ready(window, qtbot, images: int | None = None):
    """The tab once every inbox image has a badge (from a model trained on ``images`` images)."""
    tab = window.tabs["Dataset"]
    engine = tab.review.engine

    def done() -> bool:
        found = engine.suggestions
        return (found is not None and not engine.busy() and all(
            tab.thumb_model.data(tab.thumb_model.index(r), BadgeRole) for r in range(tab.thumb_model.rowCount()))
                and (images is None or found.source.images == images))

    qtbot.waitUntil(done, timeout=LONG)
    return tab


def _badges(tab) -> dict[str, str]:
    model = tab.thumb_model
    return {model.path(r).name: model.data(model.index(r), BadgeRole)[0] for r in range(model.rowCount())}




def test_every_inbox_thumbnail_shows_its_suggested_class_and_where_it_comes_from(window, qtbot):
    tab = _ready(window, qtbot)
    badges = _badges(tab)
    assert len(badges) == 6
    for name, badge in badges.items():
        colour, percent = badge.split()
        assert colour == name.split("-")[0] and percent.endswith("%"), badge
    assert tab.review.bar.isVisible()
    assert "Suggestions from a model trained on 18 images" in tab.review.bar.status.toolTip()
    tip = tab.thumb_model.data(tab.thumb_model.index(0), Qt.ItemDataRole.ToolTipRole)
    assert "Suggested: blue " in tip
    tab.show_class("red")  # badges are for the inbox only
    assert tab.thumb_model.data(tab.thumb_model.index(0), BadgeRole) is None
    assert not tab.review.bar.isVisible()


def test_identical_copies_and_an_unreadable_file_do_not_stop_the_suggestions(tmp_path, qtbot, fake_backbone):
    import shutil

    root = colour_project(tmp_path / "proj", fake_backbone.id)
    shutil.copy(root / INBOX / "red-0.png", root / INBOX / "red-0 copy.png")  # one content, two images
    shutil.copy(root / "red" / "red0.png", root / "red" / "red0 copy.png")
    (root / INBOX / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
    window = open_window(qtbot, root)
    tab = window.tabs["Dataset"]
    qtbot.waitUntil(lambda: tab.review.engine.suggestions is not None and not tab.review.engine.busy(),
                    timeout=LONG)
    badges = {tab.thumb_model.path(r).name: tab.thumb_model.data(tab.thumb_model.index(r), BadgeRole)
              for r in range(tab.thumb_model.rowCount())}
    assert badges.pop("broken.png") is None
    assert all(badge and badge[0].startswith(name.split("-")[0]) for name, badge in badges.items()), badges
    assert "1 unreadable image left out" in tab.review.engine.status_text()


def test_enter_accepts_the_suggestion_and_moves_on_and_a_key_overrides(window, qtbot):
    tab = _ready(window, qtbot)
    root = window.project.root
    _pick(tab, qtbot, root / INBOX / "green-0.png")
    qtbot.keyClick(tab.grid, Qt.Key.Key_Return)
    assert (root / "green" / "green-0.png").exists()
    assert window.statusBar().currentMessage() == "Sent green-0.png to green."
    assert tab.grid.selected_paths() == [root / INBOX / "green-1.png"], "the next image is selected"
    key_of_red = next(c.key for c in window.project.classes() if c.name == "red")
    qtbot.keyClick(tab.grid, key_of_red)  # the user knows better: the key wins
    assert (root / "red" / "green-1.png").exists()
    # several selected images, suggested different classes: one action, one undo
    tab._select([root / INBOX / "blue-0.png", root / INBOX / "red-0.png"])
    qtbot.keyClick(tab.grid, Qt.Key.Key_Enter)
    assert (root / "blue" / "blue-0.png").exists() and (root / "red" / "red-0.png").exists()
    assert window.statusBar().currentMessage() == "Accepted 2 suggestions (blue 1, red 1)."
    window.undo_action.trigger()
    assert (root / INBOX / "blue-0.png").exists() and (root / INBOX / "red-0.png").exists()
    qtbot.waitUntil(lambda: _badges(tab).get("blue-0.png", "").startswith("blue "), timeout=LONG)


def test_least_certain_first_orders_by_margin_and_starts_at_the_first(window, qtbot):
    tab = _ready(window, qtbot)
    engine = tab.review.engine
    bar = tab.review.bar
    bar.order.setCurrentIndex(bar.order.findData(ORDER_LEAST_CERTAIN))
    shown = list(tab.thumb_model.paths)
    margins = [engine.suggestion_for(p).margin for p in shown]
    assert margins == sorted(margins) and len(shown) == 6
    assert tab.grid.selected_paths() == [shown[0]]
    # labelling keeps the order: the next least certain image is selected
    qtbot.keyClick(tab.grid, Qt.Key.Key_Return)
    assert tab.thumb_model.paths == shown[1:] and tab.grid.selected_paths() == [shown[1]]


def test_accept_all_shows_the_counts_per_class_and_moves_them_in_one_undoable_step(window, qtbot, monkeypatch):
    tab = _ready(window, qtbot)
    root = window.project.root
    seen = {}

    def answer(dialog: AcceptDialog) -> int:
        dialog.show()
        dialog.percent.setValue(100)
        seen["at 100"] = (dialog.summary.text(), dialog.ok_button.isEnabled())
        dialog.percent.setValue(50)
        seen["at 50"] = (dialog.summary.text(), dialog.counts.text(), dialog.ok_button.text())
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        return dialog.result()

    monkeypatch.setattr(AcceptDialog, "exec", answer)
    qtbot.mouseClick(tab.review.bar.accept_button, Qt.MouseButton.LeftButton)
    assert seen["at 100"][1] is False
    summary, counts, ok = seen["at 50"]
    assert summary == "6 images of the inbox's 6 are suggested at or above 50%:"
    assert ">blue</td>" in counts and "&nbsp;2</td>" in counts and ok == "Accept 6 Images"
    assert window.project.inbox_count() == 0
    assert sorted(p.name for p in (root / "red").glob("red-*.png")) == ["red-0.png", "red-1.png"]
    undo = window.undo_action.text().replace("&", "")
    assert undo == "Undo accept 6 suggestions at or above 50% (blue 2, green 2, red 2)"
    window.undo_action.trigger()
    assert window.project.inbox_count() == 6


def test_the_model_learns_again_after_k_labels_and_labelling_never_waits(tmp_path, qtbot, fake_backbone,
                                                                           monkeypatch):
    window = open_window(qtbot, colour_project(tmp_path / "proj", fake_backbone.id), suggest_retrain_every=2)
    tab = _ready(window, qtbot, images=18)
    engine = tab.review.engine
    root = window.project.root
    _pick(tab, qtbot, root / INBOX / "blue-0.png")
    qtbot.keyClick(tab.grid, Qt.Key.Key_Return)
    assert engine.suggestions.source.images == 18 and not engine.busy(), "one label: not yet"
    qtbot.keyClick(tab.grid, Qt.Key.Key_Return)
    _ready(window, qtbot, images=20)
    assert "Suggestions from a model trained on 20 images, just now" in tab.review.bar.status.toolTip()

    # while the model learns (held here until the test lets it go), keys still sort at once
    release, original = threading.Event(), core_inbox.choose_model

    def held(*args, **kwargs):
        release.wait(10)
        return original(*args, **kwargs)

    monkeypatch.setattr(core_inbox, "choose_model", held)
    before = engine.suggestions.source.trained_at
    qtbot.mouseClick(tab.review.bar.learn_button, Qt.MouseButton.LeftButton)  # learning on request
    assert engine.busy() and "learning again" in engine.status_text()
    tab.grid.setFocus()
    qtbot.keyClick(tab.grid, Qt.Key.Key_Return)
    assert window.project.inbox_count() == 3, "the label did not wait for the learning"
    release.set()
    # the new model learnt from what was sorted when it started; the label made meanwhile counts for the next
    qtbot.waitUntil(lambda: engine.suggestions.source.trained_at > before and not engine.busy(), timeout=LONG)
    assert engine.suggestions.source.images == 20


def test_stop_keeps_what_was_computed_and_resume_goes_on(tmp_path, qtbot, fake_backbone, monkeypatch):
    root = colour_project(tmp_path / "proj", fake_backbone.id, inbox_per_colour=4)
    monkeypatch.setattr(core_inbox, "FIRST_CHUNK", 2)
    monkeypatch.setattr(core_inbox, "CHUNK", 2)
    from imgclf_gui.core.features import extraction

    gate, original = threading.Event(), extraction.extract_features

    def slow(paths, *args, **kwargs):
        if any(p.parent.name == INBOX for p in paths):
            gate.wait(5)  # the inbox's chunks wait for the test
        return original(paths, *args, **kwargs)

    monkeypatch.setattr(extraction, "extract_features", slow)
    window = open_window(qtbot, root)
    tab = window.tabs["Dataset"]
    bar = tab.review.bar
    qtbot.waitUntil(lambda: bar.stop_button.isVisible() and bar.stop_button.text() == "Stop", timeout=LONG)
    qtbot.mouseClick(bar.stop_button, Qt.MouseButton.LeftButton)
    gate.set()
    qtbot.waitUntil(lambda: bar.stop_button.text() == "Resume", timeout=LONG)
    assert "still without a bottleneck (stopped)" in tab.review.engine.status_text()
    qtbot.mouseClick(bar.stop_button, Qt.MouseButton.LeftButton)
    tab = _ready(window, qtbot)
    assert len(_badges(tab)) == 12 and not bar.stop_button.isVisible()


def test_nothing_runs_where_nothing_can_be_suggested(qtbot, tmp_path):
    from tests.gui.conftest import write_sorting_project

    window = open_window(qtbot, write_sorting_project(tmp_path / "proj"))
    tab = window.tabs["Dataset"]
    assert tab.review.engine.status_text() == "Suggestions start when 2 classes have 5 images each (now: cat 3, dog 3)."
    assert not window.tasks.running()
    assert tab.thumb_model.data(tab.thumb_model.index(0), BadgeRole) is None


def test_suggestions_are_turned_off_and_on_in_the_preferences_dialog(window, qtbot, monkeypatch):
    from imgclf_gui.core.support.settings import load_settings
    from imgclf_gui.gui.shell.preferences_dialog import PreferencesDialog

    tab = _ready(window, qtbot)
    answers = iter([(False, 5), (True, 5)])

    def edit_and_press_ok(dialog):
        on, every = next(answers)
        dialog.suggest.setChecked(on)
        dialog.retrain_every.setValue(every)
        dialog.accept()
        return 1

    monkeypatch.setattr(PreferencesDialog, "exec", edit_and_press_ok)
    window.prefs_action.trigger()
    assert tab.review.engine.status_text() == "Suggestions are off (Preferences)."
    assert tab.thumb_model.data(tab.thumb_model.index(0), BadgeRole) is None and not tab.review.engine.busy()
    assert load_settings().suggest_retrain_every == 5 and load_settings().suggest_inbox is False
    window.prefs_action.trigger()
    _ready(window, qtbot)
