"""GUI test set-up: Qt settings isolated per test, and no modal dialog from the error handler."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QDialogButtonBox, QWidget

from imgclf_gui.core.models.predict import ModelSource
from imgclf_gui.core.support.settings import Settings
from imgclf_gui.gui.shell.main_window import MainWindow
from tests.conftest import write_image

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_qsettings(tmp_path, qapp):
    """QSettings (window geometry, recent projects) write into this test's own folder."""
    from PySide6.QtCore import QCoreApplication, QSettings

    folder = str(tmp_path / "_qsettings")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, folder)
    QCoreApplication.setOrganizationName("imgclf-tests")
    QCoreApplication.setApplicationName(f"imgclf-test-{os.getpid()}")
    yield


@pytest.fixture(autouse=True)
def _garbage_collected_on_the_gui_thread(qapp):
    """As in the app (``__main__``): no cycle collection on worker threads, where freeing a QObject
    crashes Qt; a timer on the GUI thread collects instead."""
    from imgclf_gui.gui.common.gc_guard import GuiThreadGarbageCollector

    collector = GuiThreadGarbageCollector(interval_ms=200)
    yield
    collector.stop()
    collector.deleteLater()


MODAL_PATIENCE_S = 20  #: how long a modal dialog may wait for an answer before the test is failed


class ModalWatch:
    """Closes any modal dialog left open longer than ``patience_s`` and remembers what it said.

    A modal dialog that no test answers (an error box after a race, a question a test did not expect) holds
    its ``exec()`` forever on a screen nobody looks at: CI then hangs until its time limit with no word of
    why. The timer runs on the GUI thread, inside the dialog's own event loop."""

    def __init__(self, patience_s: float = MODAL_PATIENCE_S, interval_ms: int = 500) -> None:
        from PySide6.QtCore import QTimer

        self.patience_s = patience_s
        self.closed: list[str] = []
        self._since: dict[int, float] = {}
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._look)
        self._timer.start()

    def _look(self) -> None:
        import time

        from PySide6.QtWidgets import QDialog, QMessageBox

        widget = QApplication.activeModalWidget()
        if widget is None:
            self._since.clear()
            return
        first = self._since.setdefault(id(widget), time.monotonic())
        if time.monotonic() - first < self.patience_s:
            return
        text = widget.text() if isinstance(widget, QMessageBox) else ""
        self.closed.append(f"{type(widget).__name__} {widget.windowTitle()!r}: {text}")
        self._since.pop(id(widget), None)
        if isinstance(widget, QDialog):
            widget.reject()
        else:
            widget.close()

    def stop(self) -> None:
        self._timer.stop()
        self._timer.deleteLater()


@pytest.fixture(autouse=True)
def _no_modal_dialog_waits_forever(qapp):
    """Every GUI test fails (instead of hanging) when a modal dialog waits for an answer nobody gives."""
    watch = ModalWatch()
    yield
    watch.stop()
    assert not watch.closed, f"a modal dialog waited {watch.patience_s} s for an answer and was closed: {watch.closed}"


# -- the Classify tab: a tiny model trained on the fake backbone and a window with a project
COLORS = {"blue": (30, 40, 220), "green": (40, 200, 40), "red": (220, 40, 40)}


def write_colour_project(root: Path, per_class: int) -> Path:
    """A project of one class folder per colour of COLORS, ``per_class`` slightly noisy 40x40 images each."""
    for k, (name, colour) in enumerate(COLORS.items()):
        for i in range(per_class):
            write_image(root / name / f"{name}{i:02d}.png", size=(40, 40), color=colour, seed=100 * k + i)
    return root


@pytest.fixture
def tiny_model(tmp_path, fake_backbone) -> Path:
    """A model trained in a second on coloured images (fake backbone: 4x4 mean colours)."""
    from imgclf_gui.core.models.bundle import ModelBundle
    from imgclf_gui.core.training.config import TrainConfig
    from imgclf_gui.core.training.trainer import train

    data = tmp_path / "train"
    for name, color in COLORS.items():
        for i in range(12):
            write_image(data / name / f"{name}{i}.png", size=(40, 30), color=color, seed=i + 10 * len(name))
    result = train(TrainConfig(backbone=fake_backbone.id, epochs=30, learning_rate=0.01), data)
    return ModelBundle.from_training(result).save(tmp_path / "colors.imgclf-model")


@pytest.fixture
def window(qtbot, tmp_path):
    root = tmp_path / "proj"
    for name in COLORS:
        write_image(root / name / f"{name}-old.png", color=COLORS[name], seed=5)
    win = MainWindow(settings=Settings())
    qtbot.addWidget(win)
    win.resize(1100, 700)
    assert win.open_project(root)
    return win


def _ready_tab(window, qtbot, source: ModelSource):
    tab = window.tabs["Classify"]
    with qtbot.waitSignal(tab.classifier.model_changed, timeout=60_000):
        tab.use_model(source)
    assert tab.classifier.state == "ready", tab.classifier.error
    window.tab_widget.setCurrentWidget(tab)
    window.show()
    return tab


