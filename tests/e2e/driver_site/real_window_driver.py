"""A scripted first-time user of the real ``imgclf-gui`` window (loaded by this folder's sitecustomize.py).

``install(out)`` wraps ``imgclf_gui.__main__.start_project``, which ``main()`` calls once the window is shown,
so the script starts in the running app: it accepts the first-start offer of the demo project, sorts an
inbox image with the key of a class, trains with the default settings (the real default backbone), drops an
inbox image on the Classify tab, and saves a 1280x720 screenshot of each tab, grabbed from the X server.
Everything goes through the widgets (clicks, keys, drag-enter then drop). The steps never block the event
loop: each waits for a condition on a timer, so the app's own dialogs and threads run as they would for a
person. At the end it writes ``summary.json`` into ``out`` and closes the window; on any failure it writes
``failure.json`` and a screenshot ``failure.png`` and exits with status 3.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WINDOW_SIZE = (1280, 720)
TRAIN_TIMEOUT_S = 900  # converting the backbone on first use and 250 bottlenecks on 2 busy cores


@dataclass
class Wait:
    """Yielded by a step: resume when ``condition()`` holds; fail with ``what`` after ``timeout_s``."""

    condition: Callable[[], bool]
    what: str
    timeout_s: float = 60


Steps = Generator[Wait, None, None]
_SCRIPTS: list[Script] = []


def install(out: str) -> None:
    import imgclf_gui.__main__ as entry

    original = entry.start_project

    def start_and_drive(window: Any, args: Any, interactive: bool) -> None:
        script = Script(window, Path(out))
        _SCRIPTS.append(script)  # Qt holds only a weak reference to a bound-method slot: keep the script alive
        script.start()
        original(window, args, interactive)  # the first-start offer opens its own (modal) event loop here

    entry.start_project = start_and_drive


class Script:
    """Runs ``user_session`` one step per timer tick; a modal dialog the script did not expect fails it."""

    def __init__(self, window: Any, out: Path) -> None:
        from PySide6.QtCore import QTimer

        self.window = window
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.summary: dict[str, Any] = {"screenshots": []}
        # the one modal dialog a step is about to handle; "any" until the session starts (the offer opens at once)
        self.expected_dialog: Any = "any"
        self._steps = user_session(self)
        self._wait: Wait | None = None
        self._deadline = 0.0
        self._timer = QTimer(window)
        self._timer.setInterval(50)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._timer.start()

    def _tick(self) -> None:
        from PySide6.QtWidgets import QApplication

        try:
            modal = QApplication.activeModalWidget()
            if modal is not None and modal is not self.expected_dialog and self.expected_dialog != "any":
                raise RuntimeError(f"an unexpected dialog appeared: {dialog_text(modal)}")
            if self._wait is not None:
                if not self._wait.condition():
                    if time.monotonic() > self._deadline:
                        raise TimeoutError(f"gave up waiting for {self._wait.what} "
                                           f"after {self._wait.timeout_s:.0f} s")
                    return
            self._timer.stop()  # a step may take a while (it grabs the screen): no ticks pile up meanwhile
            self._wait = next(self._steps)
            self._deadline = time.monotonic() + self._wait.timeout_s
            self._timer.start()
        except StopIteration:
            self._timer.stop()
            self._write("summary.json", self.summary)
            self.window.close()
        except Exception as exc:  # noqa: BLE001 - any failure of the session is reported, then the app ends
            self._timer.stop()
            self.fail(exc)

    def fail(self, exc: BaseException) -> None:
        from PySide6.QtWidgets import QApplication

        modal = QApplication.activeModalWidget()
        report = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(),
                  "dialog": dialog_text(modal) if modal is not None else None, "summary": self.summary}
        try:
            self.shot(self.window, "failure.png", size_check=False)
        except Exception as shot_exc:  # noqa: BLE001 - the report matters more than the picture
            report["screenshot_error"] = repr(shot_exc)
        self._write("failure.json", report)
        print(f"real-window session failed: {report['error']}", file=sys.stderr, flush=True)
        os._exit(3)  # a modal dialog's event loop must not keep the process alive

    def shot(self, widget: Any, name: str, *, size_check: bool = True) -> None:
        """What the X server shows of ``widget``'s window, saved as ``name``."""
        from PySide6.QtCore import QCoreApplication
        from PySide6.QtGui import QGuiApplication

        # Pending paints reach the X server first (pyqtgraph, for one, repaints new curves only from the event
        # loop); the step's timer is stopped meanwhile, so no other step runs in between.
        QCoreApplication.processEvents()
        pixmap = QGuiApplication.primaryScreen().grabWindow(widget.winId())
        if size_check and widget is self.window and (pixmap.width(), pixmap.height()) != WINDOW_SIZE:
            raise RuntimeError(f"{name}: the window is {pixmap.width()}x{pixmap.height()}, not "
                               f"{WINDOW_SIZE[0]}x{WINDOW_SIZE[1]}")
        if not pixmap.save(str(self.out / name)):
            raise OSError(f"could not write {self.out / name}")
        self.summary["screenshots"].append(name)

    def _write(self, name: str, data: dict[str, Any]) -> None:
        (self.out / name).write_text(json.dumps(data, indent=2, default=str))


