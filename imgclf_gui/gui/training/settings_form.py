"""The settings of a training run, built from their declarations (``core/training/config.SETTINGS``).

Each declared setting becomes one field with its label, range, unit and its one line of help under it;
basic ones are always shown, advanced ones sit in a fold. Backbones that cannot be used offline are
listed greyed out with the reason as tooltip. The panel only edits a ``TrainConfig``; the session stores
it per project.

The mouse wheel only changes a field that has the keyboard focus: scrolling the panel over a spin box
or a list must scroll the panel, never change the setting under the pointer (it once set Validation
from 10 % to 0 and switched the backbone while a person scrolled).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
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

from imgclf_gui.core.training.config import ADVANCED, BASIC, SETTINGS, Setting, TrainConfig


class _Hint(QLabel):
    """A wrapped line of help that keeps the height its text needs at its width: inside a scroll area the
    form would otherwise squeeze it to the height of a wider layout, and the lines overlapped the next field."""

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        needed = self.heightForWidth(self.width())
        if needed > 0 and needed != self.minimumHeight():
            self.setMinimumHeight(needed)


def _hint(text: str, parent: QWidget) -> QLabel:
    label = _Hint(text, parent)
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(mid); font-size: 8.5pt;")
    return label


def _select_data(combo: QComboBox, value: Any) -> None:
    combo.setCurrentIndex(max(0, combo.findData(value)))


class WheelOnlyWhenFocused(QObject):
    """Event filter: a wheel turn over a field without focus goes to the field's parents (the scroll
    area scrolls) instead of changing the value."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            event.ignore()  # not accepted: QApplication hands it on to the parent widgets
            return True
        return False


