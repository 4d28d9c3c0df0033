#!/usr/bin/env bash
# Run every benchmark in turn (they time things, so never two at once) and keep the output.
#   benchmarks/run_all.sh [LOG]      default log: bench-results.txt (gitignored via /bench-*)
# Needs the .venv that `python3 dev.py test` makes; bench_accuracy also needs ../shared/datasets.
set -uo pipefail
cd "$(dirname "$0")/.."
log="${1:-bench-results.txt}"
py=.venv/bin/python
export QT_QPA_PLATFORM=offscreen TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1
: > "$log"
for bench in bench_startup bench_backbones bench_extract bench_head bench_crossval bench_accuracy \
             bench_responsiveness bench_classify_latency bench_cluster bench_map bench_assisted \
             bench_exports; do
    echo "===== $bench ($(date -u +%H:%M:%S))" | tee -a "$log"
    "$py" "benchmarks/$bench.py" 2>&1 | grep -v "XNNPACK delegate" | tee -a "$log"
    echo "(exit ${PIPESTATUS[0]})" | tee -a "$log"
done
