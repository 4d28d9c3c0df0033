"""Entry script of the built ``imgclf-gui`` executable (PyInstaller runs this, not the console script)."""
import sys

from imgclf_gui.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
