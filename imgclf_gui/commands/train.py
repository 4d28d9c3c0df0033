"""``imgclf train DIR [--out MODEL]``: extract (cached), train with a live line per epoch, report, save.

Without ``--out`` the model is kept as a new run of the project, exactly as the Training tab keeps it,
and becomes the project's active model: the app shows it, and ``imgclf classify DIR ...`` uses it."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(p: argparse.ArgumentParser) -> None:
    """Give the sub-command's parser its description and arguments; :func:`run` handles it."""
    from imgclf_gui.commands._settings import add_setting_flags

    p.description = ("Train a classifier on DIR (one sub-folder per class). Features are "
                     "cached in DIR/.imgclf, so a second run starts at once.")
    p.add_argument("dir", type=Path, help="folder with one sub-folder of images per class")
    p.add_argument("--out", type=Path, help="model folder to write (e.g. flowers.imgclf-model); default: keep it "
                                            "in DIR/.imgclf/runs/ as the project's active model, as the app does")
    add_setting_flags(p)
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the test report as JSON")
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imgclf_gui.cli import UserError
    from imgclf_gui.commands._settings import config_from_args
    from imgclf_gui.core.models.bundle import ModelBundle
    from imgclf_gui.core.support.atomic import atomic_write_text
    from imgclf_gui.core.support.notes import STAGE_EXTRACTING, describe
    from imgclf_gui.core.training.checks import DatasetError
    from imgclf_gui.core.training.trainer import train

    config = config_from_args(args)
    if not args.dir.is_dir():
        raise UserError(f"{args.dir} is not a folder.")
    from imgclf_gui.commands._state import report_project_state

    report_project_state(args.dir, "train")
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

    def on_stage(note) -> None:
        if note.kind == STAGE_EXTRACTING:
            extract_progress.restart()
        if not args.quiet:
            print(f"{describe(note)} ...", file=out, flush=True)

    try:
        result = train(config, args.dir, on_epoch=on_epoch, on_extract_progress=on_extract, on_stage=on_stage)
    except DatasetError as exc:
        raise UserError(str(exc)) from None
    for note in result.notes:
        print(f"Note: {describe(note)}", file=out)
    if result.head is None:
        raise UserError("training stopped before the first epoch ended; nothing was saved.")
    counts = result.split.counts()
    print(f"Images: {counts['train']} train, {counts['validation']} validation, {counts['test']} test; "
          f"best epoch {result.best_epoch}, L2 {result.config.l2:g}.", file=out)
    if result.report is not None:
        print(result.report.format_text(), file=out)
        if args.json:
            atomic_write_text(args.json, result.report.to_json() + "\n")
    bundle = ModelBundle.from_training(result)
    if args.out is not None:
        folder = bundle.save(args.out)
        print(f"Saved the model to {folder}", file=out)
        return 0
    from imgclf_gui.core.models.runs import record_training

    try:
        run = record_training(args.dir, result, bundle=bundle)
    except OSError as exc:
        raise UserError(f"The model could not be saved in {args.dir}/.imgclf/runs ({exc.strerror or exc}); "
                        "choose another place with --out.") from None
    print(f"Saved the model as run {run.run_id} ({run.model_path}); it is now the project's active model: "
          f"the app classifies with it, and so does 'imgclf classify {args.dir} IMAGE...'.", file=out)
    return 0
