"""Images per second of each offline backbone: LiteRT (what the app uses) vs Keras (the reference).

    .venv/bin/python benchmarks/bench_backbones.py [--seconds 4] [--repeats 3] [--backbone ID ...]

Random 0..255 input, batch 32 and batch 1, after one warm-up call; each figure is the best of
``--repeats`` timed windows (the fastest is the one least disturbed by other work on a shared machine).
Also prints the largest absolute difference between LiteRT and Keras bottlenecks (should stay around
1e-5) and between their ImageNet probabilities, LiteRT's speed relative to the first backbone measured
(``vs first``: 0.5 means half the images per second), and the 1-minute load average before each row, so
a noisy figure can be recognised as such.

``CPU ms/img`` is the CPU time per image of a one-thread LiteRT interpreter, counted on the calling
thread (``time.thread_time``): time spent waiting for a core does not count, so on a busy shared machine
it still compares the backbones' cost where images per second cannot.
"""
from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def images_per_second(run: Callable[[np.ndarray], object], batch: np.ndarray, seconds: float,
                      repeats: int = 1) -> float:
    """Best of ``repeats`` windows of at least ``seconds`` each, after one untimed warm-up call."""
    run(batch)  # warm-up: graph tracing, tensor allocation
    best = 0.0
    for _ in range(repeats):
        done, started = 0, time.perf_counter()
        while True:
            run(batch)
            done += len(batch)
            elapsed = time.perf_counter() - started
            if elapsed >= seconds:
                break
        best = max(best, done / elapsed)
    return best


def cpu_ms_per_image(run: Callable[[np.ndarray], object], batch: np.ndarray, seconds: float,
                     repeats: int = 1) -> float:
    """Least CPU time of this thread per image over ``repeats`` windows (``run`` must not use other threads)."""
    run(batch)
    best = float("inf")
    for _ in range(repeats):
        done, started, wall = 0, time.thread_time(), time.perf_counter()
        while time.perf_counter() - wall < seconds:
            run(batch)
            done += len(batch)
        best = min(best, (time.thread_time() - started) * 1000 / done)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=4.0, help="time per measurement window")
    parser.add_argument("--repeats", type=int, default=3, help="windows per figure; the best one is printed")
    parser.add_argument("--backbone", action="append", help="backbone id (default: every offline one)")
    args = parser.parse_args()

    import tensorflow as tf

    from imgclf_gui.core import backbones

    ids = args.backbone or [s.id for s in backbones.list_specs() if s.offline and not s.is_combined]  # one network each
    print(f"{os.cpu_count()} CPU cores, TensorFlow {tf.__version__}; best of {args.repeats} x {args.seconds:g} s")
    print(f"{'backbone':20} {'input':>5} {'batch':>5} {'LiteRT img/s':>13} {'Keras img/s':>12} {'ratio':>6} "
          f"{'vs first':>8} {'CPU ms/img':>10} {'feat |diff|':>11} {'prob |diff|':>11} {'load':>5}")
    first: dict[int, float] = {}
    for backbone_id in ids:
        spec = backbones.get_spec(backbone_id)
        extractor = backbones.open_extractor(backbone_id)
        one_thread = backbones.open_extractor(backbone_id, num_threads=1)
        full = backbones.load_keras_full(backbone_id)
        model = backbones.load_keras_backbone(backbone_id)
        keras_call = tf.function(lambda x, m=model: m(x, training=False), reduce_retracing=True)
        rng = np.random.default_rng(0)
        for n in (32, 1):
            batch = rng.uniform(0, 255, (n, spec.input_size, spec.input_size, 3)).astype(np.float32)
            diff = float(np.abs(extractor.features(batch) - keras_call(batch).numpy()).max())
            prob_diff = float("nan")
            if spec.has_imagenet_head:
                reference = np.asarray(full.predict_on_batch(batch)[1])
                prob_diff = float(np.abs(extractor.imagenet_probabilities(batch) - reference).max())
            load = os.getloadavg()[0]
            lite = images_per_second(extractor.features, batch, args.seconds, args.repeats)
            ref = images_per_second(lambda b, call=keras_call: call(b).numpy(), batch, args.seconds, args.repeats)
            cpu = cpu_ms_per_image(one_thread.features, batch, args.seconds, args.repeats)
            first.setdefault(n, lite)
            print(f"{backbone_id:20} {spec.input_size:5d} {n:5d} {lite:13.1f} {ref:12.1f} {lite / ref:6.2f} "
                  f"{lite / first[n]:8.2f} {cpu:10.2f} {diff:11.2e} {prob_diff:11.2e} {load:5.1f}", flush=True)


if __name__ == "__main__":
    main()
