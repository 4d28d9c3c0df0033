"""``imgclf-gui`` / ``python -m imgclf_gui``: start the desktop application."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    from PySide6.QtWidgets import QApplication, QMainWindow, QTabWidget, QLabel

    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName("imgclf")
    window = QMainWindow()
    window.setWindowTitle("imgclf")
    tabs = QTabWidget()
    for name in ("Dataset", "Training", "Classify"):
        tabs.addTab(QLabel(f"{name} tab"), name)
    window.setCentralWidget(tabs)
    window.resize(1100, 720)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
