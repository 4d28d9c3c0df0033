"""Render the Classify tab offscreen for the README: one image classified, and a batch table.

``python tools/screenshots_classify.py MODEL PROJECT [OUT_DIR]``: MODEL is a trained bundle (e.g. from
``imgclf demo DIR`` then ``imgclf train DIR --out MODEL``), PROJECT the project folder (its images are
classified). Writes ``classify-single.png`` and ``classify-batch.png`` (default OUT_DIR: docs/screenshots/).
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _wait(app, signal, timeout_ms: int = 120_000) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    app.processEvents()


def main(argv: list[str]) -> int:
    model, project = Path(argv[1]), Path(argv[2])
    out = Path(argv[3] if len(argv) > 3 else Path(__file__).resolve().parents[1] / "docs" / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("IMGCLF_CONFIG_DIR", str(Path(tmp) / "config"))
        import imgclf_gui.gui  # noqa: F401 - the PySide6 work-around first
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication([])
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(Path(tmp) / "qs"))
        from imgclf_gui.core.classify import ModelSource
        from imgclf_gui.core.dataset import list_images
        from imgclf_gui.gui.main_window import MainWindow

        window = MainWindow()
        window.resize(1180, 760)
        window.open_project(project)
        tab = window.tabs["Classify"]
        tab.use_model(ModelSource.bundle(model))
        window.tab_widget.setCurrentWidget(tab)
        window.show()
        if tab.classifier.state == "loading":
            _wait(app, tab.classifier.model_changed)
        images = list_images(project / "unsorted") or list_images(project, recursive=True)
        tab.classify_paths([images[0]])
        _wait(app, tab.classifier.prediction_ready)
        window.grab().save(str(out / "classify-single.png"))
        tab.classify_paths([project])
        _wait(app, tab.classifier.batch_finished)
        tab.batch.table.sortByColumn(3, tab.batch.table.horizontalHeader().sortIndicatorOrder().AscendingOrder)
        for _ in range(30):  # thumbnails arrive in the background
            _wait(app, tab.batch.thumbnails.ready, 300)
        window.grab().save(str(out / "classify-batch.png"))
        window.close()
        print(f"Screenshots written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
