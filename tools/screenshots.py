"""Render the README's pictures: ``python tools/screenshots.py [--xcb] [--size WxH] [OUT_DIR]``.

Offscreen by default. With ``--xcb`` the window is a real X11 window on ``$DISPLAY`` (Qt's xcb platform, as on
a Linux desktop) and each picture is what the X server shows; on a machine with no screen, run it under Xvfb:
``xvfb-run -a python tools/screenshots.py --xcb`` (Debian/Ubuntu: ``apt-get install xvfb``).

Makes the demo project in a temporary folder, opens it in a real :class:`MainWindow` and drives its widgets
as a user would: waits for the inbox's suggestions and orders it least certain first, selects thumbnails,
runs Check Data, trains the default backbone (EfficientNet-Lite0 + Lite2),
clicks a confusion-matrix cell, then drops an unsorted image and the unsorted folder on the Classify tab.
Nothing is faked. Default OUT_DIR: ``docs/screenshots/``. Writes ``dataset.png``, ``dataset-health.png``,
``training-running.png``, ``training-done.png``, ``classify-single.png`` and ``classify-batch.png``.
``--size 1024x700`` renders the window at another size (default 1280x820), to look at a small screen.

Settings and Qt settings are private to the temporary folder; the user cache folder stays the default,
so a backbone converted earlier is reused (the first run ever converts it, ~10 s). Every wait is on a
signal or a condition with a deadline, so a broken step fails loudly instead of saving a wrong picture.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

WINDOW_SIZE = (1280, 820)
#: the mid-run picture: this epoch of this fold, when two folds are drawn whole and the third is on its way
RUNNING_FOLD, RUNNING_EPOCH = 3, 8
TRAIN_TIMEOUT_S = 900  # a cold start converts the backbone and computes every bottleneck on 2 cores


def _wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    """Run the event loop until ``condition()`` holds; fail with ``what`` after ``timeout_s``."""
    from PySide6.QtCore import QCoreApplication, QEventLoop

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout_s:.0f} s")
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)  # results come from worker threads; do not spin a core they need


def _wait_idle(tasks, what: str, quiet_s: float = 0.4, timeout_s: float = 60) -> None:
    """Wait until no background task has run for ``quiet_s`` (thumbnail loaders start batch after batch)."""
    quiet_since = [time.monotonic()]

    def idle() -> bool:
        if tasks.running():
            quiet_since[0] = time.monotonic()
        return time.monotonic() - quiet_since[0] >= quiet_s

    _wait_until(idle, what, timeout_s)


def _click(view, index, modifier=None) -> None:
    """A real mouse click on the item at ``index`` of an item view."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    view.scrollTo(index)
    point = view.visualRect(index).center()
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifier or Qt.KeyboardModifier.NoModifier,
                     point)


