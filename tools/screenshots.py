"""Render the main window offscreen to PNGs for the README: ``python tools/screenshots.py [OUT_DIR]``.

Makes the demo project in a temporary folder, opens it, and saves one picture per tab plus the Dataset tab
after a health check (default OUT_DIR: docs/screenshots/).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _settle(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else Path(__file__).resolve().parents[1] / "docs" / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("IMGCLF_CONFIG_DIR", str(Path(tmp) / "config"))
        os.environ.setdefault("IMGCLF_CACHE_DIR", str(Path(tmp) / "cache"))
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication([])
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(Path(tmp) / "qs"))
        from imgclf_gui.core.demo import make_demo_project
        from imgclf_gui.gui.main_window import MainWindow

        root = make_demo_project(Path(tmp) / "shapes-demo")
        window = MainWindow()
        window.resize(1180, 760)
        window.show()
        window.open_project(root)
        _settle(app, 1.5)
        tab = window.tabs["Dataset"]
        tab.grid.selectionModel().select(tab.thumb_model.index(1), tab.grid.selectionModel().SelectionFlag.Select)
        _settle(app, 0.5)
        window.grab().save(str(out / "dataset.png"))
        tab.show_class("triangle")
        tab.health.run_check()
        _settle(app, 3.0)
        window.grab().save(str(out / "dataset-health.png"))
        for index, name in ((1, "training"), (2, "classify")):
            window.tab_widget.setCurrentIndex(index)
            _settle(app, 0.5)
            window.grab().save(str(out / f"{name}.png"))
        window.close()
        print(f"Screenshots written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
