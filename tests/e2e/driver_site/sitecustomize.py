"""Loaded by Python at start-up when this folder is on PYTHONPATH (tests/e2e/test_real_window.py puts it there).

It lets the real ``imgclf-gui`` entry point run unchanged while a scripted user drives its window: only a
process started with ``IMGCLF_E2E_OUT`` set, whose program is ``imgclf-gui``, gets the driver.
"""
import os
import sys

if os.environ.get("IMGCLF_E2E_OUT") and os.path.basename(sys.argv[0] if sys.argv else "") == "imgclf-gui":
    import real_window_driver

    real_window_driver.install(os.environ["IMGCLF_E2E_OUT"])
