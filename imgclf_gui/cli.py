"""The ``imgclf`` command line: every thing the app does, as a command.

Each sub-command lives in its own module of :mod:`imgclf_gui.commands` and exposes
``register(subparsers)``, which adds its parser and sets ``func(args) -> int`` as default.
Command modules import nothing heavy (TensorFlow, Qt) at import time, so ``imgclf --help`` is instant.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from imgclf_gui import __version__
from imgclf_gui import commands as _commands


class UserError(Exception):
    """A problem the user can fix (bad path, missing weights...): printed without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imgclf",
        description="Teach your computer your own kinds of images: sort, retrain and classify, locally.",
    )
    parser.add_argument("--version", action="version", version=f"imgclf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(_commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{_commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def quiet_native_logs() -> None:
    """TensorFlow's and LiteRT's C++ INFO lines mean nothing to a user; an explicit setting still wins."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv: list[str] | None = None) -> int:
    quiet_native_logs()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"imgclf {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Cancelled.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`imgclf classify ... | head`): stop quietly, as other commands do. Point
        # stdout at devnull so Python's own flush at exit does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