def _drop(widget, paths: list[Path]) -> None:
    """Drop files on ``widget`` the way a file manager does (drag enter, then drop)."""
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    point = widget.rect().center()
    enter = QDragEnterEvent(point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    drop = QDropEvent(QPointF(point), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)


def _save(window, out: Path, name: str) -> None:
    # Qt renders the window itself, also on xcb: the X server's copy may lag a paint behind (pyqtgraph's new
    # curves reach it only once the event loop runs, and the mid-run picture is taken inside an epoch's slot).
    if not window.grab().save(str(out / name)):
        raise OSError(f"could not write {out / name}")
    print(f"  {name}", flush=True)


def _plant_problems(root: Path) -> None:
    """What a real folder has and Check Data should find: a download cut off part-way and a copy."""
    import shutil

    triangles = root / "triangle"
    data = (triangles / "triangle_007.jpg").read_bytes()
    (triangles / "broken_photo.jpg").write_bytes(data[: len(data) // 3])
    shutil.copyfile(triangles / "triangle_003.jpg", triangles / "triangle_003 (copy).jpg")


def _dataset_pictures(window, out: Path) -> None:
    from PySide6.QtCore import Qt

    tab = window.tabs["Dataset"]
    window.tab_widget.setCurrentWidget(tab)
    _wait_until(lambda: tab.thumb_model.rowCount() > 0, "the inbox thumbnails")
    engine = tab.review.engine  # the inbox's suggestions: its bottlenecks, then the quick model
    _wait_until(lambda: engine.suggestions is not None and not engine.busy(), "the inbox's suggestions",
                TRAIN_TIMEOUT_S)
    tab.review.bar.order.setCurrentIndex(tab.review.bar.order.findData("least_certain"))
    _wait_idle(window.tasks, "the inbox thumbnails to be drawn")
    _click(tab.grid, tab.thumb_model.index(1))
    _click(tab.grid, tab.thumb_model.index(2), Qt.KeyboardModifier.ControlModifier)
    _wait_idle(window.tasks, "thumbnails after the selection")
    _save(window, out, "dataset.png")

    _click(tab.class_view, tab.class_model.index(tab.class_model.row_of("triangle")))
    _wait_until(lambda: tab.current_class() == "triangle", "the triangle class to be shown")
    reports: list[object] = []
    tab.health.report_ready.connect(reports.append)
    tab.health.check_button.click()
    _wait_until(lambda: bool(reports), "Check Data to finish", 300)
    _wait_idle(window.tasks, "thumbnails after Check Data")
    _save(window, out, "dataset-health.png")


def _training_pictures(window, out: Path) -> None:
    import numpy as np

    tab = window.tabs["Training"]
    session = tab.session
    window.tab_widget.setCurrentWidget(tab)
    _wait_until(lambda: session.summary is not None, "the summary of what will be trained")
    grabbed: list[bool] = []

    def on_epoch(epoch) -> None:  # noqa: ANN001 - a crossval.FoldEpoch
        # Grabbed in the slot itself: the window shows exactly the run at this epoch, however fast the
        # head trains (epochs are queued in order and would otherwise be drawn all at once).
        if epoch.fold == min(RUNNING_FOLD, epoch.folds) and epoch.metrics.epoch == RUNNING_EPOCH and not grabbed:
            tab.plots.point_count()  # paints the curves now instead of at the next throttled repaint
            _save(window, out, "training-running.png")
            grabbed.append(True)

    session.fold_epoch_added.connect(on_epoch)
    outcomes: list[object] = []
    session.run_finished.connect(outcomes.append)
    tab.train_button.click()
    _wait_until(lambda: bool(outcomes), "the training run", TRAIN_TIMEOUT_S)
    session.fold_epoch_added.disconnect(on_epoch)
    if not grabbed:
        raise RuntimeError(f"fold {RUNNING_FOLD} ended before epoch {RUNNING_EPOCH}: no mid-run picture")
    if outcomes[0].run is None:
        raise RuntimeError(f"training kept no model: {outcomes[0].message}")

    report = tab.report_view.report
    confusion = np.array(report.confusion)
    wrong = confusion - np.diag(np.diag(confusion))
    # the cell a reader wants to look into: the most frequent mistake, else the largest right answer
    cell = np.unravel_index(int(np.argmax(wrong if wrong.any() else confusion)), confusion.shape)
    matrix = tab.report_view.matrix
    _click(matrix, matrix.model().index(int(cell[0]), int(cell[1])))
    _wait_until(lambda: tab.mistakes.model.rowCount() > 0, "the images of the clicked cell")
    _wait_idle(window.tasks, "the thumbnails of the clicked cell")
    _save(window, out, "training-done.png")


def _classify_pictures(window, root: Path, out: Path) -> None:
    from imgclf_gui.core.models.predict import ModelSource
    from imgclf_gui.core.models.runs import active_model_path
    from imgclf_gui.core.project.layout import INBOX_NAME
    from imgclf_gui.core.project.scan import list_images

    tab = window.tabs["Classify"]
    window.tab_widget.setCurrentWidget(tab)
    active = active_model_path(root)
    # the tab follows the model the Training tab just made active, without being told
    _wait_until(lambda: tab.classifier.source == ModelSource.bundle(active) and tab.classifier.state == "ready",
                "the Classify tab to load the project's active model", 120)
    results: list[object] = []
    tab.classifier.prediction_ready.connect(results.append)
    unsorted = root / INBOX_NAME
    _drop(tab, [list_images(unsorted)[2]])
    _wait_until(lambda: bool(results), "the dropped image to be classified")
    _save(window, out, "classify-single.png")

    finished: list[str] = []
    tab.classifier.batch_finished.connect(finished.append)
    _drop(tab, [unsorted])
    _wait_until(lambda: bool(finished), "the unsorted folder to be classified", 120)
    _wait_idle(window.tasks, "the thumbnails of the table")
    _save(window, out, "classify-batch.png")


def main(argv: list[str]) -> int:
    args = [a for a in argv[1:] if a != "--xcb"]
    size = WINDOW_SIZE
    if "--size" in args:
        at = args.index("--size")
        size = tuple(int(n) for n in args[at + 1].lower().split("x"))
        del args[at:at + 2]
    if "--xcb" in argv:
        os.environ["QT_QPA_PLATFORM"] = "xcb"
        from imgclf_gui.__main__ import platform_problem

        problem = platform_problem(os.environ)
        if problem:  # no DISPLAY, or Qt's X11 plugin lacks a system library: say so instead of Qt's abort
            print(f"screenshots: {problem}\nWith no screen: xvfb-run -a python tools/screenshots.py --xcb",
                  file=sys.stderr)
            return 1
    out = Path(args[0] if args else Path(__file__).resolve().parents[1] / "docs" / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="imgclf-screenshots-") as tmp:
        os.environ["IMGCLF_CONFIG_DIR"] = str(Path(tmp) / "config")  # default preferences, not the user's
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication([])
        app.setOrganizationName("imgclf-screenshots")
        app.setApplicationName("imgclf")
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(Path(tmp) / "qsettings"))
        from imgclf_gui.core.project.demo_project import make_demo_project
        from imgclf_gui.gui.shell.main_window import MainWindow

        root = make_demo_project(Path(tmp) / "shapes-demo")
        _plant_problems(root)
        window = MainWindow()
        window.resize(*size)
        window.show()
        if not window.open_project(root):
            raise RuntimeError(f"the demo project in {root} did not open")
        print(f"Writing screenshots to {out}", flush=True)
        try:
            _dataset_pictures(window, out)
            _training_pictures(window, out)
            _classify_pictures(window, root, out)
        finally:
            window.tasks.cancel_all()
            window.tasks.shutdown(10_000)
            window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
