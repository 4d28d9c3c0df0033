"""What the app offers when no project is open: the demo project or a folder of one's own."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QMessageBox

if TYPE_CHECKING:
    from imgclf_gui.gui.shell.main_window import MainWindow


def default_demo_dir() -> Path:
    """A fresh folder for the demo next to the user's documents (``~/imgclf-demo``, ``-2``...)."""
    base = Path.home() / "imgclf-demo"
    candidate, n = base, 2
    while candidate.exists() and any(candidate.iterdir()):
        candidate, n = Path(f"{base}-{n}"), n + 1
    return candidate


def create_demo(window: MainWindow, folder: Path, *, on_ready=None) -> None:
    """Draw the demo project in the background, then open it."""
    from imgclf_gui.core.project.demo_project import make_demo_project

    def work(state, folder: Path) -> Path:
        return make_demo_project(folder, on_progress=state.progress_callback, should_stop=state.stop_callback)

    def done(root: Path) -> None:
        if window.open_project(root):
            window.statusBar().showMessage(
                f"Demo project created in {root}. Sort the images in “unsorted”, then train.", 10000)
        if on_ready is not None:
            on_ready(root)

    window.statusBar().showMessage(f"Drawing the demo project in {folder}…")
    window.tasks.start(
        work, folder, on_done=done,
        on_progress=lambda d, t: window.statusBar().showMessage(f"Drawing the demo project: {d} of {t}"),
        on_error=lambda f: window.report_failure("Could not create the demo project", f))


def create_demo_interactively(window: MainWindow) -> None:
    folder = QFileDialog.getExistingDirectory(window, "Choose an empty folder for the demo project",
                                              str(Path.home()))
    if folder:
        create_demo(window, Path(folder))


def offer_start(window: MainWindow) -> None:
    """First start with no project: offer the demo or opening a folder."""
    box = QMessageBox(window)
    box.setWindowTitle("Welcome to imgclf")
    box.setIcon(QMessageBox.Icon.Information)
    box.setText("<b>No project is open.</b>")
    box.setInformativeText(
        "A project is a folder with one sub-folder per kind of image (a <i>class</i>).<br><br>"
        f"Try the demo — about 240 drawn shapes in four classes, made in {default_demo_dir()} — "
        "or open a folder of your own.")
    demo = box.addButton("Create Demo Project", QMessageBox.ButtonRole.AcceptRole)
    open_ = box.addButton("Open Folder…", QMessageBox.ButtonRole.ActionRole)
    box.addButton("Not Now", QMessageBox.ButtonRole.RejectRole)
    box.exec()
    if box.clickedButton() is demo:
        create_demo(window, default_demo_dir())
    elif box.clickedButton() is open_:
        window.open_project_dialog()


__all__ = ["create_demo", "offer_start", "default_demo_dir"]
