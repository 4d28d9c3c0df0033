"""The About box text: versions of everything a bug report needs (TensorFlow only if already loaded)."""
from __future__ import annotations

import platform
from importlib import metadata

from imgclf_gui import __version__


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def about_text() -> str:
    """Rich text for QMessageBox.about. Reads package metadata only: importing TensorFlow here would
    cost seconds, so its installed version is read from its metadata."""
    import PySide6

    rows = [
        ("imgclf", __version__),
        ("Python", platform.python_version()),
        ("Qt / PySide6", PySide6.__version__),
        ("TensorFlow", _version("tensorflow-cpu") if _version("tensorflow-cpu") != "not installed"
         else _version("tensorflow")),
        ("LiteRT", _version("ai-edge-litert")),
        ("NumPy", _version("numpy")),
        ("Pillow", _version("pillow")),
        ("System", f"{platform.system()} {platform.release()} ({platform.machine()})"),
    ]
    table = "".join(f"<tr><td>{k}</td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in rows)
    return (
        "<h3>imgclf</h3><p>Teach your computer to recognise your own kinds of images — "
        "sort, retrain and classify, entirely on this computer.</p>"
        f"<table>{table}</table><p>Licence: Apache-2.0</p>"
    )
