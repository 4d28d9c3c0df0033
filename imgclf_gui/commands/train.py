"""``imgclf train DIR [--out MODEL]``: extract (cached), train with a live line per epoch, report, save.

Without ``--out`` the model is kept as a new run of the project, exactly as the Training tab keeps it,
and becomes the project's active model: the app shows it, and ``imgclf classify DIR ...`` uses it."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(p: argparse.ArgumentParser) -> None:
    """Give the sub-command's parser its description and arguments; :func:`run` handles it."""
    from imgclf_gui.core.training.trainer import TrainConfig

    d = TrainConfig()
    p.description = ("Train a classifier on DIR (one sub-folder per class). Features are "
                     "cached in DIR/.imgclf, so a second run starts at once.")
    p.add_argument("dir", type=Path, help="folder with one sub-folder of images per class")
    p.add_argument("--out", type=Path, help="model folder to write (e.g. flowers.imgclf-model); default: keep it "
                                            "in DIR/.imgclf/runs/ as the project's active model, as the app does")
    p.add_argument("--backbone", default=d.backbone, help=f"pretrained backbone id (default {d.backbone})")
    p.add_argument("--epochs", type=int, default=d.epochs, help=f"most epochs (default {d.epochs})")
    p.add_argument("--learning-rate", type=float, default=d.learning_rate)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--l2", type=float, default=None, help="L2 strength (default: chosen on the validation part)")
    p.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    p.add_argument("--hidden", type=int, default=d.hidden_units, metavar="N",
                   help="add a hidden layer of N units (default: none)")
    p.add_argument("--dropout", type=float, default=d.dropout, help="dropout on the hidden layer")
    p.add_argument("--no-class-weights", action="store_true", help="do not re-weight imbalanced classes")
    p.add_argument("--no-early-stopping", action="store_true", help="train all epochs, keep the last")
    p.add_argument("--patience", type=int, default=d.patience)
    p.add_argument("--augment", type=int, default=d.augment_variants, metavar="K",
                   help="train on K cached augmented variants (flip, crop, brightness) of each image")
    p.add_argument("--validation-percent", type=float, default=d.validation_percent)
    p.add_argument("--test-percent", type=float, default=d.test_percent)
    p.add_argument("--crop", choices=["squash", "center"], default=d.crop,
                   help="squash: whole image resized to a square; center: centre square")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the test report as JSON")
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imgclf_gui.cli import UserError
    from imgclf_gui.core.support.atomic import atomic_write_text
    from imgclf_gui.core.training.trainer import DatasetError, TrainConfig, train

    config = TrainConfig(
        backbone=args.backbone, epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, l2=args.l2, label_smoothing=args.label_smoothing,
        hidden_units=args.hidden, dropout=args.dropout, class_weights=not args.no_class_weights,
        early_stopping=not args.no_early_stopping, patience=args.patience, augment_variants=args.augment,
        validation_percent=args.validation_percent, test_percent=args.test_percent, seed=args.seed,
        crop=args.crop)
    if not args.dir.is_dir():
        raise UserError(f"{args.dir} is not a folder.")
    try:
        from imgclf_gui.core.backbones import availability, get_spec

        get_spec(config.backbone)
        ok, reason = availability(config.backbone)
    except KeyError as exc:
        raise UserError(str(exc).strip("'\"")) from None
    if not ok:
        raise UserError(reason)

    out = sys.stdout
    from imgclf_gui.commands._progress import ProgressLine

    extract_progress = ProgressLine(out, label="Extracting features")

    def on_extract(done: int, total: int) -> None:
        extract_progress(done, total)
        if done == total:
            extract_progress.finish()

    def on_epoch(m) -> None:
        if args.quiet:
            return
        val = (f"  val loss {m.val_loss:.4f}  val acc {m.val_accuracy:.1%}" if m.val_loss is not None else "")
        star = " *" if m.best_epoch == m.epoch else ""
        print(f"epoch {m.epoch:3d}  loss {m.train_loss:.4f}  acc {m.train_accuracy:.1%}{val}{star}",
              file=out, flush=True)

    def on_stage(text: str) -> None:
        if not args.quiet:
            print(f"{text} ...", file=out, flush=True)

    try:
        result = train(config, args.dir, on_epoch=on_epoch, on_extract_progress=on_extract, on_stage=on_stage)
    except DatasetError as exc:
        raise UserError(str(exc)) from None
    for w in result.warnings:
        print(f"Note: {w}", file=out)
    if result.bundle is None:
        raise UserError("training stopped before the first epoch ended; nothing was saved.")
    counts = result.split.counts()
    print(f"Images: {counts['train']} train, {counts['validation']} validation, {counts['test']} test; "
          f"best epoch {result.bundle.metrics.get('best_epoch')}, L2 {result.bundle.config.l2:g}.", file=out)
    if result.report is not None:
        print(result.report.format_text(), file=out)
        if args.json:
            atomic_write_text(args.json, result.report.to_json() + "\n")
    if args.out is not None:
        folder = result.bundle.save(args.out)
        print(f"Saved the model to {folder}", file=out)
        return 0
    from imgclf_gui.core.models.runs import record_training

    try:
        run = record_training(args.dir, result, config)
    except OSError as exc:
        raise UserError(f"The model could not be saved in {args.dir}/.imgclf/runs ({exc.strerror or exc}); "
                        "choose another place with --out.") from None
    print(f"Saved the model as run {run.run_id} ({run.model_path}); it is now the project's active model: "
          f"the app classifies with it, and so does 'imgclf classify {args.dir} IMAGE...'.", file=out)
    return 0