def _drag_target(widget: QWidget) -> QWidget:
    return widget.viewport() if isinstance(widget, QAbstractScrollArea) else widget


def accepts_drag(widget: QWidget, mime: QMimeData, pos: QPoint | None = None) -> bool:
    """Whether ``widget`` takes a drag of ``mime`` when it enters (the cursor shows it may drop there)."""
    target = _drag_target(widget)
    enter = QDragEnterEvent(pos if pos is not None else QPoint(30, 30), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    QApplication.sendEvent(target, QDragLeaveEvent())
    return enter.isAccepted()


def drop_mime(widget: QWidget, mime: QMimeData, pos: QPoint | None = None,
              action: Qt.DropAction = Qt.DropAction.CopyAction) -> bool:
    """Drag ``mime`` onto ``widget`` as a user does: DragEnter, DragMove, then Drop, each through
    ``QApplication.sendEvent``; the Drop only when the widget accepted the drag, as Qt does. Item views
    receive drags on their viewport, in its coordinates. True when the drop was accepted."""
    target = _drag_target(widget)
    point = pos if pos is not None else QPoint(30, 30)
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(point, action, mime, buttons, modifiers)
    QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False
    move = QDragMoveEvent(point, action, mime, buttons, modifiers)
    move.setDropAction(enter.dropAction())  # Qt's own move after an enter starts from the enter's answer
    move.setAccepted(True)
    QApplication.sendEvent(target, move)
    if not move.isAccepted():
        QApplication.sendEvent(target, QDragLeaveEvent())
        return False
    drop = QDropEvent(QPointF(point), action, mime, buttons, modifiers)
    QApplication.sendEvent(target, drop)
    return drop.isAccepted()


def _drop(widget: QWidget, paths: list[Path], pos: QPoint | None = None,
          action: Qt.DropAction = Qt.DropAction.CopyAction) -> bool:
    """Drop files (from a file manager) onto ``widget``; see :func:`drop_mime`."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return drop_mime(widget, mime, pos, action)


# -- the Dataset tab: a small project to sort, and answers to its dialogs given through their widgets
def write_sorting_project(root: Path) -> Path:
    """Four inbox images (u0..u3) and classes cat and dog of three images each, all different."""
    for i in range(4):
        write_image(root / "unsorted" / f"u{i}.png", seed=i)
    for k, name in enumerate(("cat", "dog")):
        for i in range(3):
            # Fixed seeds, unlike hash(name) (salted per process): a seed shared with an inbox image
            # made an extra pair of identical files in about one run in sixty.
            write_image(root / name / f"{name}{i}.png", seed=100 * (k + 1) + i)
    return root


@pytest.fixture
def dataset_window(qtbot, tmp_path):
    """A shown window on :func:`write_sorting_project`; imports copy without asking."""
    win = MainWindow(settings=Settings(ask_import_mode=False, import_mode="copy"))
    qtbot.addWidget(win)
    win.resize(780, 560)
    win.show()
    assert win.open_project(write_sorting_project(tmp_path / "proj"))
    return win


def answer_text_dialogs(monkeypatch, qtbot, *answers: str) -> list[tuple[str, str, bool]]:
    """The next name or key dialogs of the Dataset tab are answered by typing ``answers`` in turn into the
    field and clicking OK, or Cancel when OK stays disabled. Returns, per dialog, what it showed after
    the typing: (question, reason under the field, OK enabled)."""
    from imgclf_gui.gui.dataset.class_dialogs import CheckedTextDialog

    seen: list[tuple[str, str, bool]] = []
    queue = list(answers)

    def exec_(dialog: CheckedTextDialog) -> int:
        dialog.show()
        dialog.field.selectAll()
        qtbot.keyClicks(dialog.field, queue.pop(0))
        question = dialog.question.text()
        seen.append((question, dialog.reason.text() if dialog.reason.isVisible() else "",
                     dialog.ok_button.isEnabled()))
        if dialog.ok_button.isEnabled():
            qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        else:
            qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
        return dialog.result()

    monkeypatch.setattr(CheckedTextDialog, "exec", exec_)
    return seen


def open_window(qtbot, root: Path, size: tuple[int, int] = (1024, 700), **settings) -> MainWindow:
    """A shown main window on the project at ``root`` (no import-mode question; ``settings`` on top)."""
    win = MainWindow(settings=Settings(ask_import_mode=False, **settings))
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    assert win.open_project(root)
    return win


def _pick(tab, qtbot, path: Path) -> None:
    """Click one thumbnail of the Dataset tab's grid, as a user picks one image."""
    tab.grid.setFocus()
    index = tab.thumb_model.index(tab.thumb_model.row_of(path))
    tab.grid.scrollTo(index)
    qtbot.mouseClick(tab.grid.viewport(), Qt.MouseButton.LeftButton, pos=tab.grid.visualRect(index).center())
    assert tab.grid.selected_paths() == [path]
