#!/usr/bin/env bash
# Put imgclf in the current user's application menu: the .desktop entry, the icon in every hicolor size
# and the AppStream metainfo, under $XDG_DATA_HOME (default ~/.local/share). No root needed.
#
#   packaging/install_desktop_entry.sh                 install (from a checkout or a built folder)
#   packaging/install_desktop_entry.sh --exec CMD      use CMD to start the app (default: found below)
#   packaging/install_desktop_entry.sh --uninstall     remove what install put there
#
# Works from a source checkout (icons from imgclf_gui/resources/icons, entry from resources/) and from the
# PyInstaller folder, where build_app.sh copies this script next to the imgclf-gui executable.
set -euo pipefail

APP_ID=io.github.imgclf.imgclf
SIZES="16 24 32 48 64 128 256 512"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"

usage() { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

action=install
exec_cmd=""
while [ $# -gt 0 ]; do
    case "$1" in
        --uninstall) action=uninstall ;;
        --exec) exec_cmd="${2:?--exec needs a command}"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

desktop_file="$DATA_HOME/applications/$APP_ID.desktop"
metainfo_file="$DATA_HOME/metainfo/$APP_ID.metainfo.xml"
icon_file() { echo "$DATA_HOME/icons/hicolor/${1}x${1}/apps/$APP_ID.png"; }

refresh_caches() {
    # Menus notice new entries by themselves on most desktops; these make it immediate where available.
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$DATA_HOME/applications" 2>/dev/null || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$DATA_HOME/icons/hicolor/index.theme" ]; then
        gtk-update-icon-cache -q -t -f "$DATA_HOME/icons/hicolor" 2>/dev/null || true
    fi
}

if [ "$action" = uninstall ]; then
    rm -f "$desktop_file" "$metainfo_file"
    for size in $SIZES; do rm -f "$(icon_file "$size")"; done
    refresh_caches
    echo "Removed the imgclf menu entry, icons and metainfo from $DATA_HOME"
    exit 0
fi

# Where the files to install are: a checkout (this script in packaging/) or a built folder (next to it).
if [ -f "$HERE/../resources/$APP_ID.desktop" ]; then
    entry_dir="$HERE/../resources"
    icon_dir="$HERE/../imgclf_gui/resources/icons"
elif [ -f "$HERE/_internal/desktop/$APP_ID.desktop" ]; then
    entry_dir="$HERE/_internal/desktop"
    icon_dir="$HERE/_internal/imgclf_gui/resources/icons"
else
    echo "Cannot find $APP_ID.desktop next to $HERE; run this from a checkout or a built imgclf folder." >&2
    exit 1
fi

# The menu runs Exec without the user's shell PATH additions, so write an absolute path.
if [ -z "$exec_cmd" ]; then
    if [ -x "$HERE/imgclf-gui" ]; then
        exec_cmd="$HERE/imgclf-gui"
    elif [ -x "$HERE/../.venv/bin/imgclf-gui" ]; then
        exec_cmd="$(cd "$HERE/../.venv/bin" && pwd)/imgclf-gui"
    elif command -v imgclf-gui >/dev/null 2>&1; then
        exec_cmd="$(command -v imgclf-gui)"
    else
        echo "Cannot find imgclf-gui: install imgclf first (see docs/INSTALL.md) or pass --exec /path/to/imgclf-gui" >&2
        exit 1
    fi
fi
case "$exec_cmd" in
    *[!A-Za-z0-9/._+-]*) # the desktop entry spec: quote, and escape " ` $ \ inside the quotes
        quoted="\"$(printf '%s' "$exec_cmd" | sed -e 's/[\\"`$]/\\\\&/g')\"" ;;
    *) quoted="$exec_cmd" ;;
esac

mkdir -p "$DATA_HOME/applications" "$DATA_HOME/metainfo"
tmp="$(mktemp "$DATA_HOME/applications/.$APP_ID.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
# sed's replacement treats & and \ specially: escape them in the command.
sed_exec="$(printf '%s' "$quoted" | sed -e 's/[\\&|]/\\&/g')"
sed -e "s|^Exec=.*|Exec=$sed_exec|" "$entry_dir/$APP_ID.desktop" > "$tmp"
if [ "$quoted" = "$exec_cmd" ]; then
    echo "TryExec=$exec_cmd" >> "$tmp"  # hides the entry if the app is removed later
fi
chmod 644 "$tmp"
mv "$tmp" "$desktop_file"
install -m 644 "$entry_dir/$APP_ID.metainfo.xml" "$metainfo_file"
for size in $SIZES; do
    install -D -m 644 "$icon_dir/imgclf-$size.png" "$(icon_file "$size")"
done

if command -v desktop-file-validate >/dev/null 2>&1; then
    desktop-file-validate "$desktop_file" || echo "warning: desktop-file-validate found problems (above)" >&2
fi
refresh_caches
echo "Installed the imgclf menu entry (starts $exec_cmd), icons and metainfo into $DATA_HOME"
