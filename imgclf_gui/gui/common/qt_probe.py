"""The Qt part of ``imgclf doctor``: which Qt runtime is installed and whether its GUI libraries load."""
from __future__ import annotations

from imgclf_gui.core.support.diagnostics import QtInfo


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
    return QtInfo(version, True)
