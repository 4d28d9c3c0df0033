"""ONNX export: the already verified TensorFlow Lite file converted with tf2onnx, run by ONNX Runtime in
another process.

tf2onnx's Keras 3 path is broken; its TFLite input works, and the TFLite file is the one the exporter has
just checked against the app, so whatever the Keras model holds (combined backbones, flip averaging)
reaches ONNX the same way. ONNX Runtime is never imported into imgclf's own process: it has import-order
problems with TensorFlow and Qt there, so :func:`run_onnx` runs it in a fresh Python.

- :func:`tflite_to_onnx`: convert, name the inputs as the Keras model does (``image``; ``image1_224`` ...
  for a combined backbone) and the output ``probabilities``, check the graph, write the file.
- :func:`run_onnx`: probabilities for the self-test inputs, from ONNX Runtime in a subprocess.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

#: the ONNX operator set written: ONNX Runtime 1.14 (2023) and later, and most other runtimes, read it
OPSET = 17
OUTPUT_NAME = "probabilities"
#: seconds ONNX Runtime may take for the self-test images in its own process
RUN_TIMEOUT = 600


class OnnxError(Exception):
    """The conversion or ONNX Runtime failed: one sentence."""


def tflite_to_onnx(tflite: Path, out: Path, input_names: Sequence[str]) -> None:
    """Convert the TFLite file ``tflite`` to ONNX at ``out``, its inputs named ``input_names`` (in the order
    of the Keras model's inputs, whose names the converter keeps inside its own)."""
    import onnx
    import tf2onnx

    # tf2onnx logs every pass at INFO and warns that it uses TensorFlow's deprecated TFLite interpreter: none
    # of it is for the user. Its own logger only; a failure still raises.
    logger = logging.getLogger("tf2onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model, _ = tf2onnx.convert.from_tflite(str(tflite), opset=OPSET)
    except Exception as exc:  # noqa: BLE001 - the converter raises anything; one sentence for the user
        raise OnnxError(f"tf2onnx could not convert the model ({type(exc).__name__}: {exc})") from None
    finally:
        logger.setLevel(level)
    graph = model.graph
    renames = {}
    for graph_input in graph.input:
        # "serving_default_image:0" for ours "image": the converter's name holds the Keras input's
        match = [n for n in input_names if graph_input.name in (n, f"serving_default_{n}:0")]
        if len(match) != 1:
            raise OnnxError(f"the converted model has an input {graph_input.name!r} that imgclf did not make")
        renames[graph_input.name] = match[0]
    if len(graph.output) != 1:
        raise OnnxError(f"the converted model has {len(graph.output)} outputs instead of one")
    renames[graph.output[0].name] = OUTPUT_NAME
    for value in [*graph.input, *graph.output, *graph.value_info]:
        value.name = renames.get(value.name, value.name)
    for node in graph.node:
        node.input[:] = [renames.get(name, name) for name in node.input]
        node.output[:] = [renames.get(name, name) for name in node.output]
    model.producer_name = "imgclf (tf2onnx from TensorFlow Lite)"
    onnx.checker.check_model(model)
    onnx.save(model, str(out))


_RUNNER = """\
import sys
import numpy as np
import onnxruntime
model, inputs, out = sys.argv[1:4]
names = sys.argv[4:]
session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
data = np.load(inputs)
arrays = [data[f"input{k}"] for k in range(len(names))]
rows = [session.run(["probabilities"], {n: a[i:i + 16] for n, a in zip(names, arrays)})[0]
        for i in range(0, len(arrays[0]), 16)]
np.save(out, np.concatenate(rows).astype(np.float32))
"""


def run_onnx(model: Path, inputs: Sequence[np.ndarray], input_names: Sequence[str]) -> np.ndarray:
    """float32 (N, classes): ONNX Runtime's probabilities for ``inputs`` (float32 (N, S, S, 3) each, in the
    order of ``input_names``), computed in a fresh Python process. Raises :class:`OnnxError`."""
    with tempfile.TemporaryDirectory(prefix="imgclf-onnx-") as work:
        arrays, result = Path(work) / "inputs.npz", Path(work) / "probabilities.npy"
        np.savez(arrays, **{f"input{k}": np.asarray(x, np.float32) for k, x in enumerate(inputs)})
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        try:
            done = subprocess.run([sys.executable, "-I", "-c", _RUNNER, str(model), str(arrays), str(result),
                                   *input_names], capture_output=True, timeout=RUN_TIMEOUT, env=env,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise OnnxError(f"ONNX Runtime did not finish within {RUN_TIMEOUT} s") from None
        except OSError as exc:
            raise OnnxError(f"ONNX Runtime could not be started ({exc.strerror or exc})") from None
        if done.returncode != 0 or not result.is_file():
            err = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise OnnxError(f"ONNX Runtime failed on the exported model: {err[-1] if err else 'no message'}")
        return np.load(result, allow_pickle=False)
