"""The Training tab through its real widgets, with the fast fake backbone (no TensorFlow): settings, the
summary of what will be trained, a cross-validated run as it is drawn, failures and unreadable photos.

Other topics: ``test_training_tab_stop.py`` (cancel, closing, switching projects), ``..._report.py`` (the
report and the images behind it), ``..._runs.py`` (runs, names, Save / Export), ``test_mislabel_review.py``.
"""
from __future__ import annotations

import pytest

from imgclf_gui.core.models import runs
from imgclf_gui.core.support.notes import STAGE_FINAL_MODEL, STAGE_FOLD
from imgclf_gui.gui.training.metric_plots import EMPTY_TEXT
from imgclf_gui.gui.training.training_tab import CURVES, REPORT, TrainingTab
from tests.gui.training_helpers import PER_CLASS, config, tab_fixture, train  # noqa: F401 - the "tab" fixture

ALL = 3 * PER_CLASS


def test_settings_are_remembered_per_project(tab, tmp_path, fake_backbone, qtbot):
    tab.settings.advanced_button.click()
    spin = tab.settings.field("epochs")
    spin.setValue(17)
    assert (tmp_path / "proj" / ".imgclf" / "training_settings.json").is_file()
    again = TrainingTab(tab.project, tab.tasks, tab.preferences)
    qtbot.addWidget(again)
    assert again.session.config.epochs == 17 and again.settings.config().epochs == 17
    assert again.session.config.backbone == fake_backbone.id


def test_before_any_run_the_plots_say_so_instead_of_showing_empty_axes(tab):
    assert tab.plots.is_empty()
    assert tab.plots.empty_note.isVisible() and tab.plots.empty_note.text() == EMPTY_TEXT
    assert not tab.plots.loss_plot.isVisible()


def test_a_run_draws_every_fold_light_then_the_final_model_and_says_which_fold(tab, qtbot):
    active = []
    tab.session.active_model_changed.connect(active.append)
    qtbot.waitUntil(lambda: tab.session.summary is not None and tab.session.summary.total == ALL)
    assert f"{ALL} images" in tab.summary.text() and "5-fold cross-validation" in tab.summary.text()
    bars = []  # what the progress bar says when each fit starts
    tab.session.stage_started.connect(
        lambda note: bars.append(tab.progress.format()) if note.kind in (STAGE_FOLD, STAGE_FINAL_MODEL) else None)
    shown_pages = []
    tab.session.fold_epoch_added.connect(lambda _e: shown_pages.append(tab.pages.currentIndex()))
    outcome = train(qtbot, tab)
    assert outcome.run is not None and not outcome.result.cancelled
    assert bars == [f"Fold {k} of 5" for k in range(1, 6)] + ["Final model"]
    assert set(shown_pages) == {CURVES}  # the curves are in view while they are drawn
    assert all(tab.plots.fold_point_count(k) == 8 for k in range(1, 6))
    assert tab.plots.point_count("tl") == 8 and len(tab.session.history) == 8
    # The legend lists only what is drawn: with early stopping off and L2 given, no fold validates.
    assert tab.plots.legend_names() == ["each fold: training", "final model"]
    assert not tab.plots.best_lines[0].isVisible()
    root = tab.project.root
    assert runs.active_model_path(root) == outcome.run.model_path == active[-1]
    assert tab.pages.currentIndex() == REPORT
    assert f"out-of-fold predictions of all {ALL} images (5 folds)" in tab.report_view.summary.text()
    assert "95% interval" in tab.report_view.summary.text()
    assert tab.status.text().startswith("Done: the new model is now used for classifying")
    assert tab.train_button.isEnabled() and not tab.cancel_button.isEnabled()


def test_folds_that_validate_add_their_validation_curves_to_the_legend(tab, qtbot, fake_backbone):
    tab.session.set_config(config(fake_backbone, early_stopping=True))
    train(qtbot, tab)
    # The final model learns from every image: nothing is left to validate it on, so no curve of its own.
    assert tab.plots.legend_names() == ["each fold: training", "each fold: its validation", "final model"]


def test_the_bottleneck_count_is_brought_up_to_date_once_extraction_is_done(tab, qtbot, monkeypatch):
    qtbot.waitUntil(lambda: tab.session.summary is not None and tab.session.summary.cached == 0)
    assert f"Bottlenecks cached: 0; to compute: {ALL}" in tab.summary.text()
    from imgclf_gui.core.training import crossval

    real = crossval.final_settings  # a final model that trains until cancelled: the run is still going
    monkeypatch.setattr(crossval, "final_settings", lambda *a, **k: (real(*a, **k)[0], 100000))
    tab.session.ask_keep_best = lambda: False
    tab.start_training()
    qtbot.waitUntil(lambda: f"Bottlenecks cached: {ALL}; to compute: 0" in tab.summary.text(), timeout=20000)
    assert tab.session.is_running()
    with qtbot.waitSignal(tab.session.run_finished, timeout=20000):
        tab.cancel_button.click()


