"""``imgclf-gui`` / ``python -m imgclf_gui [PROJECT]``: start the desktop application.

Opens PROJECT, else the last project, else offers the demo. Nothing heavy (TensorFlow) is imported here.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imgclf-gui", description="imgclf desktop application")
    parser.add_argument("project", nargs="?", help="project folder to open")
    parser.add_argument("--demo", metavar="DIR",
                        help="create the demo project in DIR (if empty) and open it, without asking")
    parser.add_argument("--no-restore", action="store_true", help="do not reopen the last project")
    # for benchmarks and smoke tests: show the window, open PROJECT if given (exit 1 if it cannot), quit
    parser.add_argument("--quit-after-show", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    from imgclf_gui.cli import quiet_native_logs

    quiet_native_logs()
    problem = platform_problem(os.environ)
    if problem:
        # Qt would abort here with "could not load the Qt platform plugin", naming no package.
        print(f"imgclf-gui: {problem}", file=sys.stderr)
        return 1
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName("imgclf")
    app.setApplicationName("imgclf")
    app.setApplicationDisplayName("imgclf")
    app.setDesktopFileName("io.github.imgclf.imgclf")

    from imgclf_gui.gui.shell.errors import ErrorHandler, setup_logging, show_error_dialog

    setup_logging()
    interactive = "PYTEST_CURRENT_TEST" not in os.environ and not args.quit_after_show
    ErrorHandler(show=show_error_dialog if interactive else None).install()
    try:
        from imgclf_gui.core.support.resources import app_icon_paths

        icon = QIcon()
        for path in app_icon_paths():
            icon.addFile(str(path))
        app.setWindowIcon(icon)
    except Exception:  # noqa: BLE001 - an icon is never worth failing the start
        pass

    # Python's cycle collector runs on whichever thread happens to allocate; a QObject freed by it on a
    # worker thread crashes Qt. Collection moves to a timer of the GUI thread instead.
    from imgclf_gui.gui.common.gc_guard import GuiThreadGarbageCollector

    collector = GuiThreadGarbageCollector(parent=app)  # noqa: F841 - lives as long as the app
    from imgclf_gui.gui.shell.main_window import MainWindow

    window = MainWindow()
    window.show()
    if args.quit_after_show:
        return _show_and_quit(app, window, args.project)
    QTimer.singleShot(0, lambda: start_project(window, args, interactive))
    return app.exec()


def platform_problem(environ: Mapping[str, str]) -> str | None:
    """Why Qt cannot open a window here, in words, or None; asked before Qt would abort over it (Linux, xcb).

    Loads the xcb plugin the way Qt is about to, so it costs next to nothing when all is well.
    """
    if not sys.platform.startswith("linux"):
        return None
    from imgclf_gui.core import xcb_check

    if not xcb_check.xcb_comes_first(environ):
        return None
    if not environ.get("DISPLAY"):
        return ("there is no screen to open the window on: DISPLAY is not set, so this is not a desktop "
                "session. Start imgclf-gui on a desktop, or use the command line (imgclf --help).")
    from PySide6.QtCore import QLibraryInfo

    plugins = QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)
    missing: list[str] = []
    for plugin in xcb_check.plugin_candidates(plugins, environ):  # Qt takes the first that loads
        missing = xcb_check.missing_libraries(plugin)
        if not missing:
            return None
    return xcb_check.problem_text(missing) if missing else None


def _show_and_quit(app, window, project: str | None) -> int:
    """Non-interactive start for benchmarks and smoke tests: no dialog can block, errors go to stderr."""
    from PySide6.QtCore import QTimer

    from imgclf_gui.core.project.manifest import ProjectError

    summary = "window shown"
    if project:
        try:
            window.project.open(project)
        except (ProjectError, OSError) as exc:
            print(f"imgclf-gui: cannot open {project}: {exc}", file=sys.stderr)
            return 1
        summary = f"opened {window.project.root} with classes {', '.join(window.project.class_names())}"
    QTimer.singleShot(0, app.quit)
    app.exec()
    print(summary)
    return 0


def start_project(window, args: argparse.Namespace, interactive: bool) -> None:
    """Open the given project, else the last one, else the demo (asked only when interactive)."""
    if args.demo:
        from imgclf_gui.gui.shell.start_dialogs import create_demo

        create_demo(window, Path(args.demo))
        return
    if args.project:
        window.open_project(args.project, create=False)
        return
    recent = [p for p in window.recent_projects() if Path(p).is_dir()]
    if recent and not args.no_restore:
        window.open_project(recent[0])
    elif interactive and window.settings.offer_demo:
        from imgclf_gui.gui.shell.start_dialogs import offer_start

        offer_start(window)


if __name__ == "__main__":
    sys.exit(main())
