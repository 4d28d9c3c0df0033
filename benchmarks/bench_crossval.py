"""Cross-validated training time on cached features (targets: 1,000 images under 5 s; 20,000 x 1280 under 60 s
on 2 cores), next to the old single-split training of the same images in the same run.

  crossval   ``cross_validate`` with the defaults: 5 folds, each choosing L2 and its epoch on its own inner
             validation, then the final model on every image (what ``imgclf train`` does now)
  old split  ``train_head`` on the 80% training part with the 10% validation part choosing L2 (what it did)

Features: EfficientNet-Lite0 bottlenecks of Fashion-MNIST (``bench-data/fashion2000``, 10 classes x 2,000;
made with ../shared/datasets/get_fashion_mnist.sh when that is there, extracted once (~8 min on 2 busy
cores) and cached by bench_accuracy.py's ``features_for``), else synthetic 1280-d features (say so in any
figure you quote: they converge faster than real ones).
Wall-clock and CPU seconds: on a shared machine the CPU time is the steadier figure (the wall clock grows
with the load average, printed first). It also prints the out-of-fold accuracy with its interval, and the
accuracy of both final models on images neither saw (a third as many again, when the set has them: not
for 20,000 of Fashion-MNIST's).

    .venv/bin/python benchmarks/bench_crossval.py [--sizes 1000 20000] [--folds 5]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FASHION = ROOT / "bench-data" / "fashion2000"


def load_features(backbone: str) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """(features, class indices, content hashes, description)."""
    shared = ROOT.parent / "shared" / "datasets" / "get_fashion_mnist.sh"
    if not FASHION.is_dir() and shared.is_file():
        import subprocess

        print(f"making {FASHION} with {shared} ...", flush=True)
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        subprocess.run(["bash", str(shared), str(FASHION), "2000"], check=True, env=env)
    if FASHION.is_dir():
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from bench_accuracy import features_for

        samples, hashes, x = features_for(FASHION, backbone)
        classes = sorted({s.label for s in samples})
        y = np.array([classes.index(s.label) for s in samples])
        return x, y, hashes, f"{backbone} features of Fashion-MNIST ({len(y)} images, {len(classes)} classes)"
    rng = np.random.default_rng(0)
    n, dim, k = 26_667, 1280, 10
    centres = rng.gamma(0.5, 1.0, (k, dim))
    y = rng.integers(0, k, n)
    x = np.maximum(0.35 * centres[y] + rng.normal(0, 1.0, (n, dim)), 0).astype(np.float32)
    return x, y, [f"synthetic-{i}" for i in range(n)], f"SYNTHETIC 1280-d features ({n} images, {k} classes)"


def pick(y: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """``count`` indices, the same share of every class."""
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    per = count // len(classes)
    return np.concatenate([rng.permutation(np.flatnonzero(y == c))[:per] for c in classes])


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from imgclf_gui.core.training.crossval import cross_validate
    from imgclf_gui.core.training.evaluation import PART_OUT_OF_FOLD, evaluate_probabilities
    from imgclf_gui.core.training.folds import assign_folds
    from imgclf_gui.core.training.head import HeadOptions, train_head
    from imgclf_gui.core.training.splits import split_samples

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 20000])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--backbone", default="efficientnet-lite0")
    args = parser.parse_args()
    x_all, y_all, hashes_all, what = load_features(args.backbone)
    print(f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}; numpy {np.__version__}; {what}")
    k = int(y_all.max()) + 1
    for size in args.sizes:
        # a third more, held out from both, to compare the two final models (when the set has that many)
        chosen = pick(y_all, min(len(y_all), int(size * 4 / 3)))
        rng = np.random.default_rng(1)
        order = rng.permutation(len(chosen))
        train_idx, unseen = chosen[order[:size]], chosen[order[size:]]
        x, y = x_all[train_idx], y_all[train_idx]
        keys = [hashes_all[i] for i in train_idx]
        labels = [str(v) for v in y]

        t, cpu = time.perf_counter(), time.process_time()
        split = split_samples(keys, 10, 10, keys, labels=labels)
        tr, va = np.array(split.train), np.array(split.validation)
        old = train_head(x[tr], y[tr], x[va], y[va], HeadOptions(), num_classes=k)
        old_s, old_cpu = time.perf_counter() - t, time.process_time() - cpu

        stages = []
        t, cpu = time.perf_counter(), time.process_time()
        folds = assign_folds(keys, labels, folds=args.folds)
        result = cross_validate(x, y, folds, HeadOptions(), num_classes=k, on_stage=stages.append)
        cv_s, cv_cpu = time.perf_counter() - t, time.process_time() - cpu

        report = evaluate_probabilities(result.probabilities, y, [str(c) for c in range(k)],
                                        part=PART_OUT_OF_FOLD, folds=folds.k)
        low, high = report.accuracy_interval

        def unseen_accuracy(head, unseen=unseen) -> str:
            if not len(unseen):
                return "n/a"
            return f"{np.mean(head.predict_proba(x_all[unseen]).argmax(1) == y_all[unseen]):.3f}"

        per_fold = ", ".join(f"L2 {f.l2:g} best epoch {f.best_epoch}" for f in result.folds)
        print(f"\n{size} images x {x.shape[1]}-d: crossval {cv_s:.1f} s (CPU {cv_cpu:.1f} s; final model L2 "
              f"{result.final_l2:g}, {result.final_epochs} epochs)   old split {old_s:.1f} s (CPU {old_cpu:.1f} s; "
              f"L2 {old.l2:g}, best epoch {old.best_epoch})   ratio {cv_s / old_s:.1f}x", flush=True)
        print(f"  folds: {per_fold}")
        print(f"  out-of-fold accuracy {report.accuracy:.3f} (95% {low:.3f}-{high:.3f}, {report.count} images); "
              f"on {len(unseen)} unseen images: crossval final model {unseen_accuracy(result.head)}, old split "
              f"model {unseen_accuracy(old.head)}")
        target = 5 if size <= 1000 else 60 if size <= 20000 else None
        if target:
            print(f"  target {target} s: {'met' if cv_s < target else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
