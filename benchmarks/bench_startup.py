"""Time from process start to the first painted main window, against a bare QMainWindow (ratio).

``python benchmarks/bench_startup.py [RUNS] [--xcb]``: each run is a fresh subprocess (offscreen Qt; with
``--xcb`` the X11 platform on the current DISPLAY, e.g. Xvfb) that prints the seconds between interpreter start
and the end of the window's first paint, and whether TensorFlow was imported. Prints medians and the ratio; a
TensorFlow import is reported as a failure. The app starts as ``imgclf-gui`` does, with the platform probe
(which loads Qt's xcb plugin before the QApplication); "app, no probe" leaves it out, so the probe's cost shows.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile

_CHILD = r"""
import os, sys, time, json
T0 = float(os.environ["BENCH_T0"])
kind = sys.argv[1]
if kind.startswith("app"):
    import imgclf_gui.gui  # the work-around module, as __main__ does
if kind == "app":
    from imgclf_gui.__main__ import platform_problem
    assert platform_problem(os.environ) is None, platform_problem(os.environ)
from PySide6.QtCore import QObject, QEvent, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
if kind.startswith("app"):
    from imgclf_gui.gui.shell.main_window import MainWindow
    window = MainWindow()
else:
    window = QMainWindow()
    window.resize(1180, 760)
class PaintWatcher(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and not hasattr(self, "t"):
            self.t = time.time()
            QTimer.singleShot(0, app.quit)
        return False
watcher = PaintWatcher()
window.installEventFilter(watcher)
window.show()
app.exec()
print(json.dumps({"seconds": watcher.t - T0, "tensorflow": "tensorflow" in sys.modules}))
"""


def run_once(kind: str, env: dict[str, str]) -> dict:
    import time

    env = dict(env, BENCH_T0=repr(time.time()))
    out = subprocess.run([sys.executable, "-c", _CHILD, kind], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    args = [a for a in sys.argv[1:] if a != "--xcb"]
    runs = int(args[0]) if args else 7
    platform = "xcb" if "--xcb" in sys.argv else "offscreen"
    if platform == "xcb" and not os.environ.get("DISPLAY"):
        print("--xcb needs an X server: set DISPLAY (e.g. Xvfb :99 & DISPLAY=:99)", file=sys.stderr)
        return 2
    kinds = ("bare", "app, no probe", "app")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, QT_QPA_PLATFORM=platform, IMGCLF_CONFIG_DIR=tmp, IMGCLF_CACHE_DIR=tmp,
                   XDG_CONFIG_HOME=tmp)
        results: dict[str, list[dict]] = {kind: [] for kind in kinds}
        for _ in range(runs):  # interleaved, so a busy spell of the machine hits every kind alike
            for kind in kinds:
                results[kind].append(run_once(kind, env))
    medians = {kind: statistics.median(r["seconds"] for r in results[kind]) for kind in kinds}
    bare = medians["bare"]
    tf = any(r["tensorflow"] for kind in kinds[1:] for r in results[kind])
    print(f"first painted window ({platform}), median of {runs} runs (process start -> first paint):")
    print(f"  bare QMainWindow              : {bare * 1000:7.0f} ms")
    for kind, label in (("app, no probe", "imgclf MainWindow, no probe"), ("app", "imgclf MainWindow (as started)")):
        print(f"  {label:<30}: {medians[kind] * 1000:7.0f} ms   (ratio {medians[kind] / bare:.2f}x)")
    print(f"  tensorflow imported: {'YES - FAILURE' if tf else 'no'}")
    return 1 if tf else 0


if __name__ == "__main__":
    sys.exit(main())
