"""``imgclf export MODEL --format keras|savedmodel|tflite --out PATH``: self-tested standalone models."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(p: argparse.ArgumentParser) -> None:
    """Give the sub-command's parser its description and arguments; :func:`run` handles it."""
    from imgclf_gui.commands._model import MODEL_HELP

    p.description = ("Write MODEL as one self-contained network (image in, class "
                      "probabilities out, preprocessing included), with labels.txt and a "
                      "README.txt beside it. Each export is checked against imgclf's own "
                      "predictions and deleted if they differ by more than 1e-4.")
    p.add_argument("model", type=Path, help=MODEL_HELP)
    p.add_argument("--format", required=True, choices=["keras", "savedmodel", "tflite"])
    p.add_argument("--out", type=Path, required=True, help="file (.keras, .tflite) or folder (savedmodel)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imgclf_gui.cli import UsageError, UserError
    from imgclf_gui.commands._model import load_bundle
    from imgclf_gui.core.models.exporter import ExportError, export_paths

    try:
        export_paths(args.format, args.out)
    except ExportError as exc:
        raise UsageError(str(exc)) from None
    bundle = load_bundle(args.model)
    try:
        result = bundle.export(args.format, args.out)
    except ExportError as exc:
        raise UserError(str(exc)) from None
    print(f"Wrote {result.path} ({args.format}); labels in {result.labels_path}.")
    print(f"Self-test on {result.checked} image(s): largest difference from imgclf's own probabilities "
          f"{result.max_abs_diff:.2e} (limit {result.tolerance:g}).")
    return 0
