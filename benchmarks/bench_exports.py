"""Every export format of one real model: size, CPU time per image, agreement with the app, time to export.

    .venv/bin/python benchmarks/bench_exports.py [--per-class 60] [--backbone efficientnet-lite0] [--images 40]

Writes the demo project to a temporary folder, trains on it (cross-validated, default settings) and exports
the active model in every format available here, each self-tested as the app does it. For each format:

- ``size``: the model file (the SavedModel folder: all of it);
- ``CPU ms/img``: its own runtime (LiteRT, ONNX Runtime, TensorFlow) on ONE thread, in a fresh process,
  ``time.process_time`` over ``--images`` single-image calls after two warm-up calls: waiting for a core
  does not count, so on a busy shared machine the figure still compares the formats where wall time cannot
  (the wall time is printed too);
- ``agreement``: the export's self-test figure (float formats: largest probability difference from the app on
  the validation images; int8: top class the app's on held-out training images, and the mean difference);
- ``export s``: wall time of the export with its self-test (conversion, checks, predict.py run);
- ``load``: the 1-minute load average before the row.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_TIMER = r'''
import json, sys, time
import numpy as np
fmt, model, n, side = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(0)
images = [rng.integers(0, 256, (1, side, side, 3)).astype(np.float32) for _ in range(n)]
if fmt in ("tflite", "tflite-int8"):
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=model, num_threads=1)
    inp = it.get_input_details()[0]["index"]
    it.resize_tensor_input(inp, [1, side, side, 3])
    it.allocate_tensors()
    out = it.get_output_details()[0]["index"]
    def run(x):
        it.set_tensor(inp, x)
        it.invoke()
        return it.get_tensor(out)
elif fmt == "onnx":
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    def run(x):
        return session.run(None, {"image": x})[0]
else:
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    if fmt == "keras":
        import keras
        net = keras.models.load_model(model, compile=False)
        def run(x):
            return net(x, training=False)
    else:
        net = tf.saved_model.load(model)
        def run(x):
            return net.serve(tf.constant(x))
run(images[0]); run(images[0])
cpu, wall = time.process_time(), time.perf_counter()
for x in images:
    run(x)
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
print(json.dumps({"cpu_ms": cpu * 1000 / n, "wall_ms": wall * 1000 / n}))
'''


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _time_runtime(fmt: str, model: Path, images: int, side: int) -> dict[str, float]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", _TIMER, fmt, str(model), str(images), str(side)],
                          capture_output=True, text=True, env=env, timeout=1200)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "timer failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=60)
    parser.add_argument("--backbone", default="efficientnet-lite0")
    parser.add_argument("--images", type=int, default=40)
    args = parser.parse_args()

    from imgclf_gui.cli import main as cli
    from imgclf_gui.core.models import runs
    from imgclf_gui.core.models.bundle import ModelBundle
    from imgclf_gui.core.models.export_formats import FORMATS, format_availability

    work = Path(tempfile.mkdtemp(prefix="bench-exports-"))
    try:
        project = work / "shapes"
        assert cli(["demo", str(project), "--per-class", str(args.per_class)]) == 0
        assert cli(["train", str(project), "--backbone", args.backbone, "--quiet"]) == 0
        bundle = ModelBundle.load(runs.active_model_path(project))
        side = bundle.input_size
        print(f"\nModel: {args.backbone}, {len(bundle.class_names)} classes, trained on {len(bundle.train_hashes)} "
              f"images; CPU time on one thread over {args.images} images; {os.cpu_count()} cores.")
        print(f"{'format':<12} {'size':>9} {'CPU ms/img':>11} {'wall ms/img':>12} {'export s':>9} {'load':>5}  "
              "agreement with the app")
        for fmt in FORMATS:
            usable, why = format_availability(fmt)
            if not usable:
                print(f"{fmt:<12} not measured: {why}")
                continue
            load = os.getloadavg()[0]
            started = time.perf_counter()
            result = bundle.export(fmt, work / f"export-{fmt}")
            seconds = time.perf_counter() - started
            timing = _time_runtime(fmt, result.model_path, args.images, side)
            if result.int8 is not None:
                r = result.int8
                agreement = (f"top class {r.agreeing}/{r.compared} ({r.agreement:.1%}), mean |diff| "
                             f"{r.mean_abs_diff:.4f}, max {r.max_abs_diff:.3f}")
            else:
                agreement = f"max |diff| {result.max_abs_diff:.1e} on {result.checked} {result.checked_on}"
            print(f"{fmt:<12} {_size(result.model_path) / 1e6:>7.1f}MB {timing['cpu_ms']:>11.1f} "
                  f"{timing['wall_ms']:>12.1f} {seconds:>9.1f} {load:>5.1f}  {agreement}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
