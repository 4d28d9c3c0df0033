"""Time from process start to the first painted main window, against a bare QMainWindow (ratio).

``python benchmarks/bench_startup.py [RUNS]``: each run is a fresh subprocess (offscreen Qt) that prints the
seconds between interpreter start and the end of the window's first paint, and whether TensorFlow was
imported. Prints medians and the ratio; a TensorFlow import is reported as a failure.
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
if kind == "app":
    import imgclf_gui.gui  # the work-around module, as __main__ does
from PySide6.QtCore import QObject, QEvent, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
if kind == "app":
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
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", IMGCLF_CONFIG_DIR=tmp, IMGCLF_CACHE_DIR=tmp,
                   XDG_CONFIG_HOME=tmp)
        results = {kind: [run_once(kind, env) for _ in range(runs)] for kind in ("bare", "app")}
    bare = statistics.median(r["seconds"] for r in results["bare"])
    app = statistics.median(r["seconds"] for r in results["app"])
    tf = any(r["tensorflow"] for r in results["app"])
    print(f"first painted window, median of {runs} runs (process start -> first paint):")
    print(f"  bare QMainWindow : {bare * 1000:7.0f} ms")
    print(f"  imgclf MainWindow: {app * 1000:7.0f} ms   (ratio {app / bare:.2f}x)")
    print(f"  tensorflow imported: {'YES - FAILURE' if tf else 'no'}")
    return 1 if tf else 0


if __name__ == "__main__":
    sys.exit(main())
