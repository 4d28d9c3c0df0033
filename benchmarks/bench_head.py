"""Head training time on 10,000 cached 1280-d bottlenecks, 10 classes (target: 100 epochs under 15 s).

Synthetic features shaped like EfficientNet-Lite0's (non-negative, mostly under ~6), 9,000 train /
1,000 validation. Three timings:
  fixed     100 epochs, fixed L2, no early stopping (the target's case)
  default   TrainConfig() defaults: L2 chosen among L2_CANDIDATES on validation, early stopping
  hidden    100 epochs with a 256-unit hidden layer and dropout

    .venv/bin/python benchmarks/bench_head.py [--batch-size 64]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_features(n: int = 10_000, dim: int = 1280, k: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.gamma(0.5, 1.0, (k, dim))
    y = rng.integers(0, k, n)
    x = np.maximum(centers[y] + rng.normal(0, 1.0, (n, dim)), 0).astype(np.float32)
    return x, y


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from imgclf_gui.core.training.config import TrainConfig
    from imgclf_gui.core.training.head import train_head

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=TrainConfig().batch_size)
    args = parser.parse_args()
    x, y = make_features()
    tr, va = slice(0, 9000), slice(9000, None)
    print(f"{os.cpu_count()} CPU(s); numpy {np.__version__}; batch size {args.batch_size}")
    cases = {
        "fixed": TrainConfig(epochs=100, l2=1e-4, early_stopping=False, batch_size=args.batch_size),
        "default": TrainConfig(batch_size=args.batch_size),
        "hidden": TrainConfig(epochs=100, l2=1e-4, early_stopping=False, hidden_units=256,
                              batch_size=args.batch_size),
    }
    for name, cfg in cases.items():
        epochs = []
        t = time.perf_counter()
        res = train_head(x[tr], y[tr], x[va], y[va], cfg.head_options(), on_epoch=epochs.append)
        dt = time.perf_counter() - t
        acc = float(np.mean(res.head.predict_proba(x[va]).argmax(1) == y[va]))
        print(f"{name:8s} {dt:6.2f} s  final-run epochs {len(epochs):3d}  L2 {res.l2:g}  val acc {acc:.3f}"
              + ("  (includes the L2 search)" if res.l2_search else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
