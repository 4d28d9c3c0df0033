#!/usr/bin/env bash
# Smoke test of the built folder (packaging/build_app.sh makes it): with no network, no screen and a fresh
# home folder, the built programs start, make the demo project, train on it, classify one image and exit 0.
#
#   packaging/smoke_test.sh [dist/imgclf]
#
# Steps: imgclf --version; imgclf doctor (every offline backbone usable); imgclf demo; imgclf-gui starts
# offscreen; imgclf imagenet (pretrained network + LiteRT inside the folder);
# imgclf train (2 epochs); imgclf classify one image. Uses `unshare -rn` to cut the network when the
# kernel allows it, else says so and runs with whatever network there is.
set -euo pipefail
APP="$(cd "${1:-$(dirname "$0")/../dist/imgclf}" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# A fresh user: nothing cached, nothing configured, Qt without a display.
export HOME="$WORK/home" IMGCLF_CACHE_DIR="$WORK/cache" IMGCLF_CONFIG_DIR="$WORK/config"
export XDG_CONFIG_HOME="$WORK/home/.config" XDG_CACHE_HOME="$WORK/home/.cache" XDG_DATA_HOME="$WORK/home/.local/share"
export QT_QPA_PLATFORM=offscreen TF_CPP_MIN_LOG_LEVEL=2
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY DISPLAY WAYLAND_DISPLAY
mkdir -p "$HOME"

offline=()
if unshare -rn true 2>/dev/null; then
    offline=(unshare -rn)
    echo "== network: cut (unshare -rn)"
else
    echo "== network: could not cut it here (no user namespaces); running without that guarantee"
fi

step() {
    local title="$1"; shift
    echo "== $title: $*"
    local start=$SECONDS
    if ! "${offline[@]}" "$@" > "$WORK/out.txt" 2>&1; then
        cat "$WORK/out.txt"
        echo "FAILED: $title (after $((SECONDS - start)) s)" >&2
        exit 1
    fi
    tail -n 15 "$WORK/out.txt"
    echo "   ok in $((SECONDS - start)) s"
}

total=$SECONDS
step "version" "$APP/imgclf" --version
grep -qx "imgclf [0-9][0-9.a-z]*" "$WORK/out.txt"
step "doctor" "$APP/imgclf" doctor
grep -q "(built application)" "$WORK/out.txt"
step "demo project" "$APP/imgclf" demo "$WORK/demo" --per-class 12
image="$(find "$WORK/demo/unsorted" -type f | sort | head -n 1)"
[ -n "$image" ] || { echo "FAILED: the demo project has no unsorted image" >&2; exit 1; }
# --quit-after-show opens the project in the shown window (no dialog can block), then quits
step "window opens the demo project" "$APP/imgclf-gui" "$WORK/demo" --quit-after-show
grep -q "opened .* with classes circle, plus, square, triangle" "$WORK/out.txt"
step "pretrained network" "$APP/imgclf" imagenet "$image" --top 3
step "train" "$APP/imgclf" train "$WORK/demo" --epochs 2 --out "$WORK/model"
step "classify one image" "$APP/imgclf" classify "$WORK/model" "$image"
echo "Smoke test passed in $((SECONDS - total)) s: $APP"
