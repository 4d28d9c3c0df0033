"""``imgclf doctor``: print what a bug report needs (versions, usable backbones, folders)."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="show versions, which backbones work offline, and where imgclf keeps its files",
        description="Print what a bug report needs: versions of Python, Qt, TensorFlow and the other "
                    "packages, which backbones are usable with no network (and why not), and whether the "
                    "cache and config folders are writable. Uses no network. Exits 1 when it finds a problem.",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--no-qt", action="store_true",
                        help="do not load Qt (for a machine where loading it crashes)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imgclf_gui.core.support.diagnostics import gather

    probe = None
    if not args.no_qt:
        from imgclf_gui.gui.common.qt_probe import qt_info as probe
    report = gather(qt_probe=probe)
    print(report.to_json() if args.json else report.to_text())
    return 1 if report.problems else 0
