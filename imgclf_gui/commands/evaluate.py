"""``imgclf evaluate MODEL DIR``: scores on a labelled folder (images the model was not trained on)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(p: argparse.ArgumentParser) -> None:
    """Give the sub-command's parser its description and arguments; :func:`run` handles it."""
    from imgclf_gui.commands._model import MODEL_HELP

    p.description = ("Score MODEL on DIR (one sub-folder per class, named like the model's "
                     "classes): accuracy, per-class table, confusion matrix, misclassified "
                     "files. Images the model was trained on are left out.")
    p.add_argument("model", type=Path, help=MODEL_HELP)
    p.add_argument("dir", type=Path)
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the report as JSON ('-' for stdout)")
    p.add_argument("--max-mistakes", type=int, default=20, help="misclassified files listed (default 20)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from imgclf_gui.cli import UsageError, UserError
    from imgclf_gui.commands._model import open_model
    from imgclf_gui.core.models.predict import score_files
    from imgclf_gui.core.project.scan import printable, scan_samples
    from imgclf_gui.core.support.file_hash import content_hash
    from imgclf_gui.core.support.output_paths import check_output_file, escape_undecodable, write_text_output
    from imgclf_gui.core.training.evaluation import PART_FOLDER, evaluate_probabilities

    if not args.dir.is_dir():
        raise UsageError(f"{args.dir} is not a folder.")
    if args.json and str(args.json) != "-":
        check_output_file(args.json, "the JSON report", need_bytes=64 << 10)
    predictor = open_model(args.model)
    bundle = predictor.bundle
    skipped: list = []
    samples = scan_samples(args.dir, skipped)
    known = {n: i for i, n in enumerate(bundle.class_names)}
    unknown = sorted({s.label for s in samples} - set(known))
    if unknown:
        print(f"Note: skipping folders that are not classes of this model: {', '.join(unknown)}",
              file=sys.stderr)
    samples = [s for s in samples if s.label in known]
    trained = set(bundle.train_hashes)
    kept = []
    for s in samples:
        try:
            if content_hash(s.path) in trained:
                continue
        except OSError:
            pass  # unreadable: score_files reports it
        kept.append(s)
    if len(kept) < len(samples):
        print(f"Note: left out {len(samples) - len(kept)} image(s) the model was trained on.", file=sys.stderr)
    if not kept and samples:
        raise UserError(f"the model learnt from every image in {args.dir}, so it cannot be scored on them; its "
                        "training report already scores each one by cross-validation (imgclf train prints it). "
                        "Score it on images it never saw.")
    if not kept:
        raise UserError(f"no images to score in {args.dir} (class folders must be named like the model's "
                        f"classes: {', '.join(bundle.class_names)}).")
    rows = score_files(predictor, [s.path for s in kept])
    scored = [(s, r) for s, r in zip(kept, rows) if r.scores is not None]
    probs = np.array([r.scores for _, r in scored], np.float32).reshape(len(scored), len(bundle.class_names))
    report = evaluate_probabilities(probs, np.array([known[s.label] for s, _ in scored], int), bundle.class_names,
                                    [str(s.path) for s, _ in scored], part=PART_FOLDER)
    report.failed = {**{printable(s.path): s.reason for s in skipped},
                     **{str(r.path): r.error for r in rows if r.scores is None}}
    if args.json and str(args.json) == "-":
        print(escape_undecodable(report.to_json(), json=True))
        return 0
    print(report.format_text(max_mistakes=args.max_mistakes))
    if args.json:
        write_text_output(args.json, report.to_json() + "\n", "the JSON report", json=True)
    return 0
