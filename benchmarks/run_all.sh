#!/usr/bin/env bash
# Run every benchmark in turn (they time things, so never two at once) and keep the output.
#   benchmarks/run_all.sh [LOG]      default log: bench-results.txt (gitignored via /bench-*)
# Needs the .venv that `python3 dev.py test` makes; bench_accuracy and bench_mislabels need labelled sets,
# made once under bench-data/sets/ by the development machine's ../shared/datasets scripts (skipped without).
set -uo pipefail
cd "$(dirname "$0")/.."
log="${1:-bench-results.txt}"
py=.venv/bin/python
export QT_QPA_PLATFORM=offscreen TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1
: > "$log"
sets=bench-data/sets shared=../shared/datasets
labelled=()
if [ -d "$shared" ]; then
    export PATH="$PWD/.venv/bin:$PATH"  # the scripts need numpy, Pillow, scikit-learn, scikit-image
    [ -d "$sets/fashion300" ] || bash "$shared/get_fashion_mnist.sh" "$sets/fashion300" 300
    [ -d "$sets/digits" ] || "$py" "$shared/make_datasets.py" sklearn-digits "$sets/digits"
    [ -d "$sets/faces" ] || "$py" "$shared/make_datasets.py" skimage-lfw "$sets/faces"
    labelled=("$sets/fashion300" "$sets/digits" "$sets/faces" --demo)
fi
run() {
    echo "===== $* ($(date -u +%H:%M:%S))" | tee -a "$log"
    "$py" "benchmarks/$1.py" "${@:2}" 2>&1 | grep -v "XNNPACK delegate" | tee -a "$log"
    echo "(exit ${PIPESTATUS[0]})" | tee -a "$log"
}
for bench in bench_startup bench_backbones bench_backbone_cost bench_extract bench_head bench_crossval; do
    run "$bench"
done
if ((${#labelled[@]})); then
    run bench_accuracy "${labelled[@]}" --backbone efficientnet-lite0+efficientnet-lite2 --backbone efficientnet-lite0
    run bench_mislabels "${labelled[@]}"
else
    echo "===== bench_accuracy, bench_mislabels: skipped ($shared is not here to make the labelled sets)" | tee -a "$log"
fi
for bench in bench_responsiveness bench_classify_latency bench_cluster bench_map bench_assisted bench_exports; do
    run "$bench"
done