def shape_of(image: Path) -> str:
    """The shape drawn in a demo inbox image: ``photo_N.jpg`` shows ``SHAPES[N % 4]`` (demo_project.py)."""
    from imgclf_gui.core.project.demo_project import SHAPES

    return SHAPES[int(image.stem.removeprefix("photo_")) % len(SHAPES)]


def dialog_text(widget: Any) -> str:
    from PySide6.QtWidgets import QMessageBox

    if isinstance(widget, QMessageBox):
        return f"{widget.windowTitle()!r}: {widget.text()} {widget.informativeText()}".strip()
    return f"{type(widget).__name__} {widget.windowTitle()!r}"


def idle(tasks: Any, quiet_s: float = 0.5) -> Callable[[], bool]:
    """A condition: no background task has run for ``quiet_s`` (thumbnails load batch after batch)."""
    quiet_since = [time.monotonic()]

    def condition() -> bool:
        if tasks.running():
            quiet_since[0] = time.monotonic()
        return time.monotonic() - quiet_since[0] >= quiet_s

    return condition


def click(widget: Any, point: Any = None, modifier: Any = None) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    args = [widget, Qt.MouseButton.LeftButton, modifier or Qt.KeyboardModifier.NoModifier]
    QTest.mouseClick(*args, point) if point is not None else QTest.mouseClick(*args)


