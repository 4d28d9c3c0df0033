"""The Classify tab's list of models: the project's active one, models opened this session, each
backbone's ImageNet classes, and "Open a saved model…".

Every entry says which model it is in a person's words: a run by its date, time and accuracy, a saved
model by its folder and the folder that holds it; never a run id, never two entries alike. The full
folder is the entry's tooltip. The box shows as much of a long entry as fits ("…"); its list shows all.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QComboBox, QStyle, QStyleOptionComboBox, QStylePainter, QWidget

from imgclf_gui.core.models.predict import ModelSource

OPEN_OTHER = "open"
ACTIVE_ENTRY = "Active model"
_WIDEST, _NARROWEST = 440, 240  # pixels


def _title(folder: Path, project_root: Path | None) -> str:
    from imgclf_gui.core.models.runs import model_title

    return model_title(folder, project_root)


def _imagenet_sources() -> list[tuple[str, ModelSource]]:
    from imgclf_gui.core.backbones import availability, list_specs

    return [(f"ImageNet classes of {spec.display_name}", ModelSource.imagenet(spec.id))
            for spec in list_specs() if spec.has_imagenet_head and availability(spec.id)[0]]


class ModelList(QComboBox):
    """``fill(...)`` lists the models; ``currentData()`` is a :class:`ModelSource` or :data:`OPEN_OTHER`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.currentIndexChanged.connect(lambda _i: self.setToolTip(self._tooltip()))

    def fill(self, *, active: Path | None, opened: list[Path], current: ModelSource | None,
             project_root: Path | None) -> None:
        """List the models and select ``current`` (else the first entry)."""
        entries: list[tuple[str, object, str]] = []  # (text, data, tooltip)
        if active is not None:
            entries.append((f"{ACTIVE_ENTRY}: {_title(active, project_root)}", ModelSource.bundle(active),
                            str(active)))
        for path in opened:
            title = _title(path, project_root)
            text = "R" + title[1:] if title.startswith("run of ") else f"Saved model: {title}"
            entries.append((text, ModelSource.bundle(path), str(path)))
        entries += [(text, source, "") for text, source in _imagenet_sources()]
        texts = [text for text, _, _ in entries]
        self.blockSignals(True)
        self.clear()
        for text, data, tip in entries:
            if texts.count(text) > 1:  # two runs in one minute, two "model" folders in two "models" folders
                text = f"{text}: {tip}"
            self.addItem(text, data)
            self.setItemData(self.count() - 1, tip or text, Qt.ItemDataRole.ToolTipRole)
        self.addItem("Open a saved model…", OPEN_OTHER)
        self.setItemData(self.count() - 1, "A model folder saved with Save Model As… or sent to you "
                         "(NAME.imgclf-model)", Qt.ItemDataRole.ToolTipRole)
        # compared in Python: findData() on wrapped Python objects does not use ==
        index = next((i for i in range(self.count()) if current is not None and self.itemData(i) == current), 0)
        self.setCurrentIndex(index)
        self.blockSignals(False)
        self.setToolTip(self._tooltip())
        # The list, unlike the box, is as wide as its longest entry.
        self.view().setMinimumWidth(self.view().sizeHintForColumn(0) + 24)

    # As wide as its longest entry up to a limit; narrower where the row has no more room (it elides).
    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        hint = super().sizeHint()
        return QSize(min(hint.width(), _WIDEST), hint.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), _NARROWEST), hint.height())

    def _tooltip(self) -> str:
        tip = self.itemData(self.currentIndex(), Qt.ItemDataRole.ToolTipRole)
        return f"{self.currentText()}\n{tip}" if tip and tip != self.currentText() else self.currentText()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        # As QComboBox paints itself, but a long entry ends in "…" instead of being cut mid-letter.
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        field = self.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                            QStyle.SubControl.SC_ComboBoxEditField, self)
        option.currentText = self.fontMetrics().elidedText(option.currentText, Qt.TextElideMode.ElideRight,
                                                           field.width() - 4)
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)