class TrainingSettingsPanel(QWidget):
    """Edits a ``TrainConfig``; ``config_edited(object)`` after every change the user makes."""

    config_edited = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        self._wheel_guard = WheelOnlyWhenFocused(self)
        #: setting name -> (main widget, read its value, show a value)
        self._fields: dict[str, tuple[QWidget, Callable[[], Any], Callable[[Any], None]]] = {}
        self.backbone_note = _hint("", self)
        basic = QFormLayout()
        basic.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        basic.setVerticalSpacing(2)  # a field and its help read as one; the help's margin parts settings
        self.advanced_button = QToolButton(self)
        self.advanced_button.setText("Advanced")
        self.advanced_button.setCheckable(True)
        self.advanced_button.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setAutoRaise(True)
        self.advanced = QWidget(self)
        adv = QFormLayout(self.advanced)
        adv.setContentsMargins(0, 0, 0, 0)
        adv.setVerticalSpacing(2)
        forms = {BASIC: basic, ADVANCED: adv}
        for setting in SETTINGS:
            self._add_field(forms[setting.level], setting)
        self.advanced.setVisible(False)
        self.advanced_button.toggled.connect(self._on_advanced_toggled)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(basic)
        layout.addWidget(self.advanced_button)
        layout.addWidget(self.advanced)
        self._config = TrainConfig()
        self.set_config(self._config)

    # -- building fields from the declarations --------------------------------------------------
    def field(self, name: str) -> QWidget:
        """The widget that edits setting ``name`` (for the L2 setting: its value box)."""
        return self._fields[name][0]

    def _guard(self, widget: QWidget) -> QWidget:
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # never take the focus from a passing wheel
        if isinstance(widget, QComboBox):  # as wide as the panel allows, not as its longest entry
            widget.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            widget.setMinimumContentsLength(10)
        widget.installEventFilter(self._wheel_guard)
        return widget

    def _add_field(self, form: QFormLayout, s: Setting) -> None:
        """One row for ``s``: its widget (from its type), the help under it, and how to read and show it."""
        if s.name == "backbone":  # the choices are the registered backbones, with their availability
            widget = self.backbone = self._backbone_box()
            self.backbone.currentIndexChanged.connect(self._on_backbone_changed)
            self._fields[s.name] = (widget, self._current_backbone, partial(_select_data, widget))
            # the field under its label, at the panel's full width: "EfficientNet-Lite0 + Lite2" did not fit
            # beside it on a 1024-pixel-wide screen
            form.addRow(QLabel(s.label, self))
            self._row(form, s, widget, label=False)
            form.addRow(self.backbone_note)
        elif s.type is bool:
            box = QCheckBox(self)
            box.toggled.connect(self._emit)
            self._fields[s.name] = (box, box.isChecked, lambda v: box.setChecked(bool(v)))
            self._row(form, s, box)
        elif s.choices:
            combo = self._guard(QComboBox(self))
            for value, label in s.choices:
                combo.addItem(label, value)
            combo.currentIndexChanged.connect(self._emit)
            self._fields[s.name] = (combo, combo.currentData, partial(_select_data, combo))
            self._row(form, s, combo)
        elif s.optional:  # a value, or "automatic" (None)
            spin = self._spin_box(s)
            auto = QCheckBox(s.auto_label or "automatic", self)
            auto.toggled.connect(lambda on: spin.setEnabled(not on))
            auto.toggled.connect(self._emit)
            setattr(self, f"{s.name}_auto", auto)
            box = QWidget(self)
            column = QVBoxLayout(box)
            column.setContentsMargins(0, 0, 0, 0)
            column.addWidget(auto)
            column.addWidget(spin)
            self._fields[s.name] = (spin, lambda: None if auto.isChecked() else spin.value(),
                                    partial(self._put_optional, auto, spin, s))
            self._row(form, s, box, tooltip_on=spin)
        else:
            spin = self._spin_box(s)
            self._fields[s.name] = (spin, spin.value, lambda v: spin.setValue(s.type(v)))
            self._row(form, s, spin)

    def _current_backbone(self) -> str:
        return self.backbone.currentData() or self._config.backbone

    def _spin_box(self, s: Setting) -> QSpinBox | QDoubleSpinBox:
        if s.type is int:
            spin: QSpinBox | QDoubleSpinBox = QSpinBox(self, minimum=int(s.minimum), maximum=int(s.maximum))
        else:
            spin = QDoubleSpinBox(self, minimum=s.minimum, maximum=s.maximum, decimals=s.decimals,
                                  singleStep=s.step or 1.0)
        if s.unit:
            spin.setSuffix(f" {s.unit}")
        spin.valueChanged.connect(self._emit)
        return self._guard(spin)

    def _row(self, form: QFormLayout, s: Setting, widget: QWidget, tooltip_on: QWidget | None = None,
             label: bool = True) -> None:
        """The label and the field on one line, the help under both at the full width of the panel (under
        the field alone it took four lines a setting, and the last basic settings fell out of view)."""
        if label:
            form.addRow(s.label, widget)
        else:
            form.addRow(widget)
        hint = _hint(s.help, self)
        hint.setContentsMargins(0, 0, 0, 3)
        form.addRow(hint)
        (tooltip_on or widget).setToolTip(s.help)

    def _put_optional(self, auto: QCheckBox, spin: QDoubleSpinBox | QSpinBox, s: Setting, value: Any) -> None:
        auto.setChecked(value is None)
        spin.setValue(s.type(value if value is not None else (s.manual_default or 0)))
        spin.setEnabled(value is not None)

    def _backbone_box(self) -> QComboBox:
        from imgclf_gui.core.backbones import availability, list_specs

        combo = self._guard(QComboBox(self))
        model = QStandardItemModel(combo)
        combo.setModel(model)
        for spec in list_specs():
            try:
                ok, reason = availability(spec.id)
            except Exception as exc:  # noqa: BLE001 - a broken backbone entry must not break the tab
                ok, reason = False, str(exc)
            combo.addItem(spec.display_name, spec.id)  # the default is listed first; its help says so
            item = model.item(combo.count() - 1)
            item.setToolTip(spec.description if ok else reason)
            item.setData(reason, Qt.ItemDataRole.UserRole + 1)
            if not ok:
                item.setEnabled(False)
        return combo

    # -- config in and out ----------------------------------------------------------------------
    def set_config(self, config: TrainConfig) -> None:
        """Show ``config`` without emitting ``config_edited``."""
        self._loading = True
        try:
            self._config = config
            for name, (_widget, _get, put) in self._fields.items():
                put(getattr(config, name))
        finally:
            self._loading = False
        self._update_backbone_note()

    def config(self) -> TrainConfig:
        return replace(self._config, **{name: get() for name, (_widget, get, _put) in self._fields.items()})

    def _emit(self, *_args: object) -> None:
        if not self._loading:
            self._config = self.config()
            self.config_edited.emit(self._config)

    def _on_backbone_changed(self, _index: int) -> None:
        self._update_backbone_note()
        self._emit()

    def _update_backbone_note(self) -> None:
        model = self.backbone.model()
        unavailable = [model.item(row).text() for row in range(self.backbone.count())
                       if not model.item(row).isEnabled()]
        # One line: the names are in its tooltip, the reasons (which file, where) in each entry's tooltip.
        self.backbone_note.setText("Greyed-out backbones need a weights file: point at one to see which."
                                   if unavailable else "")
        self.backbone_note.setToolTip(f"Not installed: {', '.join(unavailable)}." if unavailable else "")
        self.backbone_note.setVisible(bool(unavailable))

    def _on_advanced_toggled(self, on: bool) -> None:
        self.advanced.setVisible(on)
        self.advanced_button.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
