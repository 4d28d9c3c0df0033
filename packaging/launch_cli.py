"""Entry script of the built ``imgclf`` executable (PyInstaller runs this, not the console script)."""
import multiprocessing
import sys

from imgclf_gui.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen child process must not re-run the command line
    sys.exit(main())
