"""The desktop GUI (Qt). Importing it applies the PySide6 work-arounds in :mod:`._pyside_fixes`."""
from imgclf_gui.gui import _pyside_fixes  # noqa: F401
