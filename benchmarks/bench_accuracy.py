"""Test accuracy of imgclf's head next to a cross-validated scikit-learn LogisticRegression.

Same backbone, same images, same features, same split (imgclf's hash split, 80/10/10):
  ours     = ``train_head`` with TrainConfig() defaults (L2 chosen on the validation part), seeds 0-2
  sklearn  = StandardScaler + LogisticRegression, C chosen by 5-fold CV on the training part
             (the validation part is not used by it; it is small and would help little)
Target: ours >= sklearn - 1 point on each set.

Data sets are made by ../shared/datasets (dev machines only; the app and tests never need them):
    ../shared/datasets/get_fashion_mnist.sh bench-data/fashion300 300
    python3 ../shared/datasets/make_datasets.py sklearn-digits bench-data/digits
This script makes them itself when ../shared is there and they are missing, and says so when it is not.

    .venv/bin/python benchmarks/bench_accuracy.py [--backbone efficientnet-lite0] [--sets fashion300 digits]
"""
from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench-data"
SHARED = ROOT.parent / "shared" / "datasets"


def ensure_dataset(name: str) -> Path | None:
    folder = DATA / name
    if folder.is_dir():
        return folder
    if not SHARED.is_dir():
        print(f"{name}: missing, and {SHARED} is not here to make it; skipped.")
        return None
    print(f"{name}: making it with {SHARED} ...", flush=True)
    if name == "fashion300":
        cmd = ["bash", str(SHARED / "get_fashion_mnist.sh"), str(folder), "300"]
    elif name == "digits":
        cmd = [sys.executable, str(SHARED / "make_datasets.py"), "sklearn-digits", str(folder)]
    else:
        raise SystemExit(f"unknown set {name}")
    subprocess.run(cmd, check=True, env={**__import__("os").environ,
                                         "PATH": f"{Path(sys.executable).parent}:{__import__('os').environ['PATH']}"})
    return folder


def features_for(folder: Path, backbone: str, crop: str = "squash"):
    """(samples, hashes, features) with features cached in bench-data/ beside the set."""
    from imgclf_gui.core.backbones import get_spec, open_extractor
    from imgclf_gui.core.images.decode import load_for_network
    from imgclf_gui.core.project.scan import scan_samples

    spec = get_spec(backbone)
    samples = scan_samples(folder)
    hashes = [hashlib.sha256(s.path.read_bytes()).hexdigest() for s in samples]
    cache = DATA / f"{folder.name}.{spec.cache_key}.{crop}.npz"
    if cache.exists():
        with np.load(cache, allow_pickle=False) as z:
            if list(z["hashes"]) == hashes:
                return samples, hashes, z["features"]
    ex = open_extractor(backbone)
    t = time.perf_counter()
    feats = []
    for i in range(0, len(samples), 64):
        batch = np.stack([load_for_network(s.path, spec.input_size, crop) for s in samples[i:i + 64]])
        feats.append(ex.features(batch))
    features = np.concatenate(feats).astype(np.float32)
    print(f"  extracted {len(samples)} images in {time.perf_counter() - t:.1f} s", flush=True)
    np.savez(cache, features=features, hashes=np.array(hashes))
    return samples, hashes, features


def sklearn_accuracy(xtr, ytr, xte, yte) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    grid = GridSearchCV(pipe, {"logisticregression__C": list(np.logspace(-4, 2, 7))},
                        cv=StratifiedKFold(5, shuffle=True, random_state=0), n_jobs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grid.fit(xtr, ytr)
    return float(grid.score(xte, yte)), float(grid.best_params_["logisticregression__C"])


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from imgclf_gui.core.training.config import TrainConfig
    from imgclf_gui.core.training.head import labels_to_indices, train_head
    from imgclf_gui.core.training.splits import split_samples

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="efficientnet-lite0")
    parser.add_argument("--sets", nargs="+", default=["fashion300", "digits"])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    print(f"backbone {args.backbone}; head defaults {TrainConfig()}")
    rows = []
    for name in args.sets:
        folder = ensure_dataset(name)
        if folder is None:
            continue
        samples, hashes, x = features_for(folder, args.backbone)
        classes = sorted({s.label for s in samples})
        y = labels_to_indices([s.label for s in samples], classes)
        split = split_samples(samples, 10, 10, hashes)
        tr, va, te = (np.array(i) for i in (split.train, split.validation, split.test))
        ours = []
        t = time.perf_counter()
        for seed in range(args.seeds):
            cfg = TrainConfig(backbone=args.backbone, seed=seed)
            res = train_head(x[tr], y[tr], x[va], y[va], cfg.head_options(), num_classes=len(classes))
            ours.append(float(np.mean(res.head.predict_proba(x[te]).argmax(1) == y[te])))
        head_s = (time.perf_counter() - t) / args.seeds
        sk, c = sklearn_accuracy(x[tr], y[tr], x[te], y[te])
        mean = float(np.mean(ours))
        rows.append((name, len(tr), len(va), len(te), mean, min(ours), max(ours), sk, c, head_s, res.l2))
        print(f"{name}: ours {mean:.4f} (seeds {', '.join(f'{a:.4f}' for a in ours)}; L2 {res.l2:g}; "
              f"{head_s:.1f} s/run)  sklearn {sk:.4f} (C={c:g})  -> {'OK' if mean >= sk - 0.01 else 'BELOW TARGET'}",
              flush=True)
    if rows:
        print("\n| set | train/val/test | ours (mean of seeds) | sklearn LR (CV) | diff |")
        print("|---|---|---|---|---|")
        for name, ntr, nva, nte, mean, lo, hi, sk, c, _hs, _l2 in rows:
            print(f"| {name} | {ntr}/{nva}/{nte} | {mean:.3f} ({lo:.3f}-{hi:.3f}) | {sk:.3f} (C={c:g}) | "
                  f"{(mean - sk) * 100:+.1f} pt |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
