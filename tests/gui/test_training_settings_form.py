"""The Training tab's settings form is built from the declared settings, and the mouse wheel only
changes a field that has the focus."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox

from imgclf_gui.core.support.settings import Settings
from imgclf_gui.core.training.config import BASIC, L2_CANDIDATES, SETTINGS, TrainConfig
from imgclf_gui.gui.common.preferences import Preferences
from imgclf_gui.gui.common.project_model import ProjectModel
from imgclf_gui.gui.common.tasks import TaskRunner
from imgclf_gui.gui.training.settings_form import TrainingSettingsPanel
from imgclf_gui.gui.training.training_tab import TrainingTab
from tests.conftest import write_image


def test_every_declared_setting_is_a_field_with_its_default_and_range(qtbot):
    panel = TrainingSettingsPanel()
    qtbot.addWidget(panel)
    panel.show()
    assert panel.config() == TrainConfig()
    for s in SETTINGS:
        widget = panel.field(s.name)
        assert widget.toolTip() == s.help, s.name
        if isinstance(widget, QSpinBox | QDoubleSpinBox):
            assert (widget.minimum(), widget.maximum()) == (s.minimum, s.maximum), s.name
        elif isinstance(widget, QCheckBox):
            assert widget.isChecked() == s.default
        elif s.choices:
            assert isinstance(widget, QComboBox)
            assert [widget.itemData(i) for i in range(widget.count())] == [v for v, _label in s.choices]
        # Basic settings are in view; advanced ones wait in the fold.
        assert widget.isVisibleTo(panel) == (s.level == BASIC) or s.name == "l2", s.name
    panel.advanced_button.click()
    assert all(panel.field(s.name).isVisibleTo(panel) for s in SETTINGS)
    # The L2 field's help says what the head does: it tries every candidate strength.
    assert f"{len(L2_CANDIDATES)} strengths" in panel.field("l2").toolTip()
    assert panel.l2_auto.isChecked() and not panel.field("l2").isEnabled()


def test_editing_a_field_edits_the_config(qtbot):
    panel = TrainingSettingsPanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.config_edited) as edited:
        panel.field("epochs").setValue(33)
    assert edited.args[0].epochs == 33
    panel.l2_auto.setChecked(False)
    assert panel.config().l2 == L2_CANDIDATES[0]
    panel.field("l2").setValue(0.05)
    assert panel.config().l2 == 0.05
    panel.set_config(TrainConfig(crop="center", class_weights=False))
    assert panel.field("crop").currentData() == "center" and not panel.field("class_weights").isChecked()
    assert panel.config() == TrainConfig(crop="center", class_weights=False)


def _wheel_down(widget) -> None:
    """One notch of a real mouse wheel over ``widget``, through the window system as a person's would."""
    top = widget.window()
    QTest.wheelEvent(top.windowHandle(), QPointF(widget.mapTo(top, widget.rect().center())), QPoint(0, -120))


@pytest.fixture
def small_tab(qtbot, tmp_path):
    for name in ("round", "square"):
        for i in range(3):
            write_image(tmp_path / "proj" / name / f"{name}{i}.png", seed=i + len(name))
    tasks = TaskRunner()
    project = ProjectModel(tasks)
    project.open(tmp_path / "proj")
    tab = TrainingTab(project, tasks, Preferences(Settings()))
    qtbot.addWidget(tab)
    tab.resize(1024, 500)  # the settings need scrolling at this height
    tab.show()
    tab.settings.advanced_button.click()
    qtbot.waitUntil(lambda: tab.settings_scroll.verticalScrollBar().maximum() > 0)
    yield tab
    tasks.shutdown(5000)


def test_the_wheel_over_an_unfocused_field_scrolls_the_settings_and_changes_nothing(small_tab, qtbot):
    bar = small_tab.settings_scroll.verticalScrollBar()
    validation = small_tab.settings.field("augment_variants")
    backbone = small_tab.settings.field("backbone")
    before = small_tab.session.config
    for widget in (validation, backbone):
        bar.setValue(0)
        assert not widget.hasFocus()
        _wheel_down(widget)
        assert bar.value() > 0, "the settings should have scrolled"
    assert validation.value() == before.augment_variants
    assert backbone.currentData() == before.backbone
    assert small_tab.session.config == before


def test_a_focused_field_still_takes_the_wheel(small_tab, qtbot):
    epochs = small_tab.settings.field("epochs")
    small_tab.activateWindow()
    epochs.setFocus()
    qtbot.waitUntil(epochs.hasFocus)
    value = epochs.value()
    _wheel_down(epochs)
    assert epochs.value() == value - 1
    assert small_tab.session.config.epochs == value - 1
