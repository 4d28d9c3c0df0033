"""``imgclf train DIR [--out MODEL]``: extract (cached), cross-validate, train the final model, report, save.

Each fold is announced as it starts, the final model gets a live line per epoch; then a line per fold, the
report on every image's honest prediction, and the images that look filed in the wrong class. ``--json``
writes the report with those under ``suspected_mislabels``. Without ``--out`` the model is kept as a new run
of the project, exactly as the Training tab keeps it, and becomes the project's active model: the app shows
it, and ``imgclf classify DIR ...`` uses it."""
from __future__ import annotations

import argparse
import json
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
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the report as JSON, with the images that "
                                                             "look mislabelled under suspected_mislabels and every "
                                                             "image skipped as unreadable under skipped_unreadable "
                                                             "({path: reason})")
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    p.set_defaults(func=run)


#: skipped (unreadable) images named on screen; --json names all of them
SHOWN_SKIPPED = 10


def run(args: argparse.Namespace) -> int:
    from imgclf_gui.cli import UsageError, UserError
    from imgclf_gui.commands._settings import config_from_args
    from imgclf_gui.core.models.bundle import ModelBundle
    from imgclf_gui.core.review.mislabels import training_mislabels
    from imgclf_gui.core.support.notes import STAGE_EXTRACTING, UNREADABLE_SKIPPED, describe
    from imgclf_gui.core.support.output_paths import OutputError, write_text_output, writing
    from imgclf_gui.core.training.checks import DatasetError
    from imgclf_gui.core.training.crossval import FINAL
    from imgclf_gui.core.training.trainer import train

    config = config_from_args(args)
    if not args.dir.is_dir():
        raise UsageError(f"{args.dir} is not a folder.")
    from imgclf_gui.commands._state import report_project_state

    report_project_state(args.dir, "train")
    try:
        from imgclf_gui.core.backbones import availability, get_spec

        spec = get_spec(config.backbone)
        ok, reason = availability(config.backbone)
    except KeyError as exc:
        raise UsageError(str(exc).strip("'\"")) from None
    if not ok:
        raise UserError(reason)
    check_outputs(args, spec, config)  # before minutes of work, not after

    out = sys.stdout
    from imgclf_gui.commands._progress import ProgressLine

    extract_progress = ProgressLine(out, label="Extracting features")

    def on_extract(done: int, total: int) -> None:
        extract_progress(done, total)
        if done == total:
            extract_progress.finish()

    def on_epoch(e) -> None:
        if args.quiet or e.fold != FINAL:
            return  # the folds are summed up after training, a line each
        m = e.metrics
        print(f"epoch {m.epoch:3d}  loss {m.train_loss:.4f}  acc {m.train_accuracy:.1%}", file=out, flush=True)

    def on_stage(note) -> None:
        if note.kind == STAGE_EXTRACTING:
            extract_progress.restart()
        if not args.quiet:
            print(f"{describe(note)} ...", file=out, flush=True)

    try:
        result = train(config, args.dir, on_epoch=on_epoch, on_extract_progress=on_extract, on_stage=on_stage)
    except DatasetError as exc:
        raise UserError(str(exc)) from None
    show_skipped(result.failed, out)
    for note in result.notes:
        if note.kind != UNREADABLE_SKIPPED:  # named above, one by one
            print(f"Note: {describe(note)}", file=out)
    _print_folds(result, out)
    suspects = training_mislabels(result, args.dir)
    if result.report is not None:
        print(result.report.format_text(), file=out)
    _print_suspects(suspects, args.dir, out)
    if args.json:
        write_text_output(args.json, json.dumps(_json_report(result, suspects), indent=2, ensure_ascii=False) + "\n",
                          "the JSON report", json=True)
    if result.head is None:
        raise UserError("training stopped before the final model was trained; nothing was saved.")
    bundle = ModelBundle.from_training(result)
    if args.out is not None:
        with writing(args.out, "the model", atomic=True):  # saved beside, renamed when complete
            folder = bundle.save(args.out)
        print(f"Saved the model to {folder}", file=out)
        return 0
    from imgclf_gui.core.models.runs import record_training
    from imgclf_gui.core.project import layout

    try:
        with writing(layout.runs_dir(args.dir), "the model", atomic=True):  # a failed run is removed
            run = record_training(args.dir, result, bundle=bundle)
    except OutputError as exc:
        raise OutputError(f"{exc} Choose another place with --out.", path=exc.path) from None
    print(f"Saved the model as run {run.run_id} ({run.model_path}); it is now the project's active model: "
          f"the app classifies with it, and so does 'imgclf classify {args.dir} IMAGE...'.", file=out)
    return 0


