"""Command-line flags made from the declared training settings (``core/training/config.SETTINGS``).

Each setting gives one flag with its declared default, range and help; ``config_from_args`` reads them
back into a ``TrainConfig``. Nothing about a setting is written here.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from imgclf_gui.core.training.config import SETTING_BY_NAME, SETTINGS, Setting, TrainConfig


def _parser_for(setting: Setting) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = setting.type(text) if setting.type is not int else int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole ' if setting.type is int else ''}"
                                             "number") from None
        problem = setting.problem(value)
        if problem:
            raise argparse.ArgumentTypeError(problem[0].lower() + problem[1:])
        return value

    parse.__name__ = setting.type.__name__
    return parse


def _number(value: float, kind: type) -> str:
    return str(int(value)) if kind is int else f"{value:g}"


def _help(setting: Setting) -> str:
    text = setting.help[0].lower() + setting.help[1:].rstrip(".")
    if setting.type is bool:
        return f"turn off: {text} (on by default)" if setting.default else f"{text} (off by default)"
    if setting.optional and setting.default is None:
        default = "automatic"
    elif setting.type in (int, float):
        default = _number(setting.default, setting.type) + setting.unit
    else:
        default = str(setting.default)
    bounds = ""
    if setting.minimum is not None and setting.maximum is not None:
        bounds = (f"; {_number(setting.minimum, setting.type)} to {_number(setting.maximum, setting.type)}"
                  f"{setting.unit}")
    return f"{text} (default {default}{bounds})".replace("%", "%%")


def _metavar(setting: Setting) -> str | None:
    if setting.metavar or setting.type not in (int, float):
        return setting.metavar
    return "PERCENT" if setting.unit == "%" else ("N" if setting.type is int else "X")


def add_setting_flags(parser: argparse.ArgumentParser, names: Iterable[str] | None = None, *,
                      flags: Mapping[str, str] | None = None) -> None:
    """Add a flag for each named setting (default: all); ``flags`` renames some (``{"augment_variants":
    "--variants"}`` for ``imgclf extract``)."""
    flags = flags or {}
    for setting in (SETTING_BY_NAME[n] for n in names) if names is not None else SETTINGS:
        flag = flags.get(setting.name, setting.cli_flag)
        if setting.type is bool:
            parser.add_argument(flag, dest=setting.name, default=setting.default, help=_help(setting),
                                action="store_false" if setting.default else "store_true")
        elif setting.choices:
            parser.add_argument(flag, dest=setting.name, default=setting.default, help=_help(setting),
                                choices=[value for value, _label in setting.choices])
        elif setting.type is str:
            parser.add_argument(flag, dest=setting.name, default=setting.default, help=_help(setting),
                                metavar=setting.metavar)
        else:
            parser.add_argument(flag, dest=setting.name, default=setting.default, help=_help(setting),
                                type=_parser_for(setting), metavar=_metavar(setting))


def config_from_args(args: argparse.Namespace) -> Any:
    """A ``TrainConfig`` of the settings flags given (defaults for those the command does not have)."""
    return TrainConfig(**{s.name: getattr(args, s.name) for s in SETTINGS if hasattr(args, s.name)})
