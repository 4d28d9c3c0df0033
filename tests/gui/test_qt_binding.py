"""The installed Qt binding must not leak references to None/True: PySide6 6.12.0 on Python 3.11 does,
and the app then dies with "none_dealloc" after a few minutes of use."""
import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    fired = Signal()


def test_void_calls_and_emits_keep_none_and_true_alive():
    emitter = _Emitter()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(500):
        emitter.setObjectName("probe")
        emitter.fired.emit()
    # a healthy binding loses nothing; the broken one loses one reference per call
    assert none_before - sys.getrefcount(None) < 50
    assert true_before - sys.getrefcount(True) < 50
