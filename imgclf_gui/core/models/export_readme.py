"""README.txt of an export folder: which model it is, what goes in and comes out, how it was checked.

:func:`readme_text` is the one wording; its first line is ``export_formats.README_TITLE``, by which a later
export recognises a folder it may replace.
"""
from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

from imgclf_gui.core.models.export_formats import EXAMPLE_NAME, LABELS_NAME, README_TITLE, ExportFormat


def _usage(fmt: ExportFormat, names: Sequence[str]) -> str:
    given = "images" if len(names) == 1 else "[" + ", ".join(f"images_for_{n}" for n in names) + "]"
    model = fmt.model_name
    if fmt.id == "keras":
        return f"model = keras.models.load_model('{model}')\nprobabilities = model.predict({given})"
    if fmt.id == "savedmodel":
        return f"model = tf.saved_model.load('{model}')\nprobabilities = model.serve({given})"
    if fmt.id == "onnx":
        feed = ", ".join(f"'{n}': images" + ("" if len(names) == 1 else f"_for_{n}") for n in names)
        return (f"session = onnxruntime.InferenceSession('{model}')\n"
                f"probabilities = session.run(['probabilities'], {{{feed}}})[0]")
    return (f"interpreter = ai_edge_litert.interpreter.Interpreter(model_path='{model}')\n"
            "(resize the input tensor(s) to your batch, allocate_tensors, set_tensor, invoke, get_tensor;\n"
            " predict.py does exactly this)")


def readme_text(bundle: Any, fmt: ExportFormat, *, source: str, inputs: Sequence[tuple[str, int]],
                checks: Sequence[str]) -> str:
    """The README of an export of ``bundle`` as ``fmt``: ``source`` names the model (``runs.model_title``),
    ``inputs`` are the network's (name, side), ``checks`` the self-test's sentences."""
    sides = [side for _, side in inputs]
    names = [name for name, _ in inputs]
    crop = ("The whole picture resized to a square (aspect ratio not kept, nothing cut off)" if bundle.crop == "squash"
            else "The centre square of the picture (the ends of its longer side cut off), resized")
    if len(inputs) == 1:
        s = sides[0]
        shape = f"INPUT  float32 array (N, {s}, {s}, 3), named '{names[0]}'"
    else:
        shape = "INPUTS one float32 array per network, in this order: " + ", ".join(
            f"{n} float32 (N, {s}, {s}, 3)" for n, s in inputs) + ";\n       the same pictures in each"
    kind = ("8-bit integers inside (weights and activations), float32 in and out" if fmt.id == "tflite-int8"
            else "float32 throughout")
    lines = [
        f"{README_TITLE}: {fmt.title}",
        "",
        f"Model: {source}." if source else f"Model trained {bundle.created}.",
        f"Classes ({len(bundle.class_names)}), in the order of the output: {LABELS_NAME}, one a line.",
        f"Backbone: {bundle.backbone_id} version {bundle.backbone_version}; its preprocessing is inside the model;",
        f"{kind}.",
        "",
        "FILES",
        f"  {fmt.model_name:<18} the network",
        f"  {LABELS_NAME:<18} the class names",
        f"  {EXAMPLE_NAME:<18} python {EXAMPLE_NAME} IMAGE ...  prints each image's top 3 classes as",
        f"  {'':<18} imgclf classify does; it needs only {fmt.runtime}, numpy and Pillow",
        "",
        f"{shape}: RGB, values 0..255 (not scaled), one image per row.",
        textwrap.fill(
            f"{crop}, to {' and '.join(f'{s}x{s}' for s in dict.fromkeys(sides))} pixels with Pillow's BILINEAR "
            "filter, after EXIF rotation and with transparent areas on white; a large JPEG is first decoded at "
            "reduced size (Pillow's draft mode: 1/2, 1/4 or 1/8 while both sides stay at least the input's side). "
            "This is how imgclf prepares images; another resize (other filter, crop or colour order) changes the "
            f"probabilities a little. {EXAMPLE_NAME} shows the code.", 104, initial_indent="RESIZE ",
            subsequent_indent="       "),
        "OUTPUT float32 array (N, classes): probabilities, summing to 1.",
        *([] if not bundle.flip_averaging else [
            "The model scores each image and its mirror image (flipped left to right inside the model) and",
            "averages the two: the training folds found that more accurate on these classes."]),
        "",
        "In your own code:",
        _usage(fmt, names),
        "",
        "SELF-TEST (when this export was made):",
        *[f"  {line}" for line in checks],
        "",
        f"Where {EXAMPLE_NAME} may differ from imgclf: rare scientific images (floating-point values above 255,",
        "integers beyond 16 bits, negative values) are stretched to 0..255 by imgclf and scaled or clipped by",
        f"{EXAMPLE_NAME}; everything else is decoded the same way.",
    ]
    return "\n".join(lines) + "\n"
