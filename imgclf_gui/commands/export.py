"""``imgclf export MODEL --format FORMAT --out FOLDER [--calibration DIR]``: self-tested standalone models."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(p: argparse.ArgumentParser) -> None:
    """Give the sub-command's parser its description and arguments; :func:`run` handles it."""
    from imgclf_gui.commands._model import MODEL_HELP
    from imgclf_gui.core.models.export_formats import FORMATS

    p.description = ("Write MODEL for other programs: a folder with the network (image in, class "
                     "probabilities out, preprocessing included), labels.txt, a README.txt and a predict.py "
                     "that classifies images with only the runtime the format needs. Each export is checked "
                     "against imgclf's own predictions and deleted if they differ (by more than 1e-4; int8: a "
                     "top class other than imgclf's on more than 1% of held-out images), and its predict.py is "
                     "run and must print what imgclf prints. onnx needs pip install 'imgclf[onnx]'.")
    p.add_argument("model", type=Path, help=MODEL_HELP)
    p.add_argument("--format", required=True, choices=FORMATS,
                   help="tflite (LiteRT), tflite-int8 (8-bit integers: about 4x smaller and faster on CPUs, "
                        "calibrated on the training images), onnx (ONNX Runtime and others), keras, savedmodel")
    p.add_argument("--out", type=Path, required=True, metavar="FOLDER",
                   help="the export folder (created; an earlier imgclf export there is replaced)")
    p.add_argument("--calibration", type=Path, metavar="DIR",
                   help="tflite-int8 only: a folder of images like the training images, to calibrate on when "
                        "the model's project is not on this computer (by default its training images are used)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imgclf_gui.cli import UsageError, UserError
    from imgclf_gui.commands._model import load_bundle
    from imgclf_gui.core.models.export_formats import format_availability
    from imgclf_gui.core.models.exporter import ExportError

    if args.calibration is not None:
        if args.format != "tflite-int8":
            raise UsageError("--calibration is for --format tflite-int8 only.")
        if not args.calibration.is_dir():
            raise UsageError(f"{args.calibration} is not a folder.")
    usable, why = format_availability(args.format)
    if not usable:
        raise UserError(why)
    bundle = load_bundle(args.model)
    try:
        result = bundle.export(args.format, args.out, calibration=args.calibration)
    except ExportError as exc:
        raise UserError(str(exc)) from None
    for line in result.summary():
        print(line)
    return 0
