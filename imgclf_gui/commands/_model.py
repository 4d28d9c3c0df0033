"""The model a command works on: a model folder, or a project folder standing for its active model."""
from __future__ import annotations

from pathlib import Path
from typing import Any

MODEL_HELP = "a model folder, or a project folder (its active model: the last one trained or chosen)"


def model_folder(path: Path) -> Path:
    """The model folder ``path`` names; a project folder stands for its active model."""
    from imgclf_gui.cli import UserError
    from imgclf_gui.core.project import layout
    from imgclf_gui.core.project.scan import class_names

    if path.is_dir() and not (path / "model.json").exists() and (
            layout.state_dir(path).is_dir() or class_names(path)):
        from imgclf_gui.core.models.runs import active_model_path

        active = active_model_path(path)
        if active is None:
            raise UserError(f"The project {path} has no trained model yet: run 'imgclf train {path}' first.")
        return active
    return path


def load_bundle(path: Path) -> Any:
    """The ``ModelBundle`` at ``path`` (see :func:`model_folder`); a clear ``UserError`` if unusable."""
    from imgclf_gui.cli import UserError
    from imgclf_gui.core.models.bundle import BundleError, ModelBundle

    try:
        return ModelBundle.load(model_folder(path))
    except BundleError as exc:
        raise UserError(str(exc)) from None


def open_model(path: Path) -> Any:
    """A ``predict.Predictor`` for the model at ``path``, ready to score files."""
    from imgclf_gui.cli import UserError
    from imgclf_gui.core.models.predict import ModelLoadError, ModelSource, open_predictor

    try:
        return open_predictor(ModelSource.bundle(model_folder(path)))
    except ModelLoadError as exc:
        raise UserError(str(exc)) from None
