"""The core must import and work with no Qt: the CLI and headless users depend on it."""
import subprocess
import sys


def test_core_modules_import_without_qt():
    code = (
        "import sys, pkgutil, importlib, imgclf_gui.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'imgclf_gui.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph'))\n"
        "assert not bad, bad\n"
        "assert 'tensorflow' not in sys.modules, 'TensorFlow must be imported lazily'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr

