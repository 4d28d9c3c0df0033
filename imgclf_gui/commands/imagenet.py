"""``imgclf imagenet``: what the pretrained network itself sees in an image (its 1000 ImageNet classes).

Handy to check that a backbone works before training on it, like TensorFlow's old
``classify_image.py`` with its panda.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(parser: argparse.ArgumentParser) -> None:
    """Give the sub-command's parser its description and arguments; :func:`run` handles it."""
    parser.description = ("Print the top ImageNet classes, with scores, that a pretrained backbone sees in each "
                          "image. Works offline with the built-in backbones.")
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="image files to look at")
    from imgclf_gui.core.backbones.spec import IMAGENET_BACKBONE

    parser.add_argument("--backbone", default=None, metavar="ID",
                        help=f"backbone to use (default: {IMAGENET_BACKBONE}; see `imgclf doctor`)")
    parser.add_argument("--top", type=int, default=5, metavar="K", help="how many classes to show (default 5)")
    parser.add_argument("--crop", choices=("squash", "center"), default="squash",
                        help="fit the whole image (squash, default) or its centre square")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imgclf_gui.cli import UsageError, UserError
    from imgclf_gui.core import backbones
    from imgclf_gui.core.models.predict import ModelLoadError, ModelSource, ResultRow, open_predictor, score_files

    backbone_id = args.backbone or backbones.IMAGENET_BACKBONE
    if args.top < 1:
        raise UsageError("--top must be at least 1.")
    try:
        spec = backbones.get_spec(backbone_id)
    except KeyError:
        known = ", ".join(s.id for s in backbones.list_specs())
        raise UsageError(f"unknown backbone {backbone_id!r}; choose one of: {known}.") from None
    try:
        predictor = open_predictor(ModelSource.imagenet(spec.id, args.crop))
    except ModelLoadError as exc:
        raise UserError(str(exc)) from None
    names = predictor.class_names
    top = min(args.top, len(names))
    classified = 0

    def show(batch: list[ResultRow]) -> None:
        nonlocal classified
        for row in batch:
            if row.scores is None:
                print(f"{row.path}: skipped: {row.error}", file=sys.stderr)
                continue
            print(f"{row.path}:")
            for index in row.scores.argsort()[::-1][:top]:
                print(f"  {names[index]} (score = {row.scores[index]:.5f})")
            classified += 1

    score_files(predictor, args.images, on_rows=show)
    if classified == 0:
        raise UserError("no image could be read")
    return 0
