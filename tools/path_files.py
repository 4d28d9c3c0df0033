"""Count the imgclf source files that three everyday paths run through (a measure of how scattered the code is).

    .venv/bin/python tools/path_files.py [--list]

The paths: ``imgclf train DIR`` on the demo project; the Train button to the plots and the report; a drop
on the Classify tab to the bars. A file counts when at least one of its functions runs during the path
(module bodies run by an import do not count). Runs the real default backbone offline in a private cache.
The inbox's suggestions are switched off (a preference) for the GUI paths: they run in the background
whenever the active model changes, and would be counted in whichever path they happened to overlap.
"""
from __future__ import annotations

import os
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = str(ROOT / "imgclf_gui")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(ROOT))


_recording: list[set[str]] = []


def _profile(frame, event, arg):  # noqa: ANN001
    if event == "call" and _recording:
        code = frame.f_code
        if code.co_filename.startswith(PACKAGE) and code.co_name != "<module>":
            _recording[-1].add(os.path.relpath(code.co_filename, ROOT))


def _trace_every_thread() -> None:
    """Python threads get the profiler from ``threading``; Qt's pool threads from a wrapped ``run``."""
    threading.setprofile(_profile)
    sys.setprofile(_profile)
    from PySide6.QtCore import QRunnable

    try:
        from imgclf_gui.gui.common import tasks
    except ImportError:  # the layout before the regrouping
        from imgclf_gui.gui import tasks
    for cls in vars(tasks).values():
        if isinstance(cls, type) and issubclass(cls, QRunnable) and cls is not QRunnable:
            original = cls.run

            def run(self, _original=original) -> None:  # noqa: ANN001
                sys.setprofile(_profile)
                _original(self)

            cls.run = run


class FileTracer:
    """Records every imgclf file one of whose functions is called while it is entered."""

    def __enter__(self) -> FileTracer:
        self.files: set[str] = set()
        _recording.append(self.files)
        return self

    def __exit__(self, *exc) -> None:
        _recording.remove(self.files)


def cli_train(work: Path) -> set[str]:
    from imgclf_gui import cli

    project = work / "cli-demo"
    cli.main(["demo", str(project)])
    with FileTracer() as tracer:
        cli.main(["train", str(project), "--epochs", "5"])
    return tracer.files


def gui_paths(work: Path) -> tuple[set[str], set[str]]:
    from PySide6.QtCore import QEventLoop, QMimeData, QPointF, Qt, QTimer, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    from imgclf_gui import cli
    from imgclf_gui.core.support.settings import load_settings, save_settings

    app = QApplication.instance() or QApplication([])
    settings = load_settings()
    settings.suggest_inbox = False  # background work of the Dataset tab, not part of either path
    save_settings(settings)
    project = work / "gui-demo"
    cli.main(["demo", str(project)])
    try:
        from imgclf_gui.gui.shell.main_window import MainWindow
    except ImportError:  # the layout before the regrouping
        from imgclf_gui.gui.shell.main_window import MainWindow

    window = MainWindow()
    window.resize(1280, 720)
    window.show()
    window.open_project(project)
    training = window.tabs["Training"]
    classify = window.tabs["Classify"]

    def wait(signal, timeout_ms: int = 600_000) -> None:
        loop = QEventLoop()
        signal.connect(loop.quit)
        QTimer.singleShot(timeout_ms, loop.quit)
        loop.exec()

    def settle(ms: int = 300) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    settle(1000)
    training.session.set_config(training.session.config.__class__(**{**training.session.config.to_dict(),
                                                                      "epochs": 5}))
    with FileTracer() as train_tracer:
        training.train_button.click()
        wait(training.session.run_finished)
        settle(500)
    # the Classify tab follows the new model; wait until it is loaded before the drop
    for _ in range(600):
        if classify.classifier.state == "ready":
            break
        settle(100)
    image = sorted((project / "unsorted").iterdir())[0]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(image))])
    window.tab_widget.setCurrentWidget(classify)
    settle(300)
    print(f"Classify tab before the drop: model {classify.classifier.state}")
    with FileTracer() as drop_tracer:
        point = QPointF(classify.width() / 4, classify.height() / 2)
        enter = QDragEnterEvent(point.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(classify, enter)
        drop = QDropEvent(point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                          Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(classify, drop)
        for _ in range(600):
            if getattr(classify, 'shown', None) is not None:
                break
            settle(50)
        settle(200)
    print(f"after the drop: shown {getattr(classify, 'shown', None) is not None}")
    window.close()
    app.processEvents()
    return train_tracer.files, drop_tracer.files


def main(argv: list[str]) -> int:
    _trace_every_thread()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ.setdefault("IMGCLF_CACHE_DIR", str(Path(tempfile.gettempdir()) / "imgclf-path-files-cache"))
        os.environ["IMGCLF_CONFIG_DIR"] = str(work / "config")
        results = {"imgclf train DIR": cli_train(work)}
        results["Train button -> plots and report"], results["drop on Classify -> bars"] = gui_paths(work)
    for name, files in results.items():
        print(f"{name}: {len(files)} files")
        if "--list" in argv:
            for f in sorted(files):
                print(f"    {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
