"""The ``predict.py`` beside every export, and the check that it prints what the app prints.

- :func:`example_text`: a short script that classifies image files with only the runtime its format needs
  (LiteRT, ONNX Runtime or TensorFlow) plus numpy and Pillow, decodes each file as imgclf does (EXIF
  rotation, transparency on white, a large JPEG in draft mode, squash or centre crop, BILINEAR) and prints
  the top 3 as ``imgclf classify`` does (``predict.top_classes``).
- :func:`check_example`: runs it in a fresh Python (``-I``, with TensorFlow, Keras, imgclf and Qt made
  unimportable where the format does not need them) on the self-test images and compares its lines with
  the app's scores: the same classes in an order the scores allow, each percentage within rounding.
- Known differences from the app's decode, stated in the README: rare scientific images (floating-point
  values above 255, integers beyond 16 bits, negative values) are stretched to 0..255 by imgclf and only
  scaled or clipped here.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

#: seconds the example may take on the self-test images (TensorFlow's import alone takes ~10 s on a busy laptop)
EXAMPLE_TIMEOUT = 600

_HEADER = '''\
#!/usr/bin/env python3
"""Classify images with the imgclf model beside this file:  python predict.py IMAGE [IMAGE ...]

Needs only {runtime}, numpy and Pillow.
Prints each image's top 3 classes as `imgclf classify` does:  photo.jpg: cat 93.1%, dog 6.2%, fox 0.7%
Each image is decoded as imgclf decodes it (EXIF rotation, transparent areas on white, a large JPEG read at
reduced size), then {crop} to {sides} pixels with Pillow's BILINEAR filter.
"""
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
'''

_COMMON = '''
HERE = Path(__file__).resolve().parent
MODEL = HERE / {model!r}
INPUTS = {inputs!r}  # (input name, side): the network takes the same picture at each side
CROP = {crop!r}  # "squash": the whole picture resized; "center": its centre square
TOP = 3


def load_picture(path, side):
    """The picture as imgclf decodes it for an input of this side: RGB, upright, transparent areas on white."""
    with Image.open(path) as image:
        if image.format in ("JPEG", "MPO"):  # decode at 1/2, 1/4 or 1/8 size while both sides stay >= side
            image.draft("RGB", (side, side))
        image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    if image.mode.startswith(("I", "F")):  # 16-bit or floating-point grey, scaled to 0..255 as imgclf does
        v = np.nan_to_num(np.asarray(image, np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        if image.mode.startswith("F") and v.size and v.min() >= 0 and v.max() <= 1:
            v = v * 255.0
        elif v.size and v.max() > 255:
            v = v / 257.0
        return Image.fromarray(np.clip(np.rint(v), 0, 255).astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


def network_input(picture, side):
    """float32 (side, side, 3), RGB 0..255: the picture squashed to a square, or its centre square."""
    width, height = picture.size
    box = (0, 0, width, height)
    if CROP == "center":
        s = min(width, height)
        left, top = (width - s) / 2, (height - s) / 2
        box = (left, top, left + s, top + s)
    if (width, height) != (side, side) or CROP != "squash":
        picture = picture.resize((side, side), Image.Resampling.BILINEAR, box=box)
    return np.asarray(picture, np.float32)
'''

_RUNTIMES = {
    "litert": '''
def load_model():
    """The network as a function: one float32 (side, side, 3) array per input -> class probabilities."""
    interpreter = Interpreter(model_path=str(MODEL))
    details = interpreter.get_input_details()
    if len(details) > 1:  # the converter orders inputs its own way; their names hold ours
        details = [next(d for d in details if name in d["name"]) for name, _ in INPUTS]
    for d, (_, side) in zip(details, INPUTS):
        interpreter.resize_tensor_input(d["index"], [1, side, side, 3])
    interpreter.allocate_tensors()
    output = interpreter.get_output_details()[0]["index"]

    def scores(arrays):
        for d, x in zip(details, arrays):
            interpreter.set_tensor(d["index"], x[None])
        interpreter.invoke()
        return interpreter.get_tensor(output)[0]
    return scores
''',
    "onnxruntime": '''
def load_model():
    """The network as a function: one float32 (side, side, 3) array per input -> class probabilities."""
    session = onnxruntime.InferenceSession(str(MODEL), providers=["CPUExecutionProvider"])

    def scores(arrays):
        return session.run(["probabilities"], {name: x[None] for (name, _), x in zip(INPUTS, arrays)})[0][0]
    return scores
''',
    "keras": '''
def load_model():
    """The network as a function: one float32 (side, side, 3) array per input -> class probabilities."""
    model = keras.models.load_model(MODEL, compile=False)

    def scores(arrays):
        batch = [x[None] for x in arrays]
        return np.asarray(model(batch if len(batch) > 1 else batch[0], training=False))[0]
    return scores
''',
    "tensorflow": '''
def load_model():
    """The network as a function: one float32 (side, side, 3) array per input -> class probabilities."""
    model = tf.saved_model.load(str(MODEL))

    def scores(arrays):
        batch = [tf.constant(x[None]) for x in arrays]
        return model.serve(batch if len(batch) > 1 else batch[0]).numpy()[0]
    return scores
''',
}

_MAIN = '''

def main(paths):
    if not paths:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    labels = (HERE / "labels.txt").read_text(encoding="utf-8").split("\\n")[:-1]
    scores = load_model()
    failed = 0
    for path in paths:
        try:
            pictures = {{side: load_picture(path, side) for side in sorted({{side for _, side in INPUTS}})}}
        except Exception as error:  # not an image, unreadable, too large: say so and go on
            print(f"{{path}}: cannot read ({{error}})", file=sys.stderr)
            failed += 1
            continue
        p = scores([network_input(pictures[side], side) for _, side in INPUTS])
        best = np.argsort(-p, kind="stable")[:TOP]
        print(f"{{path}}: " + ", ".join(f"{{labels[i]}} {{p[i]:.1%}}" for i in best))
    return 1 if failed == len(paths) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''

_IMPORTS = {
    "litert": '''
try:
    from ai_edge_litert.interpreter import Interpreter  # pip install ai-edge-litert
except ImportError:  # the same runtime under its older name
    from tflite_runtime.interpreter import Interpreter
''',
    "onnxruntime": "import onnxruntime  # pip install onnxruntime\n",
    "keras": "import keras  # pip install tensorflow\n",
    "tensorflow": "import tensorflow as tf  # pip install tensorflow\n",
}

#: the runtime each format's example uses, and the modules it must not need
_RUNTIME_OF = {"tflite": "litert", "tflite-int8": "litert", "onnx": "onnxruntime", "keras": "keras",
               "savedmodel": "tensorflow"}
_NOT_NEEDED = {
    "litert": ("tensorflow", "keras", "onnxruntime", "tf2onnx"),
    "onnxruntime": ("tensorflow", "keras", "ai_edge_litert", "tflite_runtime", "tf2onnx"),
    "keras": ("onnxruntime", "tf2onnx"),
    "tensorflow": ("onnxruntime", "tf2onnx"),
}
_ALWAYS_REFUSED = ("imgclf_gui", "PySide6", "shiboken6", "pyqtgraph")


def example_text(format: str, *, model_name: str, inputs: Sequence[tuple[str, int]], crop: str,
                 runtime: str) -> str:
    """The ``predict.py`` of an export of ``format`` whose model file is ``model_name``."""
    sides = " and ".join(f"{s}x{s}" for s in dict.fromkeys(side for _, side in inputs))
    crop_words = "its centre square resized" if crop == "center" else "the whole picture resized (squashed)"
    runtime_id = _RUNTIME_OF[format]
    return (_HEADER.format(runtime=runtime, crop=crop_words, sides=sides) + _IMPORTS[runtime_id]
            + _COMMON.format(model=model_name, inputs=[(n, int(s)) for n, s in inputs], crop=crop)
            + "\n" + _RUNTIMES[runtime_id] + _MAIN.format())


class ExampleError(Exception):
    """The example did not run, or printed something else than the app: one sentence."""


def _boot(refused: Sequence[str]) -> str:
    # Runs predict.py as a script in a fresh interpreter in which the modules it must not need cannot be
    # imported: the example really runs with only its runtime, numpy and Pillow.
    return (
        "import runpy, sys\n"
        "class _Refuse:\n"
        f"    refused = {tuple(refused)!r}\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in self.refused:\n"
        "            raise ImportError(f'the example must not need {name}')\n"
        "sys.meta_path.insert(0, _Refuse())\n"
        "sys.argv = sys.argv[1:]\n"
        "runpy.run_path(sys.argv[0], run_name='__main__')\n"
    )


def can_run_examples() -> tuple[bool, str]:
    """(True, "") where a Python interpreter can run the example; a built application has none of its own."""
    if getattr(sys, "frozen", False):
        return False, "this built imgclf has no separate Python interpreter to run it"
    return True, ""


def run_example(format: str, example: Path, paths: Sequence[Path], *, timeout: float = EXAMPLE_TIMEOUT) -> list[str]:
    """The lines ``example`` prints for ``paths``, run in its own Python process; raises :class:`ExampleError`."""
    refused = _ALWAYS_REFUSED + _NOT_NEEDED[_RUNTIME_OF[format]]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(PYTHONIOENCODING="utf-8:surrogateescape", TF_CPP_MIN_LOG_LEVEL="3", PYTHONDONTWRITEBYTECODE="1")
    try:
        # run from the caller's folder, so image paths given relative to it work as they do for imgclf
        done = subprocess.run([sys.executable, "-I", "-c", _boot(refused), str(example.resolve()), *map(str, paths)],
                              capture_output=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ExampleError(f"predict.py did not finish within {timeout:.0f} s") from None
    except OSError as exc:
        raise ExampleError(f"predict.py could not be started ({exc.strerror or exc})") from None
    out = done.stdout.decode("utf-8", "surrogateescape")
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ExampleError(f"predict.py failed (exit code {done.returncode}): {err[-1] if err else 'no message'}")
    return out.splitlines()


def compare_printout(lines: Sequence[str], paths: Sequence[Path], probabilities: np.ndarray,
                     class_names: Sequence[str], tolerance: float) -> str | None:
    """None when ``lines`` are what ``imgclf classify`` prints for ``probabilities`` (within ``tolerance`` and
    the 0.1-point rounding of a percentage), else a sentence naming the first image that differs."""
    from imgclf_gui.core.models.predict import top_classes
    from imgclf_gui.core.project.rules import count_words

    if len(lines) != len(paths):
        return f"predict.py printed {count_words(len(lines), 'line')} for {count_words(len(paths), 'image')}"
    for line, path, p in zip(lines, paths, np.asarray(probabilities, np.float64)):
        prefix = f"{path}: "
        if not line.startswith(prefix):
            return f"predict.py printed {line!r} where a line for {path.name} was due"
        text = line[len(prefix):]
        if text == top_classes(p, class_names):
            continue
        shown = _parse_top(text, class_names)
        if shown is None or not _agrees(shown, p, min(3, len(class_names)), tolerance):
            return f"for {path.name} predict.py printed {text!r} and imgclf {top_classes(p, class_names)!r}"
    return None


def _parse_top(text: str, class_names: Sequence[str]) -> list[tuple[int, float]] | None:
    """[(class index, shown probability)] of a printed top list; class names may hold commas and spaces."""
    order = sorted(range(len(class_names)), key=lambda i: -len(class_names[i]))
    found: list[tuple[int, float]] = []
    while text:
        for i in order:
            match = re.match(re.escape(class_names[i]) + r" (\d+\.\d)%(, |$)", text)
            if match:
                found.append((i, float(match.group(1)) / 100.0))
                text = text[match.end():]
                break
        else:
            return None
    return found


def _agrees(shown: list[tuple[int, float]], p: np.ndarray, k: int, tolerance: float) -> bool:
    if len(shown) != k or len({i for i, _ in shown}) != k:
        return False
    slack = 0.0005 + tolerance  # half a printed step, and the tolerance between the runtimes
    if any(abs(value - p[i]) > slack for i, value in shown):
        return False
    chosen = [p[i] for i, _ in shown]
    in_order = all(a >= b - tolerance for a, b in zip(chosen, chosen[1:]))
    rest = [p[i] for i in range(len(p)) if i not in {j for j, _ in shown}]
    return in_order and (not rest or max(rest) <= min(chosen) + tolerance)
