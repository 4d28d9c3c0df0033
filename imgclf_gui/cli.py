"""The ``imgclf`` command line: every thing the app does, as a command.

Each sub-command lives in its own module of :mod:`imgclf_gui.commands` and exposes
``register(parser)``, which gives the sub-command's parser its description and arguments and sets
``func(args) -> int`` as default. This module knows every sub-command's name and one-line help
(:data:`COMMANDS`), so ``imgclf --help`` lists them all without importing any, and only the module of the
command being run (or asked for ``--help``) is imported. Command modules import nothing heavy (TensorFlow,
Qt) at import time either, so ``imgclf --help`` is instant.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from imgclf_gui import __version__

#: Every sub-command, in the order ``imgclf --help`` lists them: name (= module in
#: :mod:`imgclf_gui.commands`) -> the one line shown in that list.
COMMANDS: dict[str, str] = {
    "check": "look for unreadable, duplicate and possibly mislabelled images in a project",
    "classify": "classify image files or folders with a model",
    "demo": "write a small demo project (circles, squares, pluses, triangles) to try everything",
    "doctor": "show versions, which backbones work offline, and where imgclf keeps its files",
    "evaluate": "score a model on a labelled folder",
    "export": "write a model for other programs (TFLite, int8 TFLite, ONNX, Keras, SavedModel)",
    "extract": "compute and cache the bottleneck of every image in a project",
    "imagenet": "show the ImageNet classes the pretrained network sees in images",
    "suggest": "suggest a class for every image in a project's inbox, and accept the sure ones",
    "train": "train a model on a folder of class folders",
}


#: How every command ends; the epilog of ``imgclf --help`` and of every sub-command's ``--help``.
EXIT_CODES = ("Exit codes: 0 done; 1 failed, with a one-sentence message (an unusable model or input, an output "
              "that cannot be written, a full disk); 2 wrong usage (an unknown option, a value out of range, a "
              "path that does not exist or is of the wrong kind). File names that are not valid UTF-8 are "
              "written as \\xNN per undecodable byte, on screen and in CSV and JSON files.")


class UserError(Exception):
    """A problem the user can fix (an unusable model, missing weights...): printed without a traceback,
    exit code 1."""


class UsageError(UserError):
    """The command line itself is wrong (a path that does not exist, a value out of range): exit code 2."""


def command_in(argv: Sequence[str]) -> str | None:
    """The sub-command named in ``argv``: its first word that is not an option (no top-level option
    takes a value), or None."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``imgclf`` parser. Every sub-command is listed with its help; only ``command`` gets its
    arguments, from its module, which is imported here and nowhere else."""
    parser = argparse.ArgumentParser(
        prog="imgclf",
        description="Teach your computer your own kinds of images: sort, retrain and classify, locally.",
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"imgclf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_line in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_line, epilog=EXIT_CODES)
        if name == command:
            importlib.import_module(f"imgclf_gui.commands.{name}").register(command_parser)
    return parser


def quiet_native_logs() -> None:
    """TensorFlow's and LiteRT's C++ INFO lines mean nothing to a user; an explicit setting still wins.

    TensorFlow 2.21 announces its oneDNN custom operations through absl whatever TF_CPP_MIN_LOG_LEVEL says
    (two lines at every import); they are turned off instead. imgclf only builds and exports models with
    TensorFlow (inference is LiteRT), and each export is checked against the app within 1e-4 either way.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def main(argv: list[str] | None = None) -> int:
    quiet_native_logs()
    escape_undecodable_names()
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(command_in(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"imgclf {args.command}: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1
    except KeyboardInterrupt:
        print("Cancelled.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`imgclf classify ... | head`): stop quietly, as other commands do. Point
        # stdout at devnull so Python's own flush at exit does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as exc:
        code = known_failure(exc)
        if code is None:
            raise  # a bug: the traceback is what a report needs
        print(f"imgclf {args.command}: {exc}", file=sys.stderr)
        return code


def known_failure(exc: Exception) -> int | None:
    """The exit code for a failure core describes in a sentence of its own (an output that cannot be
    written, an unusable model, a backbone that is unavailable), or None for anything else."""
    from imgclf_gui.core.support.output_paths import OutputError

    if isinstance(exc, OutputError):
        return 2 if exc.wrong_kind else 1
    from imgclf_gui.core.backbones import BackboneUnavailable
    from imgclf_gui.core.models.bundle_files import BundleError

    return 1 if isinstance(exc, BundleError | BackboneUnavailable) else None


def escape_undecodable_names() -> None:
    """Print file names that are not valid UTF-8 as ``\\xNN`` (as CSV files hold them) instead of failing."""
    from imgclf_gui.core.support.output_paths import ESCAPE

    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and (getattr(stream, "encoding", "") or "").lower().replace("-", "") == "utf8":
            try:
                reconfigure(errors=ESCAPE)
            except (ValueError, OSError):
                pass  # a stream that cannot change: names are printed as Python does by default


if __name__ == "__main__":
    sys.exit(main())
