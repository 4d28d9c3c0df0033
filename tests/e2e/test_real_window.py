"""A first session with the installed ``imgclf-gui``, in a real X window (Xvfb, Qt's xcb platform).

The entry point runs unchanged in its own process, with no project, no settings and no cache of its own; a
scripted user (``driver_site/real_window_driver.py``) accepts the demo offer, sorts an inbox image with a key,
trains with the default backbone, classifies an image on the Classify tab, and saves a 1280x720 screenshot of
each tab. The screenshots go to ``$IMGCLF_E2E_SCREENSHOTS`` if set, else to ``build/real-window/`` in the
source folder (pytest's temporary folders are pruned by the next runs); the test prints where.

Without Xvfb the test is skipped (``sudo apt-get install xvfb``); ``.ci/run`` installs it and sets
``IMGCLF_E2E_REQUIRED=1``, which turns any reason to skip into a failure.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgclf_gui.core.backbones.spec import DEFAULT_BACKBONE

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
GUI_SCRIPT = Path(sys.executable).parent / "imgclf-gui"
SESSION_TIMEOUT_S = 1200


def _cannot_run(reason: str) -> None:
    if os.environ.get("IMGCLF_E2E_REQUIRED") == "1":
        pytest.fail(f"IMGCLF_E2E_REQUIRED=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def x_display() -> Iterator[str]:
    """A private X server (Xvfb) on a free display number, for the length of one test."""
    if not sys.platform.startswith("linux"):
        _cannot_run("the real-window test runs on Linux (Xvfb)")
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        _cannot_run("Xvfb is not installed (Debian/Ubuntu: sudo apt-get install xvfb; .ci/run installs it)")
    from imgclf_gui.core import xcb_check

    plugin = Path(__import__("PySide6").__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    missing = xcb_check.missing_libraries(plugin) if plugin.is_file() else ["Qt's xcb plugin itself"]
    if missing:
        _cannot_run(xcb_check.problem_text(missing))
    read_end, write_end = os.pipe()
    # -displayfd: Xvfb picks a free display number and writes it once it accepts connections
    server = subprocess.Popen([xvfb, "-displayfd", str(write_end), "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
                              pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 30)
        number = os.read(read_end, 64).decode().strip() if ready else ""
        if not number:
            server.kill()
            pytest.fail(f"Xvfb did not start: {server.communicate(timeout=10)[1].decode(errors='replace')[-2000:]}")
        yield f":{number}"
    finally:
        os.close(read_end)
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


@pytest.mark.slow
def test_first_session_in_a_real_x_window(tmp_path, x_display, capsys):
    out = Path(os.environ.get("IMGCLF_E2E_SCREENSHOTS") or ROOT / "build" / "real-window")
    if out.exists():
        shutil.rmtree(out)
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTEST_CURRENT_TEST", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "QT_QPA_PLATFORM_PLUGIN_PATH")}
    env.update(
        DISPLAY=x_display, QT_QPA_PLATFORM="xcb",  # a real X window, not offscreen
        PYTHONPATH=str(HERE / "driver_site"), IMGCLF_E2E_OUT=str(out),
        # a first start: no settings, no recent project, the demo lands in this home folder
        HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local" / "share"),
        IMGCLF_CONFIG_DIR=str(tmp_path / "config"),
    )  # IMGCLF_CACHE_DIR stays the test run's shared cache, so the backbone is converted once per run
    assert GUI_SCRIPT.is_file(), f"{GUI_SCRIPT} is missing: install imgclf (python3 dev.py test does)"
    result = subprocess.run([str(GUI_SCRIPT)], env=env, capture_output=True, text=True, timeout=SESSION_TIMEOUT_S)
    with capsys.disabled():
        print(f"\nreal-window screenshots: {out}")

    failure = out / "failure.json"
    assert result.returncode == 0 and not failure.exists(), (
        f"exit status {result.returncode}\n{failure.read_text() if failure.exists() else ''}\n"
        f"stderr:\n{result.stderr[-4000:]}")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["platform"] == "xcb"
    # the demo was made where the offer said, and the image sorted with "1" is in that class folder on disk
    assert Path(summary["project"]).parent == home
    sorted_ = summary["sorted"]
    assert Path(sorted_["now"]).is_file() and not Path(sorted_["image"]).exists()
    assert Path(sorted_["now"]).parent.name == sorted_["class"]
    assert sorted_["selected_next"], "after sorting, the next inbox image is selected"
    # a real model of the demo's classes, trained with the default backbone and kept in the project
    assert summary["backbone"] == DEFAULT_BACKBONE
    assert (Path(summary["training"]["model"]) / "model.json").is_file()
    assert summary["training"]["accuracy"] is not None and summary["training"]["accuracy"] >= 0.7, summary["training"]
    # the dropped image got one bar per class, best first, and a verdict naming the best
    bars = summary["classified"]["bars"]
    assert sorted(name for name, _ in bars) == sorted(summary["classes"])
    assert [s for _, s in bars] == sorted((s for _, s in bars), reverse=True)
    assert bars[0][0] in summary["classified"]["verdict"]
    assert bars[0][0] == summary["classified"]["shape"], "the demo's shapes are easy: the verdict is right"
    for name in ("dataset.png", "training.png", "classify.png"):
        assert _png_size(out / name) == (1280, 720), name
    assert (out / "welcome.png").is_file()
