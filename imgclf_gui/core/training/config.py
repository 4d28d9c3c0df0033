"""Every setting of a training run, declared once: name, type, default, range, one line of help, level, unit.

Everything else is built from ``SETTINGS``: the ``TrainConfig`` dataclass (what ``train`` takes and a model
remembers), the head's ``HeadOptions`` (the subset ``train_head`` needs), the flags of ``imgclf train``
(``commands/train.py``) and the Training tab's form (``gui/training/settings_form.py``). To add a setting,
add one ``Setting`` here; the flag and the form field follow, and older settings files simply get its
default. Nothing here imports Qt or argparse: the declarations are plain data.

The per-project settings file (``.imgclf/training_settings.json``, ``{"schema": 2, "config": {...}}``) is
read and written by ``load_project_config`` / ``save_project_config``.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, make_dataclass
from typing import Any

from imgclf_gui.core.backbones.spec import DEFAULT_BACKBONE
from imgclf_gui.core.project import layout

__all__ = ["Setting", "SETTINGS", "SETTING_BY_NAME", "HEAD_SETTING_NAMES", "L2_CANDIDATES", "L2_WITHOUT_VALIDATION",
           "TrainConfig", "HeadOptions", "BASIC", "ADVANCED", "load_project_config", "save_project_config"]

BASIC, ADVANCED = "basic", "advanced"

#: L2 strengths the head tries when ``l2`` is automatic (loss = mean cross-entropy + l2 * sum of squared
#: weights); the one with the lowest validation loss wins.
L2_CANDIDATES = (1e-4, 1e-3, 1e-2, 3e-2, 1e-1)
#: automatic L2 with no validation images to choose on
L2_WITHOUT_VALIDATION = L2_CANDIDATES[1]


@dataclass(frozen=True)
class Setting:
    """One setting of a training run, as the config, the command line and the form all see it."""

    name: str  #: attribute of ``TrainConfig`` and key in settings files / ``model.json``
    type: type  #: int, float, bool or str
    default: Any
    label: str  #: the form's label
    help: str  #: one line, in plain words
    level: str = ADVANCED  #: BASIC (always shown) or ADVANCED (folded away in the form)
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None  #: a spin box's step
    decimals: int = 0  #: decimals a float is shown with
    unit: str = ""  #: shown after the value ("%")
    choices: tuple[tuple[str, str], ...] = ()  #: (value, label) when only these values are allowed
    #: None is allowed and means "chosen automatically"; ``auto_label`` names that in the form
    optional: bool = False
    auto_label: str = ""
    flag: str = ""  #: the command-line flag; default ``--`` + name with dashes (``--no-...`` for an on switch)
    metavar: str | None = None
    head: bool = False  #: passed on to the head (``HeadOptions``)
    manual_default: Any = None  #: for an optional setting: the value offered when "automatic" is turned off

    @property
    def cli_flag(self) -> str:
        if self.flag:
            return self.flag
        dashed = self.name.replace("_", "-")
        return f"--no-{dashed}" if self.type is bool and self.default else f"--{dashed}"

    def problem(self, value: Any) -> str | None:
        """Why ``value`` cannot be used for this setting (a sentence), or None when it can."""
        if value is None:
            return None if self.optional else f"{self.label} needs a value."
        if self.type is bool:
            return None if isinstance(value, bool) else f"{self.label} is on or off."
        if self.type is str:
            if not isinstance(value, str) or not value:
                return f"{self.label} needs a name."
            allowed = [v for v, _label in self.choices]
            if allowed and value not in allowed:
                return f"{self.label} must be one of {', '.join(allowed)}, not {value!r}."
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return f"{self.label} must be a number."
        if self.type is int and value != int(value):
            return f"{self.label} must be a whole number."
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            return f"{self.label} must be between {self.minimum:g} and {self.maximum:g}{self.unit}, not {value:g}."
        return None

    def coerce(self, value: Any) -> Any:
        """``value`` read from a file as this setting's type; the default when it is not usable at all.

        A value out of range is kept (a model trained before the range was set says how it was trained);
        the form and the command line only ever offer values in range.
        """
        if value is None:
            return None if self.optional else self.default
        try:
            if self.type is bool:
                return value if isinstance(value, bool) else self.default
            if self.type is str:
                return value if isinstance(value, str) and value and self.problem(value) is None else self.default
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                return self.default
            return int(value) if self.type is int and value == int(value) else (
                float(value) if self.type is float else self.default)
        except (TypeError, ValueError, OverflowError):
            return self.default

    def clamp(self, value: Any) -> Any:
        """``value`` moved into this setting's range (numbers only; anything else as it is)."""
        if value is None or self.type not in (int, float) or isinstance(value, bool):
            return value
        if self.minimum is not None and value < self.minimum:
            value = self.type(self.minimum)
        if self.maximum is not None and value > self.maximum:
            value = self.type(self.maximum)
        return value