def test_retraining_reuses_every_cached_bottleneck_and_copies_are_counted_apart(tab, qtbot):
    train(qtbot, tab)
    tab.session.refresh_summary()
    qtbot.waitUntil(lambda: tab.session.summary is not None and tab.session.summary.cached == ALL, timeout=5000)
    assert "to compute: 0" in tab.summary.text()
    # Asking for augmented copies leaves every bottleneck cached; only the copies are new work.
    tab.settings.field("augment_variants").setValue(2)
    qtbot.waitUntil(lambda: tab.session.summary.copies_to_compute == 2 * ALL, timeout=5000)
    assert f"Bottlenecks cached: {ALL}; to compute: 0; augmented copies to compute: {2 * ALL}" in tab.summary.text()


def test_a_crash_in_the_worker_is_shown_and_keeps_the_previous_model(tab, qtbot, monkeypatch):
    first = train(qtbot, tab)

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("imgclf_gui.core.training.crossval.train_head", broken)
    with qtbot.waitSignal(tab.session.run_failed, timeout=30000) as blocker:
        tab.start_training()
    assert "disk on fire" in blocker.args[0]
    assert "failed" in tab.status.text() and tab._failure_box.isVisible()
    tab._failure_box.close()
    assert runs.active_model_path(tab.project.root) == first.run.model_path
    assert len(runs.list_runs(tab.project.root)) == 1


def test_an_unreadable_photo_is_skipped_and_named_when_training_ends(tab, qtbot):
    (tab.project.root / "red" / "cut_off.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    tab.project.refresh()
    outcome = train(qtbot, tab)
    assert outcome.run is not None  # one bad file never stops training
    assert "cut_off.jpg" in tab.status.text() and "unreadable" in tab.status.text()
    assert (tab.project.root / "red" / "cut_off.jpg").exists()  # reported, never deleted


def test_a_damaged_photo_is_shown_as_skipped_not_as_still_to_compute(tab, qtbot):
    from tests.conftest import write_image

    broken = write_image(tab.project.root / "red" / "cut.jpg", size=(200, 150), fmt="JPEG", seed=7)
    broken.write_bytes(broken.read_bytes()[:600])
    tab.session.refresh_summary()
    qtbot.waitUntil(lambda: tab.session.summary is not None and tab.session.summary.total == ALL + 1)
    assert f"to compute: {ALL + 1}" in tab.summary.text()  # nobody has tried to decode it yet
    outcome = train(qtbot, tab)
    assert outcome.run is not None
    tab.session.refresh_summary()
    qtbot.waitUntil(lambda: tab.session.summary is not None and tab.session.summary.cached == ALL, timeout=5000)
    assert "to compute: 0; unreadable, skipped: 1" in tab.summary.text()


def test_the_first_use_of_a_backbone_is_its_own_stage_with_a_busy_bar(tab, qtbot, monkeypatch):
    import threading

    import imgclf_gui.core.backbones as backbones

    release = threading.Event()
    monkeypatch.setattr(backbones, "needs_preparation", lambda _id: not release.is_set())
    monkeypatch.setattr(backbones, "prepare_backbone", lambda _id: release.wait(20))
    finished = []
    tab.session.run_finished.connect(finished.append)
    tab.start_training()
    qtbot.waitUntil(lambda: "(first use only)" in tab.status.text())
    assert tab.status.text() == "Preparing Fake tiny backbone (tests) (first use only)…"
    # Converting cannot be counted: a busy bar, and no images/s or time left promised meanwhile.
    assert tab.progress.isVisible() and tab.progress.maximum() == 0
    assert "left" not in tab.rate.text() and "/s" not in tab.rate.text()
    release.set()
    qtbot.waitUntil(lambda: bool(finished), timeout=30000)
    assert finished[0].run is not None


@pytest.mark.parametrize("size", [(1280, 720), (1024, 700)])
def test_the_basic_settings_and_train_are_in_view_on_a_small_screen(tab, qtbot, size):
    """Every basic setting's field is visible without scrolling; the Train button too."""
    from imgclf_gui.core.training.config import BASIC, SETTINGS

    tab.resize(size[0], size[1] - 70)  # the window's menu, tab bar and status bar take about 70 pixels
    qtbot.waitUntil(lambda: tab.settings_scroll.viewport().height() > 0)
    viewport = tab.settings_scroll.viewport()
    for s in SETTINGS:
        if s.level == BASIC:
            field = tab.settings.field(s.name)
            bottom = field.mapTo(viewport, field.rect().bottomLeft()).y()
            assert 0 < bottom <= viewport.height(), f"{s.label} is out of view at {size}"
    assert tab.train_button.visibleRegion().boundingRect().height() == tab.train_button.height()
