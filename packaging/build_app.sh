#!/usr/bin/env bash
# Build the one-folder application dist/imgclf/ (imgclf-gui and imgclf executables, TensorFlow included)
# with PyInstaller, then print how long it took and how big the folder is.
#
#   packaging/build_app.sh            uses .venv (python3 dev.py test creates it); installs PyInstaller there
#   PYTHON=/path/to/python packaging/build_app.sh    build from another environment with imgclf installed
#
# The build is CPU-heavy and runs at low priority (nice) so a shared machine stays usable.
# Output: dist/imgclf/ (run packaging/smoke_test.sh on it); intermediate files in build/pyinstaller/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"

if [ ! -x "$PYTHON" ]; then
    echo "No Python at $PYTHON: run 'python3 dev.py test' first (it creates .venv), or set PYTHON." >&2
    exit 1
fi
if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
    echo "Installing PyInstaller into $("$PYTHON" -c 'import sys; print(sys.prefix)') ..."
    "$PYTHON" -m pip install -q "pyinstaller>=6.10"  # the same as the [packaging] extra
fi
"$PYTHON" -c "import imgclf_gui" || { echo "imgclf is not installed in $PYTHON's environment" >&2; exit 1; }

start=$(date +%s)
TF_CPP_MIN_LOG_LEVEL=2 nice -n 15 "$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" "$ROOT/packaging/imgclf.spec"
seconds=$(( $(date +%s) - start ))

# Lets the built folder put itself in the application menu (see the script's header).
install -m 755 "$ROOT/packaging/install_desktop_entry.sh" "$ROOT/dist/imgclf/install_desktop_entry.sh"

size=$(du -sh "$ROOT/dist/imgclf" | cut -f1)
files=$(find "$ROOT/dist/imgclf" -type f | wc -l)
printf 'Built %s in %dm%02ds: %s on disk, %s files.\n' "$ROOT/dist/imgclf" $((seconds / 60)) $((seconds % 60)) \
    "$size" "$files"
echo "Next: packaging/smoke_test.sh (starts it offscreen, trains the demo project, classifies one image)."