def drop(widget: Any, paths: list[Path]) -> None:
    """Files dropped from a file manager: drag enter, then drop."""
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    point = widget.rect().center()
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(point, Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        raise RuntimeError(f"{type(widget).__name__} refused the drag of {paths}")
    QApplication.sendEvent(widget, QDropEvent(QPointF(point), Qt.DropAction.CopyAction, mime, buttons, modifiers))


def user_session(script: Script) -> Steps:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QMessageBox

    window, summary = script.window, script.summary
    summary["platform"] = QApplication.platformName()
    window.resize(*WINDOW_SIZE)
    yield Wait(lambda: (window.width(), window.height()) == WINDOW_SIZE, "the window to take 1280x720")

    # -- first start: the offer of the demo project
    def welcome() -> QMessageBox | None:
        modal = QApplication.activeModalWidget()
        return modal if isinstance(modal, QMessageBox) and modal.windowTitle() == "Welcome to imgclf" else None

    yield Wait(lambda: welcome() is not None and welcome().isVisible(), "the first-start offer of the demo", 60)
    box = welcome()
    script.expected_dialog = box
    script.shot(box, "welcome.png")
    create = next(b for b in box.buttons() if b.text().replace("&", "") == "Create Demo Project")
    click(create)
    yield Wait(lambda: QApplication.activeModalWidget() is None, "the offer to close")
    script.expected_dialog = None
    # Xvfb has no window manager to give the window the keyboard focus, as a desktop does: ask X for it.
    window.activateWindow()
    yield Wait(window.isActiveWindow, "the window to become the active one (keyboard focus)")
    project = window.project
    yield Wait(lambda: project.root is not None and project.inbox_count() > 0, "the demo project to open", 120)
    root = Path(project.root)
    summary["project"] = str(root)
    summary["classes"] = project.class_names()

    # -- Dataset tab: sort the first inbox image with the key "1"
    from imgclf_gui.gui.common.project_model import INBOX

    dataset = window.tabs["Dataset"]
    grid = dataset.grid
    yield Wait(lambda: window.tab_widget.currentWidget() is dataset and dataset.current_class() == INBOX
               and dataset.thumb_model.rowCount() > 0, "the inbox thumbnails")
    yield Wait(idle(window.tasks), "the inbox thumbnails to be drawn")
    first = dataset.thumb_model.index(0)
    click(grid.viewport(), grid.visualRect(first).center())
    yield Wait(lambda: len(grid.selected_paths()) == 1, "the clicked thumbnail to be selected")
    image = grid.selected_paths()[0]
    target = shape_of(image)  # what a person sees in the picture
    key = next((c.key for c in project.classes() if c.name == target), None)
    if not key:
        raise RuntimeError(f"the class {target} has no labelling key: {project.classes()}")
    inbox_before = project.inbox_count()
    QTest.keyClick(grid, key)
    moved = root / target / image.name
    yield Wait(lambda: moved.exists() and not image.exists() and project.inbox_count() == inbox_before - 1,
               f"{image.name} to move into {target}")
    summary["sorted"] = {"image": str(image), "key": key, "class": target, "now": str(moved),
                         "selected_next": [str(p) for p in grid.selected_paths()]}
    yield Wait(idle(window.tasks), "the thumbnails after the move")
    script.shot(window, "dataset.png")

    # -- Training tab: train with the default settings
    training = window.tabs["Training"]
    QTest.keyClick(window, "2", Qt.KeyboardModifier.ControlModifier)  # View > Training
    yield Wait(lambda: window.tab_widget.currentWidget() is training, "Ctrl+2 to show the Training tab")
    session = training.session
    yield Wait(lambda: session.summary is not None and training.train_button.isEnabled(),
               "the Training tab to be ready to train")
    summary["backbone"] = session.config.backbone
    outcomes: list[Any] = []
    session.run_finished.connect(outcomes.append)
    failures: list[tuple[str, str]] = []
    session.run_failed.connect(lambda message, details: failures.append((message, details)))
    started = time.monotonic()
    click(training.train_button)
    yield Wait(lambda: len(session.history) >= 5 or bool(outcomes or failures), "five epochs", TRAIN_TIMEOUT_S)
    if not (outcomes or failures):
        training.plots.point_count()  # draws the curves now rather than at the next throttled repaint
        script.shot(window, "training-running.png")
    yield Wait(lambda: bool(outcomes or failures), "the training run to end", TRAIN_TIMEOUT_S)
    if failures:
        raise RuntimeError(f"training failed: {failures[0][0]}\n{failures[0][1]}")
    outcome = outcomes[0]
    if outcome.run is None:
        raise RuntimeError(f"training kept no model: {outcome}")
    report = training.report_view.report
    summary["training"] = {"seconds": round(time.monotonic() - started, 1), "epochs": len(session.history),
                           "accuracy": getattr(report, "accuracy", None), "model": str(outcome.run.model_path)}
    yield Wait(idle(window.tasks), "the report's thumbnails")
    script.shot(window, "training.png")

    # -- Classify tab: the model just trained, an inbox image dropped on the tab
    from imgclf_gui.core.models.predict import ModelSource
    from imgclf_gui.core.models.runs import active_model_path

    classify = window.tabs["Classify"]
    QTest.keyClick(window, "3", Qt.KeyboardModifier.ControlModifier)  # View > Classify
    yield Wait(lambda: window.tab_widget.currentWidget() is classify, "Ctrl+3 to show the Classify tab")
    active = active_model_path(root)
    yield Wait(lambda: classify.classifier.source == ModelSource.bundle(active)
               and classify.classifier.state == "ready", "the Classify tab to load the new model", 180)
    results: list[Any] = []
    classify.classifier.prediction_ready.connect(results.append)
    dropped = sorted((root / INBOX).iterdir())[0]
    drop(classify, [dropped])
    yield Wait(lambda: bool(results), f"{dropped.name} to be classified")
    yield Wait(idle(window.tasks), "the Classify tab to settle")
    summary["classified"] = {"image": str(dropped), "shape": shape_of(dropped), "verdict": classify.verdict.text(),
                             "bars": [[name, float(score)] for name, score in classify.bars.shown]}
    script.shot(window, "classify.png")
