"""The core works with no Qt and imports TensorFlow (and Dask) only when it is needed.

That no core module imports Qt is an import contract (``lint-imports``), and ``python3 dev.py test`` runs
every core test a second time with Qt made unimportable (``tests/qt_blocker.py``).
"""
import subprocess
import sys


def test_core_modules_import_without_tensorflow():
    """The window opens at once and ``imgclf --help`` is instant because TensorFlow loads lazily."""
    code = (
        "import sys, pkgutil, importlib, imgclf_gui.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'imgclf_gui.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "heavy = sorted(n for n in ('tensorflow', 'keras', 'ai_edge_litert', 'dask', 'distributed')\n"
        "               if n in sys.modules)\n"
        "assert not heavy, f'imported at import time: {heavy}'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr

