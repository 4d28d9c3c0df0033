"""Work-around for the installed PySide6, applied once when :mod:`imgclf_gui.gui` is imported.

PySide6/shiboken6 6.12.0 running on Python 3.11 returns ``None`` (every void method: ``setText``,
``processEvents``, ``QTimer.stop``...), invalid ``QVariant`` values and the ``True`` of ``Signal.emit`` without
taking a reference. It was built for interpreters where those objects are immortal (Python >= 3.12), so
on 3.11 each call steals one reference and, after a few thousand calls, Python aborts with
"none_dealloc: deallocating None" or "bool_dealloc". We detect the theft with a probe and, only then, do
what Python 3.12 does: give ``None``, ``True`` and ``False`` a reference count so large that no number of
stolen references can bring it to zero. Nothing else changes.
"""
from __future__ import annotations

import ctypes
import sys

_PROBES = 16
_IMMORTAL_BOOST = 1 << 40  # ~1e12 stolen references before trouble: centuries of calls
applied = False


def _void_call_steals_none() -> bool:
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(_PROBES):
        probe.setObjectName("probe")
    return before - sys.getrefcount(None) >= _PROBES


def _boost(obj: object) -> None:
    # ob_refcnt is the first field of every object in CPython 3.11 (a Py_ssize_t at id(obj)).
    ctypes.c_ssize_t.from_address(id(obj)).value += _IMMORTAL_BOOST


def apply() -> bool:
    """Make None/True/False effectively immortal if this PySide6 steals their references."""
    global applied
    if applied or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return applied
    if not _void_call_steals_none():
        return False
    for obj in (None, True, False, Ellipsis, NotImplemented):
        _boost(obj)
    applied = True
    return True


apply()
