"""A Linux desktop that lacks the X11 libraries Qt needs gets told which packages to install, not Qt's abort.

The missing library is real: a copy of Qt's xcb plugin whose helper library asks for a library version that
exists nowhere (``libxcb-icccm.so.9``), so the system loader refuses it exactly as on a bare Debian desktop.
Every probe runs in a fresh process, because a library already loaded in this one would be reused.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from imgclf_gui.core import xcb_check

REAL, FAKE = b"libxcb-icccm.so.4", b"libxcb-icccm.so.9"


@pytest.fixture
def broken_plugin(tmp_path) -> Path:
    """A Qt tree (symlinks to the installed one) whose xcb helper library needs a library no system has."""
    import PySide6

    if not sys.platform.startswith("linux"):
        pytest.skip("Qt's xcb plugin is Linux only")
    qt = Path(PySide6.__file__).parent / "Qt"
    helper = qt / "lib" / "libQt6XcbQpa.so.6"
    if not (qt / "plugins" / "platforms" / "libqxcb.so").is_file() or not helper.is_file():
        pytest.skip("this PySide6 has no xcb plugin")
    data = helper.read_bytes()
    assert data.count(REAL) == 1, "the xcb helper library should name libxcb-icccm.so.4 once"
    lib = tmp_path / "Qt" / "lib"
    lib.mkdir(parents=True)
    for entry in (qt / "lib").iterdir():
        if entry.name != helper.name:
            (lib / entry.name).symlink_to(entry)
    (lib / helper.name).write_bytes(data.replace(REAL, FAKE))
    platforms = tmp_path / "Qt" / "plugins" / "platforms"
    platforms.mkdir(parents=True)
    # a copy, not a link: the loader finds the helper through the plugin's own "$ORIGIN/../../lib"
    (platforms / "libqxcb.so").write_bytes((qt / "plugins" / "platforms" / "libqxcb.so").read_bytes())
    return platforms / "libqxcb.so"


_WITH_PLUGIN = """
import sys
from pathlib import Path
from imgclf_gui.core import xcb_check
xcb_check.plugin_candidates = lambda plugins_dir, environ: [Path(sys.argv[1])]
{body}
"""


def _run(body: str, plugin: Path, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    full_env.update(env)
    return subprocess.run([sys.executable, "-c", _WITH_PLUGIN.format(body=body), str(plugin)], env=full_env,
                          capture_output=True, text=True, timeout=120)


def test_gui_names_the_missing_library_instead_of_qt_aborting(broken_plugin):
    # DISPLAY names no server: had the probe let Qt go on, Qt would abort (SIGABRT) and the test fail
    result = _run("from imgclf_gui.__main__ import main\nsys.exit(main(['--no-restore']))", broken_plugin,
                  QT_QPA_PLATFORM="xcb", DISPLAY=":4321")
    assert result.returncode == 1, result.stderr
    assert "imgclf-gui: the window cannot open" in result.stderr
    assert "libxcb-icccm.so.9" in result.stderr
    assert "apt-file search libxcb-icccm.so.9" in result.stderr and "dnf provides" in result.stderr
    assert "no Qt platform plugin could be initialized" not in result.stderr


def test_doctor_reports_the_missing_library_and_what_to_install(broken_plugin):
    result = _run("from imgclf_gui.cli import main\nsys.exit(main(['doctor', '--json']))", broken_plugin)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert "libxcb-icccm.so.9" in report["qt"]["xcb_missing"]
    assert any("libxcb-icccm.so.9" in p and "the command line still works" in p for p in report["problems"])


def test_gui_without_a_display_says_so(broken_plugin):
    result = _run("from imgclf_gui.__main__ import main\nsys.exit(main(['--no-restore']))", broken_plugin,
                  QT_QPA_PLATFORM="xcb", DISPLAY="")
    assert result.returncode == 1
    assert "DISPLAY is not set" in result.stderr and "imgclf --help" in result.stderr


def test_packages_named_for_what_a_bare_debian_desktop_lacks():
    advice = xcb_check.install_advice(list(xcb_check.USUALLY_MISSING))
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in advice
    assert "sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms" in advice


@pytest.mark.parametrize("environ,first", [
    ({}, True),                                       # X11 desktop, nothing chosen: Qt takes xcb
    ({"QT_QPA_PLATFORM": "xcb;offscreen"}, True),
    ({"QT_QPA_PLATFORM": "offscreen"}, False),        # the tests, the smoke test
    ({"WAYLAND_DISPLAY": "wayland-0"}, False),        # a Wayland session: Qt tries Wayland first
    ({"XDG_SESSION_TYPE": "wayland"}, False),
    ({"XDG_SESSION_TYPE": "wayland", "QT_QPA_PLATFORM": "xcb"}, True),
])
def test_probe_runs_only_where_qt_would_try_xcb_first(environ, first):
    assert xcb_check.xcb_comes_first(environ) is first
