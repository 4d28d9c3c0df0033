"""A model folder someone sent, damaged or hostile, in the Classify tab: its one BundleError sentence is
shown where the verdict goes, a FIFO inside it never hangs the tab, and a good model still works after."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from imgclf_gui.core.models.predict import ModelSource
from tests.gui.conftest import _ready_tab


def _nan_weights(folder):
    with np.load(folder / "head.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["dense0_kernel"][0, 0] = np.nan
    (folder / "head.npz").unlink()
    np.savez(folder / "head.npz", **arrays)


def _fifo_weights(folder):
    (folder / "head.npz").unlink()
    os.mkfifo(folder / "head.npz")


@pytest.mark.parametrize("damage, words", [(_nan_weights, "NaN or infinite values"),
                                           (_fifo_weights, "head.npz is a named pipe (FIFO)")])
def test_a_hostile_model_shows_its_sentence_and_the_tab_keeps_working(window, qtbot, tiny_model, tmp_path,
                                                                      damage, words):
    sent = shutil.copytree(tiny_model, tmp_path / "sent.imgclf-model")
    damage(sent)
    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    with qtbot.waitSignal(tab.classifier.model_changed, timeout=10_000):
        tab.use_model(ModelSource.bundle(sent))
    assert tab.classifier.state == "error"
    shown = tab.verdict.full_text
    assert shown.startswith("This model cannot be used:") and words in shown and "Traceback" not in shown
    with qtbot.waitSignal(tab.classifier.model_changed, timeout=20_000):
        tab.use_model(ModelSource.bundle(tiny_model))
    assert tab.classifier.state == "ready"
