"""A form built from a config dataclass: one editor per field, its help as tooltip and hint.

The dataclasses in ``core.config`` are the single source of names, defaults, choices and help;
this widget only maps field types to editors, so a new setting shows up in the GUI by itself.
"""
from __future__ import annotations

import dataclasses
import typing
from typing import Any

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QLabel, QLineEdit, QSpinBox,
                               QWidget)

from core.config import ConfigError, from_dict, to_dict

_LABELS = {"lr": "Learning rate", "lora_r": "LoRA rank", "lora_alpha": "LoRA alpha", "lora_dropout": "LoRA dropout",
           "max_seq_len": "Max sample tokens", "eval_every": "Evaluate every", "grad_accum": "Gradient accumulation"}


def label_for(name: str) -> str:
    return _LABELS.get(name, name.replace("_", " ").capitalize())


class ConfigForm(QWidget):
    """Editors for the fields of ``cls`` (optionally only ``fields``); ``value()`` validates."""

    def __init__(self, cls: type, fields: tuple[str, ...] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cls = cls
        self.hints = typing.get_type_hints(cls)
        self.editors: dict[str, QWidget] = {}
        layout = QFormLayout(self)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for f in dataclasses.fields(cls):
            if fields is not None and f.name not in fields:
                continue
            editor = self._editor(f)
            editor.setObjectName(f"field_{f.name}")
            editor.setToolTip(f.metadata.get("help", ""))
            label = QLabel(label_for(f.name))
            label.setToolTip(f.metadata.get("help", ""))
            layout.addRow(label, editor)
            self.editors[f.name] = editor
        self.set_value(cls())

    def _editor(self, f: dataclasses.Field) -> QWidget:
        kind = self.hints[f.name]
        choices = f.metadata.get("choices")
        if choices:
            box = QComboBox()
            box.addItems([str(c) for c in choices])
            return box
        if kind is bool:
            return QCheckBox()
        if kind is int:
            spin = QSpinBox()
            spin.setRange(0, 1_000_000)
            return spin
        if kind is float:
            spin = QDoubleSpinBox()
            small = f.default is not None and 0 < abs(f.default) < 0.01
            spin.setDecimals(6 if small else 3)
            spin.setRange(0.0, 1e6)
            spin.setSingleStep(f.default / 2 if small else 0.05)
            return spin
        return QLineEdit()

    def set_value(self, cfg: Any) -> None:
        for name, value in to_dict(cfg).items():
            editor = self.editors.get(name)
            if isinstance(editor, QCheckBox):
                editor.setChecked(bool(value))
            elif isinstance(editor, QComboBox):
                editor.setCurrentText(str(value))
            elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
                editor.setValue(value)
            elif isinstance(editor, QLineEdit):
                editor.setText(str(value))

    def value(self, base: Any = None) -> Any:
        """The edited config (fields not shown keep ``base``'s values); raises ConfigError."""
        values = to_dict(base if base is not None else self.cls())
        for name, editor in self.editors.items():
            if isinstance(editor, QCheckBox):
                values[name] = editor.isChecked()
            elif isinstance(editor, QComboBox):
                values[name] = editor.currentText()
            elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
                values[name] = editor.value()
            else:
                values[name] = editor.text()
        return from_dict(self.cls, values)


__all__ = ["ConfigError", "ConfigForm"]
