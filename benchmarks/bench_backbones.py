"""Images per second of each offline backbone: LiteRT (what the app uses) vs Keras (the reference).

    .venv/bin/python benchmarks/bench_backbones.py [--seconds 4] [--backbone ID ...]

Random 0..255 input, batch 32 and batch 1, after one warm-up call. Also prints the largest absolute
difference between LiteRT and Keras bottlenecks, which should stay around 1e-5.
"""
from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def images_per_second(run: Callable[[np.ndarray], object], batch: np.ndarray, seconds: float) -> float:
    run(batch)  # warm-up: graph tracing, tensor allocation
    done, started = 0, time.perf_counter()
    while True:
        run(batch)
        done += len(batch)
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=4.0, help="time per measurement")
    parser.add_argument("--backbone", action="append", help="backbone id (default: every offline one)")
    args = parser.parse_args()

    import tensorflow as tf

    from imgclf_gui.core import backbones

    ids = args.backbone or [s.id for s in backbones.list_specs() if s.offline]
    print(f"{os.cpu_count()} CPU cores, TensorFlow {tf.__version__}")
    print(f"{'backbone':20} {'batch':>5} {'LiteRT img/s':>13} {'Keras img/s':>12} {'ratio':>6} {'max |diff|':>11}")
    for backbone_id in ids:
        spec = backbones.get_spec(backbone_id)
        extractor = backbones.open_extractor(backbone_id)
        model = backbones.load_keras_backbone(backbone_id)
        keras_call = tf.function(lambda x, m=model: m(x, training=False), reduce_retracing=True)
        rng = np.random.default_rng(0)
        for n in (32, 1):
            batch = rng.uniform(0, 255, (n, spec.input_size, spec.input_size, 3)).astype(np.float32)
            diff = float(np.abs(extractor.features(batch) - keras_call(batch).numpy()).max())
            lite = images_per_second(extractor.features, batch, args.seconds)
            ref = images_per_second(lambda b, call=keras_call: call(b).numpy(), batch, args.seconds)
            print(f"{backbone_id:20} {n:5d} {lite:13.1f} {ref:12.1f} {lite / ref:6.2f} {diff:11.2e}", flush=True)


if __name__ == "__main__":
    main()
