"""``imgclf extract DIR``: compute (or refresh) the cached bottleneck of every image of a project.

Useful before training on a big folder, or overnight: training then starts at once.
"""
from __future__ import annotations

import argparse
import sys
import time

from imgclf_gui.commands._cluster import add_cluster_option, cluster_session
from imgclf_gui.commands._progress import ProgressLine
from imgclf_gui.commands._settings import add_setting_flags
from imgclf_gui.core.support.clock import format_duration


def register(p: argparse.ArgumentParser) -> None:
    """Give the sub-command's parser its description and arguments; :func:`run` handles it."""
    p.description = ("Run every image of DIR (one sub-folder per class) through the backbone once and cache "
                     "the result in DIR/.imgclf/, so training and evaluation start at once.")
    p.add_argument("dir", metavar="DIR", help="project folder: one sub-folder of images per class")
    # The training settings that decide which bottlenecks training will look for (see `imgclf train`).
    add_setting_flags(p, ("backbone", "augment_variants", "flips", "crop"), flags={"augment_variants": "--variants"})
    add_cluster_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from imgclf_gui.cli import UsageError, UserError
    from imgclf_gui.core.backbones import BackboneUnavailable, get_spec, needs_preparation, prepare_backbone
    from imgclf_gui.core.features.extraction import extract_features
    from imgclf_gui.core.project.scan import printable, scan_samples
    from imgclf_gui.core.support.notes import STAGE_PREPARING_BACKBONE, Note, describe

    root = Path(args.dir)
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder.")
    from imgclf_gui.commands._state import report_project_state

    report_project_state(root, "extract")
    backbone, variants = args.backbone, args.augment_variants
    flips = args.flips != "off"  # the mirror images training's folds decide on (see `imgclf train --flips`)
    try:
        spec = get_spec(backbone)
    except KeyError as exc:
        raise UsageError(str(exc.args[0] if exc.args else exc)) from None
    skipped: list = []
    samples = scan_samples(root, skipped)
    for entry in skipped:  # links, loops, FIFOs, paths too long: named, never a traceback
        print(f"  skipped: {printable(entry.path)}: {entry.reason}", file=sys.stderr)
    if not samples:
        raise UserError(f"no images found in class folders of {root} (expected {root}/<class>/<image>).")
    classes = sorted({s.label for s in samples})
    print(f"{len(samples)} images in {len(classes)} classes; backbone {backbone}, crop {args.crop}"
          + (f", {variants} augmented variants each" if variants else "") + (", mirror images" if flips else ""))
    progress = ProgressLine(sys.stdout)
    started = time.monotonic()
    try:
        if needs_preparation(backbone):
            print(f"{describe(Note(STAGE_PREPARING_BACKBONE, {'backbone': spec.display_name}))} ...", flush=True)
            prepare_backbone(backbone)
            progress.restart()
        if args.cluster:
            from imgclf_gui.core.backbones import feature_parts
            from imgclf_gui.core.cluster.bottlenecks import extract_on_cluster

            with cluster_session(args.cluster) as session:
                # a combined backbone's networks one after the other, each into its own cache
                for part in feature_parts(backbone):
                    progress.restart()
                    result = extract_on_cluster(session, [s.path for s in samples], part.id, root,
                                                variants=variants, flips=flips, crop=args.crop,
                                                on_progress=progress)
        else:
            result = extract_features([s.path for s in samples], backbone, root, variants=variants,
                                      flips=flips, crop=args.crop, on_progress=progress)
    except BackboneUnavailable as exc:
        progress.finish()
        raise UserError(str(exc)) from None
    progress.finish()
    elapsed = time.monotonic() - started
    print(f"Done in {format_duration(elapsed)}: {result.computed} computed, {result.from_cache} from cache, "
          f"{len(result.failed)} failed.")
    for path, reason in sorted(result.failed.items()):
        print(f"  failed: {path}: {reason}")
    for warning in result.warnings:
        print(f"Warning: {describe(warning)}", file=sys.stderr)
    return 1 if result.failed and not (result.computed or result.from_cache) else 0