SETTINGS: tuple[Setting, ...] = (
    Setting("backbone", str, DEFAULT_BACKBONE, "Backbone",
            "The pretrained network that turns each image into numbers once. The default, EfficientNet-Lite0 + "
            "Lite2, is the most accurate; Lite0 alone is faster, SqueezeNet fastest.", BASIC, metavar="ID"),
    Setting("epochs", int, 100, "Epochs",
            "Passes over the training images at most; training stops earlier when validation stops improving.",
            BASIC, minimum=1, maximum=2000, head=True),
    Setting("augment_variants", int, 0, "Augmented copies",
            "Flipped, cropped or brighter copies of each training image; they help with few images, and each "
            "costs one more extraction.", BASIC, minimum=0, maximum=10, flag="--augment", metavar="K"),
    Setting("flips", str, "auto", "Mirror images",
            "Also learn from each image flipped left to right, and score an image with its mirror image too; "
            "automatic uses them only where the folds show they help (text, flags and arrows are not "
            "symmetric). Each costs one more extraction.",
            choices=(("auto", "Automatic (the folds decide)"), ("on", "Always"), ("off", "Never"))),
    Setting("folds", int, 5, "Folds",
            "Each image is scored by a model trained on the other folds, which never saw it; fewer when a "
            "class is tiny.", BASIC, minimum=2, maximum=10),
    Setting("validation_percent", float, 10.0, "Validation",
            "Share of each fold's training images held out to choose its best epoch and regularisation.",
            BASIC, minimum=0, maximum=50, step=1, decimals=1, unit="%"),
    Setting("test_percent", float, 0.0, "Test part",
            "Share of each class never used for any choice nor learnt from, only to score the final "
            "model; 0: none (every image is scored by the folds).",
            BASIC, minimum=0, maximum=50, step=1, decimals=1, unit="%"),
    Setting("learning_rate", float, 1e-3, "Learning rate", "Step size of the optimiser (Adam).",
            minimum=1e-5, maximum=1.0, step=1e-3, decimals=5, head=True),
    Setting("batch_size", int, 128, "Batch size", "Images per optimiser step.", minimum=1, maximum=4096,
            head=True),
    Setting("patience", int, 10, "Patience", "Epochs without improvement before stopping early.",
            minimum=1, maximum=500, head=True),
    Setting("early_stopping", bool, True, "Early stopping",
            "Stop when the validation loss stops improving and keep the best epoch.", head=True),
    Setting("class_weights", bool, True, "Balance classes",
            "Weigh rare classes up so they count as much as common ones.", head=True),
    Setting("l2", float, None, "L2 penalty",
            "Discourages large weights. Automatic trains with each of "
            f"{len(L2_CANDIDATES)} strengths ({', '.join(f'{c:g}' for c in L2_CANDIDATES)}) and keeps the "
            "one with the lowest validation loss (without validation images: "
            f"{L2_WITHOUT_VALIDATION:g}).",
            minimum=0, maximum=1, step=1e-4, decimals=6, optional=True, auto_label="choose automatically",
            head=True, manual_default=L2_CANDIDATES[0]),
    Setting("label_smoothing", float, 0.0, "Label smoothing", "Makes the model less over-confident.",
            minimum=0, maximum=0.5, step=0.05, decimals=2, head=True),
    Setting("hidden_units", int, 0, "Hidden units",
            "0: one linear layer on the bottlenecks; N: a hidden layer of N units.",
            minimum=0, maximum=4096, flag="--hidden", metavar="N", head=True),
    Setting("dropout", float, 0.2, "Dropout",
            "Share of hidden units dropped while training (hidden layer only).",
            minimum=0, maximum=0.9, step=0.05, decimals=2, head=True),
    Setting("seed", int, 0, "Seed", "The same seed and images give the same model.",
            minimum=0, maximum=2**31 - 1, head=True),
    Setting("crop", str, "squash", "Image to square", "How an image becomes the square the backbone sees.",
            choices=(("squash", "Whole image (squash)"), ("center", "Centre square"))),
)

