"""The export formats, what each needs installed, and the export folder every one of them is written as.

An export is a folder a person can zip and send::

    NAME/   model.tflite | model_int8.tflite | model.onnx | model.keras | saved_model/
            labels.txt   class names, one a line, in the order of the model's output
            README.txt   which run made it, the input size and how to resize, the self-test's figures
            predict.py   classifies image files with only the runtime it names; prints imgclf classify's top 3

- :data:`FORMATS` (ids in the order a list shows them), :func:`export_format` (one :class:`ExportFormat`).
- :func:`format_availability` says whether a format can be written here, and if not why (an optional extra
  that is not installed), without importing it: the Training tab greys the format out with that reason.
- :func:`export_layout` names the files of an export folder; :func:`check_export_target` checks the folder
  before any work (an earlier export of ours is replaced; any other folder with something in it is refused).
- :func:`model_inputs`: the exported network's inputs (name, side), one per backbone network.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: first line of every export's README.txt: how an earlier export (which may be replaced) is recognised
README_TITLE = "imgclf model export"
LABELS_NAME = "labels.txt"
README_NAME = "README.txt"
EXAMPLE_NAME = "predict.py"


@dataclass(frozen=True)
class ExportFormat:
    """One way of writing a model for other programs."""

    id: str  #: "tflite", "tflite-int8", "onnx", "keras", "savedmodel"
    title: str  #: as a list shows it
    model_name: str  #: the model's file (or folder) inside the export folder
    runtime: str  #: what predict.py needs, in words and pip names
    #: Python modules the writer needs beyond imgclf's own dependencies, and the extra that brings them
    needs: tuple[str, ...] = ()
    extra: str = ""
    description: str = ""  #: one sentence: what it is for


FORMATS: tuple[str, ...] = ("tflite", "tflite-int8", "onnx", "keras", "savedmodel")
_FORMATS = {f.id: f for f in (
    ExportFormat("tflite", "TensorFlow Lite", "model.tflite", "LiteRT (pip install ai-edge-litert)",
                 description="For phones, small computers and Python with LiteRT; the same answers as imgclf."),
    ExportFormat("tflite-int8", "TensorFlow Lite int8", "model_int8.tflite", "LiteRT (pip install ai-edge-litert)",
                 description="8-bit integers: about a quarter of the size and faster on most CPUs; calibrated on "
                             "the training images, its top class checked against imgclf's."),
    ExportFormat("onnx", "ONNX", "model.onnx", "ONNX Runtime (pip install onnxruntime)",
                 needs=("tf2onnx", "onnx", "onnxruntime"), extra="onnx",
                 description="For ONNX Runtime and the many tools that read ONNX; the same answers as imgclf."),
    ExportFormat("keras", "Keras", "model.keras", "TensorFlow (pip install tensorflow)",
                 description="To train further or inspect with Keras and TensorFlow."),
    ExportFormat("savedmodel", "TensorFlow SavedModel", "saved_model", "TensorFlow (pip install tensorflow)",
                 description="For TensorFlow Serving and other TensorFlow tools."),
)}


def export_format(format: str) -> ExportFormat:
    """The :class:`ExportFormat` called ``format``; ``ValueError`` naming the known ones otherwise."""
    try:
        return _FORMATS[format]
    except KeyError:
        raise ValueError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}") from None


def format_availability(format: str) -> tuple[bool, str]:
    """(usable here, why not): an optional extra that is not installed is named with the command to get it.

    Looks for the modules without importing them (importing tf2onnx imports TensorFlow)."""
    fmt = export_format(format)
    missing = [name for name in fmt.needs if importlib.util.find_spec(name) is None]
    if not missing:
        return True, ""
    if getattr(sys, "frozen", False):
        return False, (f"{fmt.title} export needs {', '.join(missing)}, which this built application does not "
                       f"include; install imgclf with pip (pip install 'imgclf[{fmt.extra}]') to export it.")
    return False, (f"{fmt.title} export needs {', '.join(missing)}: install it with "
                   f"pip install 'imgclf[{fmt.extra}]'.")


@dataclass(frozen=True)
class ExportLayout:
    """The paths of one export folder."""

    folder: Path
    model: Path
    labels: Path
    readme: Path
    example: Path

    def inside(self, folder: Path) -> ExportLayout:
        """The same layout in another folder (the temporary one an export is written in)."""
        return ExportLayout(folder, *(folder / p.name for p in (self.model, self.labels, self.readme, self.example)))


def export_layout(format: str, out: str | os.PathLike[str]) -> ExportLayout:
    """The files of the export folder ``out`` for ``format`` (``ValueError`` for an unknown format)."""
    folder = Path(out)
    return ExportLayout(folder, folder / export_format(format).model_name, folder / LABELS_NAME,
                        folder / README_NAME, folder / EXAMPLE_NAME)


def model_inputs(bundle: Any) -> list[tuple[str, int]]:
    """The exported network's inputs as (name, side), in the order it takes them: one per backbone network
    (``image``; ``image1_224``, ``image2_260`` ... for a combined backbone).

    Every input is the same picture, decoded for its side (draft mode) and resized with the model's crop."""
    from imgclf_gui.core.backbones import feature_parts

    parts = feature_parts(bundle.spec)
    if len(parts) == 1:
        return [("image", int(parts[0].input_size))]
    return [(f"image{k}_{p.input_size}", int(p.input_size)) for k, p in enumerate(parts, 1)]


def is_earlier_export(folder: Path) -> bool:
    """True for a folder an imgclf export wrote (its README.txt says so), or an empty one: replaceable."""
    try:
        with os.scandir(folder) as entries:
            if next(entries, None) is None:
                return True
        readme = folder / README_NAME
        if readme.is_symlink() or not readme.is_file():
            return (folder / "saved_model.pb").is_file()  # a SavedModel export of imgclf before folders
        with open(readme, "rb") as handle:
            return handle.read(len(README_TITLE)) == README_TITLE.encode()
    except OSError:
        return False


def check_export_target(bundle: Any, format: str, out: str | os.PathLike[str]) -> ExportLayout:
    """Before the work: ``out`` can become this export folder (``OutputError``: a file is there, a folder
    that is not an earlier export, no permission, too little room). Returns its layout."""
    from imgclf_gui.core.support.output_paths import check_output_folder

    layout = export_layout(format, out)

    def problem(folder: Path) -> str | None:
        return None if is_earlier_export(folder) else "exists and is not an imgclf export"

    check_output_folder(layout.folder, f"the {export_format(format).title} export", need_bytes=_estimated_bytes(bundle),
                        problem=problem, replaced=True)
    return layout


def _estimated_bytes(bundle: Any) -> int:
    """The export holds the backbone's weights: about the size of its converted model, when it is cached;
    twice that, as ONNX and int8 write a float TFLite file first."""
    from imgclf_gui.core.backbones import feature_parts
    from imgclf_gui.core.backbones._cache import backbone_cache_dir

    size = 0
    try:
        for part in feature_parts(bundle.spec):
            converted = backbone_cache_dir(part) / "features.tflite"
            size += converted.stat().st_size if converted.is_file() else 0
    except (OSError, KeyError):
        size = 0
    return int(size * 2.4) + 4 * sum(w.size + b.size for w, b in bundle.head.layers)
