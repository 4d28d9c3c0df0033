"""``imgclf doctor``: print what a bug report needs (versions, usable backbones, folders)."""
from __future__ import annotations

import argparse

from imgclf_gui.core.diagnostics import QtInfo


def register(parser: argparse.ArgumentParser) -> None:
    """Give the sub-command's parser its description and arguments; :func:`run` handles it."""
    parser.description = ("Print what a bug report needs: versions of Python, Qt, TensorFlow and the other "
                          "packages, which backbones are usable with no network (and why not), and whether the "
                          "cache and config folders are writable. Uses no network. Exits 1 when it finds a problem.")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--no-qt", action="store_true",
                        help="do not load Qt (for a machine where loading it crashes)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imgclf_gui.core.diagnostics import gather

    report = gather(qt_probe=None if args.no_qt else qt_info)
    print(report.to_json() if args.json else report.to_text())
    return 1 if report.problems else 0


def qt_info() -> QtInfo:
    """Load QtCore, then QtWidgets (which pulls libGL, fontconfig, xkbcommon...), and say what failed."""
    try:
        from PySide6 import QtCore
    except Exception as exc:  # noqa: BLE001 - a broken install raises anything from ImportError to OSError
        return QtInfo(None, False, f"Qt does not load: {exc}")
    version = QtCore.qVersion()
    try:
        from PySide6 import QtWidgets  # noqa: F401
    except Exception as exc:  # noqa: BLE001
        return QtInfo(version, False, f"Qt's GUI libraries do not load: {exc}")
    return QtInfo(version, True, xcb_missing=xcb_missing(QtCore.QLibraryInfo.path(
        QtCore.QLibraryInfo.LibraryPath.PluginsPath)))


def xcb_missing(plugins_dir: str) -> list[str] | None:
    """The system libraries Qt's X11 plugin lacks, whatever the current session (doctor may run over ssh)."""
    import os
    import sys

    from imgclf_gui.core import xcb_check

    if not sys.platform.startswith("linux"):
        return None
    plugins = xcb_check.plugin_candidates(plugins_dir, os.environ)
    if not plugins:
        return None
    missing: list[str] = []
    for plugin in plugins:  # Qt takes the first that loads
        missing = xcb_check.missing_libraries(plugin)
        if not missing:
            break
    return missing