SETTING_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
HEAD_SETTING_NAMES: tuple[str, ...] = tuple(s.name for s in SETTINGS if s.head)


def _annotation(s: Setting) -> str:
    return s.type.__name__ + (" | None" if s.optional else "")


def _to_dict(self: Any) -> dict[str, Any]:
    """The settings as a JSON-able dict (what settings files and ``model.json`` store)."""
    return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _from_dict(cls: type, data: Any) -> Any:
    """Tolerant of older and newer files: unknown keys are ignored, missing or unusable values get the default."""
    data = data if isinstance(data, dict) else {}
    return cls(**{name: SETTING_BY_NAME[name].coerce(data[name])
                  for name in cls.__dataclass_fields__ if name in data})


def _settings_dataclass(name: str, names: tuple[str, ...], doc: str, namespace: dict[str, Any]) -> type:
    cls = make_dataclass(
        name, [(n, _annotation(SETTING_BY_NAME[n]), field(default=SETTING_BY_NAME[n].default)) for n in names],
        namespace={"__doc__": doc, "to_dict": _to_dict, "from_dict": classmethod(_from_dict), **namespace})
    cls.__module__ = __name__
    return cls


def _head_options(self: Any) -> Any:
    """The head's share of these settings."""
    return HeadOptions(**{n: getattr(self, n) for n in HEAD_SETTING_NAMES})


#: Every choice of a training run (fields: the names in ``SETTINGS``); JSON-able, stored in each model.
TrainConfig = _settings_dataclass(
    "TrainConfig", tuple(s.name for s in SETTINGS),
    "Every choice of a training run, one field per declared ``Setting``; defaults need no tuning.",
    {"head_options": _head_options})

#: What ``train_head`` needs: the settings declared with ``head=True``.
HeadOptions = _settings_dataclass(
    "HeadOptions", HEAD_SETTING_NAMES, "Everything ``train_head`` needs; ``TrainConfig`` carries the same names.",
    {})


#: ``training_settings.json`` format. 2: cross-validation; a file of format 1 was written when a 10% test part
#: was the only way to score a model, so its test part (if still the old default) is turned off on reading.
SETTINGS_FILE_SCHEMA = 2
_OLD_DEFAULT_TEST_PERCENT = 10.0


def load_project_config(project_root: str | os.PathLike[str]) -> Any:
    """The settings remembered for a project (defaults when none are, or the file is unreadable); values
    a person edited out of range are moved into it, as the form would show them."""
    try:
        data = json.loads(layout.training_settings_file(project_root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return TrainConfig()
    stored = data.get("config") if isinstance(data, dict) else None
    if isinstance(stored, dict) and data.get("schema", 1) == 1 and \
            stored.get("test_percent") == _OLD_DEFAULT_TEST_PERCENT:
        stored = {**stored, "test_percent": 0.0}
    config = TrainConfig.from_dict(stored)
    return TrainConfig(**{n: SETTING_BY_NAME[n].clamp(v) for n, v in config.to_dict().items()})


def save_project_config(project_root: str | os.PathLike[str], config: Any) -> None:
    """Remember ``config`` for the project (atomic); raises OSError (read-only folder, full disk)."""
    from imgclf_gui.core.support.safe_files import atomic_write_json

    atomic_write_json(layout.training_settings_file(project_root),
                      {"schema": SETTINGS_FILE_SCHEMA, "config": config.to_dict()})
