"""Does Qt's xcb platform plugin (the X11 window system) find its system libraries? Answered without Qt.

On a bare Debian or Ubuntu desktop the plugin lacks a few small X libraries (``libxcb-cursor0``,
``libxcb-icccm4``, ``libxcb-keysyms1``), and Qt then aborts with "Could not load the Qt platform plugin
xcb", which names no package. Entry points: ``xcb_comes_first(environ)`` (would Qt try xcb first?),
``missing_libraries(plugin)`` (the shared libraries the plugin cannot load; empty when it loads) and
``install_advice(missing)`` (what to install, for Debian/Ubuntu and Fedora). ``imgclf-gui`` asks before
it creates its QApplication; ``imgclf doctor`` reports it.
"""
from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

#: soname -> (Debian/Ubuntu package, Fedora package) for every system library Qt's xcb plugin needs
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
}

#: what a bare Debian/Ubuntu desktop lacks; README and docs/INSTALL.md name the same packages
USUALLY_MISSING = ("libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1")

_CANNOT_OPEN = re.compile(r"([^\s:]+\.so[.\d]*): cannot open shared object file")
_LDD_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$", re.MULTILINE)


def xcb_comes_first(environ: Mapping[str, str]) -> bool:
    """Whether Qt would try the xcb platform first in this environment (Linux only).

    ``QT_QPA_PLATFORM`` decides when set ("xcb", "xcb:args", "xcb;offscreen"...); otherwise Qt 6 prefers
    Wayland in a Wayland session and xcb everywhere else.
    """
    chosen = environ.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        return chosen.split(";")[0].split(":")[0].strip() == "xcb"
    return not (environ.get("WAYLAND_DISPLAY") or environ.get("XDG_SESSION_TYPE") == "wayland")


def plugin_candidates(plugins_dir: str | os.PathLike[str], environ: Mapping[str, str]) -> list[Path]:
    """The xcb plugin files Qt would try, in its order: ``QT_QPA_PLATFORM_PLUGIN_PATH``, then ``plugins_dir``."""
    dirs = [Path(environ["QT_QPA_PLATFORM_PLUGIN_PATH"])] if environ.get("QT_QPA_PLATFORM_PLUGIN_PATH") else []
    dirs += [Path(d) / "platforms" for d in environ.get("QT_PLUGIN_PATH", "").split(os.pathsep) if d]
    dirs.append(Path(plugins_dir) / "platforms")
    return [d / "libqxcb.so" for d in dirs if (d / "libqxcb.so").is_file()]


def missing_libraries(plugin: str | os.PathLike[str]) -> list[str]:
    """The shared libraries (sonames) that keep ``plugin`` from loading; empty when it loads.

    Loading the plugin is what Qt does next anyway, so the answer costs almost nothing when all is well.
    Only on failure is ``ldd`` asked for every missing library (the loader names just the first one).
    A plugin that fails for another reason (a symbol, a bad file) is not our business here: Qt reports it.
    """
    try:
        ctypes.CDLL(os.fspath(plugin))
        return []
    except OSError as exc:
        first = _CANNOT_OPEN.search(str(exc))
    if first is None:
        return []
    found = _ldd_not_found(Path(plugin))
    return found if found else [first.group(1)]


def _ldd_not_found(plugin: Path) -> list[str]:
    ldd = shutil.which("ldd")
    if ldd is None:
        return []
    try:
        out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return list(dict.fromkeys(_LDD_NOT_FOUND.findall(out)))  # ldd repeats a library per user; keep order


def install_advice(missing: list[str]) -> str:
    """Which packages provide ``missing``: an apt-get line and a dnf line, plus any library we cannot name."""
    known = [name for name in missing if name in PACKAGES]
    unknown = [name for name in missing if name not in PACKAGES]
    lines = []
    if known:
        debian = " ".join(dict.fromkeys(PACKAGES[name][0] for name in known))
        fedora = " ".join(dict.fromkeys(PACKAGES[name][1] for name in known))
        lines += [f"  Debian, Ubuntu:  sudo apt-get install {debian}",
                  f"  Fedora:          sudo dnf install {fedora}"]
    for name in unknown:
        lines.append(f"  {name}: install the package that provides it "
                     f"(Debian/Ubuntu: apt-file search {name}; Fedora: dnf provides '*/{name}')")
    return "\n".join(lines)


def problem_text(missing: list[str]) -> str:
    """The whole message for a user whose window cannot open because of ``missing``."""
    return ("the window cannot open: Qt's X11 platform plugin (xcb) needs system libraries that are not "
            f"installed: {', '.join(missing)}.\nInstall them with:\n{install_advice(missing)}")
