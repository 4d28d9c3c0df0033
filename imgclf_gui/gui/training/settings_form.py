"""The settings of a training run: backbone, the common engine settings, and an "Advanced" fold.

Each setting has a one-line explanation under it in plain words. Backbones that cannot be used offline
are listed greyed out with the reason as tooltip and in the line below the list. The panel only edits a
``TrainConfig``; the session stores it per project.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from imgclf_gui.core.training.trainer import TrainConfig


def _hint(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(mid); font-size: 8.5pt;")
    return label


class TrainingSettingsPanel(QWidget):
    """Edits a ``TrainConfig``; ``config_edited(object)`` after every change the user makes."""

    config_edited = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        self._fields: dict[str, tuple[QWidget, Callable[[], Any], Callable[[Any], None]]] = {}
        self.backbone = QComboBox(self)
        self.backbone_note = _hint("", self)
        self._fill_backbones()
        basic = QFormLayout()
        basic.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._row(basic, "Backbone", self.backbone, "The pretrained network that turns each image into numbers "
                  "once; the first choice is accurate, SqueezeNet is faster on old machines.")
        basic.addRow(self.backbone_note)
        self._spin(basic, "epochs", "Epochs", 1, 2000, "Passes over the training images at most; training "
                   "stops earlier when validation stops improving.")
        self._spin(basic, "augment_variants", "Augmented copies", 0, 10, "Flipped/cropped/brighter copies "
                   "per training image: helps with few images; each costs one more extraction.")
        self._double(basic, "validation_percent", "Validation %", 0, 50, 1, "Images held out to choose the "
                     "best epoch and regularisation.")
        self._double(basic, "test_percent", "Test %", 0, 50, 1, "Images never used for training, "
                     "only to score the model at the end.")
        self.advanced_button = QToolButton(self)
        self.advanced_button.setText("Advanced")
        self.advanced_button.setCheckable(True)
        self.advanced_button.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setAutoRaise(True)
        self.advanced = QWidget(self)
        adv = QFormLayout(self.advanced)
        adv.setContentsMargins(0, 0, 0, 0)
        self._double(adv, "learning_rate", "Learning rate", 0.00001, 1.0, 5, "Step size of the optimiser.",
                     step=0.001)
        self._spin(adv, "batch_size", "Batch size", 1, 4096, "Images per optimiser step.")
        self._spin(adv, "patience", "Patience", 1, 500, "Epochs without improvement before stopping early.")
        self._check(adv, "early_stopping", "Early stopping", "Stop when validation loss stops improving "
                    "and keep the best epoch.")
        self._check(adv, "class_weights", "Balance classes", "Weigh rare classes up so they count as "
                    "much as common ones.")
        self.l2_auto = QCheckBox("choose automatically", self)
        self.l2_value = QDoubleSpinBox(self, decimals=6, minimum=0.0, maximum=1.0, singleStep=0.0001)
        self.l2_value.setValue(1e-4)
        self.l2_auto.toggled.connect(lambda on: self.l2_value.setEnabled(not on))
        box = QWidget(self)
        row = QVBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.l2_auto)
        row.addWidget(self.l2_value)
        self._row(adv, "L2 penalty", box, "Discourages large weights; automatic tries four strengths on "
                  "the validation images.")
        self._fields["l2"] = (box, lambda: None if self.l2_auto.isChecked() else self.l2_value.value(),
                              self._set_l2)
        self.l2_auto.toggled.connect(self._emit)
        self.l2_value.valueChanged.connect(self._emit)
        self._double(adv, "label_smoothing", "Label smoothing", 0, 0.5, 2, "Makes the model less "
                     "over-confident.", step=0.05)
        self._spin(adv, "hidden_units", "Hidden units", 0, 4096, "0: one linear layer on the bottlenecks; "
                   "N: a hidden layer of N units.")
        self._double(adv, "dropout", "Dropout", 0, 0.9, 2, "Share of hidden units dropped while "
                     "training (hidden layer only).", step=0.05)
        self._spin(adv, "seed", "Seed", 0, 2**31 - 1, "Same seed and data give the same model.")
        crop = QComboBox(self)
        crop.addItem("Whole image (squash)", "squash")
        crop.addItem("Centre square", "center")
        self._row(adv, "Image to square", crop, "How an image becomes the square the backbone sees.")
        self._fields["crop"] = (crop, lambda: crop.currentData(),
                                lambda v: crop.setCurrentIndex(max(0, crop.findData(v))))
        crop.currentIndexChanged.connect(self._emit)
        self.advanced.setVisible(False)
        self.advanced_button.toggled.connect(self._on_advanced_toggled)
        self.backbone.currentIndexChanged.connect(self._on_backbone_changed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(basic)
        layout.addWidget(self.advanced_button)
        layout.addWidget(self.advanced)
        self._config = TrainConfig()
        self.set_config(self._config)

    # -- building rows --------------------------------------------------------------------------
    def _row(self, form: QFormLayout, label: str, widget: QWidget, hint: str) -> None:
        box = QWidget(self)
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 0, 0, 4)
        col.setSpacing(1)
        col.addWidget(widget)
        col.addWidget(_hint(hint, box))
        widget.setToolTip(hint)
        form.addRow(label, box)

    def _spin(self, form: QFormLayout, key: str, label: str, lo: int, hi: int, hint: str) -> None:
        spin = QSpinBox(self, minimum=lo, maximum=hi)
        self._row(form, label, spin, hint)
        self._fields[key] = (spin, spin.value, lambda v: spin.setValue(int(v)))
        spin.valueChanged.connect(self._emit)

    def _double(self, form: QFormLayout, key: str, label: str, lo: float, hi: float, decimals: int, hint: str,
                step: float = 1.0) -> None:
        spin = QDoubleSpinBox(self, minimum=lo, maximum=hi, decimals=decimals, singleStep=step)
        self._row(form, label, spin, hint)
        self._fields[key] = (spin, spin.value, lambda v: spin.setValue(float(v)))
        spin.valueChanged.connect(self._emit)

    def _check(self, form: QFormLayout, key: str, label: str, hint: str) -> None:
        box = QCheckBox(self)
        self._row(form, label, box, hint)
        self._fields[key] = (box, box.isChecked, lambda v: box.setChecked(bool(v)))
        box.toggled.connect(self._emit)

    def _set_l2(self, value: float | None) -> None:
        self.l2_auto.setChecked(value is None)
        if value is not None:
            self.l2_value.setValue(float(value))
        self.l2_value.setEnabled(value is not None)

    def _fill_backbones(self) -> None:
        from imgclf_gui.core.backbones import availability, list_specs

        model = QStandardItemModel(self)
        self.backbone.setModel(model)
        for spec in list_specs():
            try:
                ok, reason = availability(spec.id)
            except Exception as exc:  # noqa: BLE001 - a broken backbone entry must not break the tab
                ok, reason = False, str(exc)
            self.backbone.addItem(spec.display_name, spec.id)
            item = model.item(self.backbone.count() - 1)
            item.setToolTip(spec.description if ok else reason)
            item.setData(reason, Qt.ItemDataRole.UserRole + 1)
            if not ok:
                item.setEnabled(False)

    # -- config in and out ----------------------------------------------------------------------
    def set_config(self, config: TrainConfig) -> None:
        """Show ``config`` without emitting ``config_edited``."""
        self._loading = True
        try:
            self._config = config
            index = self.backbone.findData(config.backbone)
            self.backbone.setCurrentIndex(max(0, index))
            for key, (_widget, _get, put) in self._fields.items():
                put(getattr(config, key))
        finally:
            self._loading = False
        self._update_backbone_note()

    def config(self) -> TrainConfig:
        values = {key: get() for key, (_widget, get, _put) in self._fields.items()}
        return replace(self._config, backbone=self.backbone.currentData() or self._config.backbone, **values)

    def _emit(self, *_args: object) -> None:
        if not self._loading:
            self._config = self.config()
            self.config_edited.emit(self._config)

    def _on_backbone_changed(self, _index: int) -> None:
        self._update_backbone_note()
        self._emit()

    def _update_backbone_note(self) -> None:
        unavailable = []
        model = self.backbone.model()
        for row in range(self.backbone.count()):
            item = model.item(row)
            if not item.isEnabled():
                unavailable.append(item.text())
        # Names only: the reasons (which weights file, where to put it) are long, they sit in the tooltips.
        self.backbone_note.setText(f"Greyed out (weights not installed; point at one for what to get): "
                                   f"{', '.join(unavailable)}." if unavailable else "")
        self.backbone_note.setVisible(bool(unavailable))

    def _on_advanced_toggled(self, on: bool) -> None:
        self.advanced.setVisible(on)
        self.advanced_button.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