def check_outputs(args: argparse.Namespace, spec, config) -> None:
    """Before extracting anything: the model's folder (or the project's runs) and the JSON file can be written."""
    from imgclf_gui.core.models.bundle import estimate_model_bytes, replaceable_problem
    from imgclf_gui.core.project import layout
    from imgclf_gui.core.project.scan import scan_samples
    from imgclf_gui.core.support.output_paths import OutputError, check_output_file, check_output_folder

    samples = scan_samples(args.dir)
    need = estimate_model_bytes(spec.dim, config.hidden_units, len({s.label for s in samples}), len(samples))
    if args.json:
        check_output_file(args.json, "the JSON report", need_bytes=300 * len(samples))
    if args.out is not None:
        check_output_folder(args.out, "the model", need_bytes=need, problem=replaceable_problem, replaced=True)
        return
    try:
        check_output_folder(layout.runs_dir(args.dir), "the model", need_bytes=need)
    except OutputError as exc:
        raise OutputError(f"{exc} Choose another place with --out.", path=exc.path) from None


def show_skipped(failed: dict[str, str], out) -> None:
    """Name the images training skipped as unreadable: the first ten, then how many more."""
    if not failed:
        return
    print(f"Skipped {len(failed)} unreadable image(s):", file=out)
    for path, reason in sorted(failed.items())[:SHOWN_SKIPPED]:
        print(f"  {path}: {reason}", file=out)
    if len(failed) > SHOWN_SKIPPED:
        print(f"  ... and {len(failed) - SHOWN_SKIPPED} more (--json FILE lists them all)", file=out)


def _print_folds(result, out) -> None:
    cv = result.crossval
    if cv is None:
        return
    for f in cv.folds:
        print(f"Fold {f.fold} of {result.folds.k}: learnt from {f.trained_on}, validated on {f.validated_on} "
              f"(L2 {f.l2:g}, best epoch {f.best_epoch}), held out {f.held_out}: {f.held_out_accuracy:.1%} right",
              file=out)
    if cv.final is not None:
        counts = result.part_counts()
        test = f"; {counts['test']} kept as the test part" if counts["test"] else ""
        print(f"Final model: learnt from {counts['train']} images{test}, L2 {cv.final_l2:g}, "
              f"{len(cv.final.history)} of {cv.final_epochs} epochs.", file=out)


def _print_suspects(suspects, root: Path, out, shown: int = 20) -> None:
    if not suspects:
        return
    print(f"Possibly mislabelled ({len(suspects)}, worst first; folder -> suggested class):", file=out)
    for s in suspects[:shown]:
        try:
            name = s.path.relative_to(root).as_posix()
        except ValueError:
            name = str(s.path)
        print(f"  {name}: {s.label} -> {s.suggested} ({s.confidence:.0%})", file=out)
    if len(suspects) > shown:
        print(f"  ... and {len(suspects) - shown} more ('imgclf check {root}' lists them all)", file=out)


def _json_report(result, suspects) -> dict:
    """The report's JSON, the suspected mislabels and what the folds chose (without epoch curves)."""
    data = result.report.to_dict() if result.report is not None else {"part": None, "count": 0}
    data["suspected_mislabels"] = [s.to_dict() for s in suspects]
    data["crossval"] = {k: v for k, v in result.metrics.get("crossval", {}).items() if k != "histories"}
    data["skipped_unreadable"] = dict(sorted(result.failed.items()))
    return data
