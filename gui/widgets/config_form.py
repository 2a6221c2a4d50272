"""A form built from a config dataclass: one editor per field, its help as tooltip and hint.

The dataclasses in ``core.config`` are the single source of names, defaults, choices and help;
this widget only maps field types to editors, so a new setting shows up in the GUI by itself.
A page may give its own editor for a field (``editors``: any widget with ``text``/``setText``),
and may ``arrange`` the rows: the fields that matter now in the form, the rest in ``more`` (a
widget the page shows under an "All settings" expander).
Labels and help are English in core (the CLI shows them too) and translated here, as they are
shown; choice values are identifiers saved in the project, so they stay as they are and get a
translated explanation as tooltip instead.
"""
from __future__ import annotations

import dataclasses
import typing
from typing import Any, Callable, Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QLabel, QLineEdit, QSpinBox,
                               QToolButton, QWidget)

from core.config import ConfigError, from_dict, to_dict
from gui.i18n import N_, tr

# Where the field name capitalised reads badly ("Qa pairs", "Max file mb"); the rest is generated.
_LABELS = {"plan": "Training plan", "restatements": "Restatements per chunk",
           "weak_writer": "If the writer fails the checks", "ifd_low": "IFD at least",
           "ifd_high": "IFD at most", "top_percent": "Keep top %", "select": "Train on a selection",
           "lr": "Learning rate", "lora_r": "LoRA rank", "lora_alpha": "LoRA alpha", "lora_dropout": "LoRA dropout",
           "max_seq_len": "Max sample tokens", "eval_every": "Evaluate every", "grad_accum": "Gradient accumulation",
           "max_file_mb": "Max file size (MB)", "max_unpacked_mb": "Max unpacked size (MB)",
           "file_timeout_s": "Time per file (s)", "unicode_nfc": "Unicode NFC",
           "strip_gutenberg": "Strip Gutenberg licence",
           "remove_headers_footers": "Remove headers and footers", "remove_contents": "Remove typed-in contents",
           "dedup_paragraphs": "Drop repeated paragraphs", "near_dup_threshold": "Near-duplicate threshold",
           "qa_pairs": "QA pairs per chunk", "qa_answers": "QA answers", "gen_batch_size": "Generation batch",
           "gen_max_tokens": "Generation max tokens", "gen_temperature": "Generation temperature",
           "eval_fraction": "Held-out share", "warmup_steps": "Warm-up steps", "rslora": "rsLoRA", "dora": "DoRA",
           "top_p": "Top-p", "kl_weight": "KL weight", "keep_best": "Use the best checkpoint",
           "source_prefix": "Book and chapter first", "replay": "Replay share", "writer": "Writer model",
           "open_book_k": "Open-book passages", "general_items": "General questions",
           "reasoning_items": "Reasoning problems", "languages": "Probe languages", "answer_tokens": "Answer tokens",
           "quick_exam": "Quick check: exam", "quick_general": "Quick check: general",
           "retention_floor": "Knowledge floor", "backend": "Engine"}

# What each choice means, for the combo box tooltips (the values themselves are saved identifiers).
# Fields whose choices are words, shown in the UI language (the item's data keeps the value the
# config stores); the other fields' choices are names the CLI and recipes use too (chat, qa, nf4, Q8_0)
WORD_CHOICES = {"plan", "device", "quantization", "precision", "backend", "noise_action", "split_by", "qa_answers"}
CHOICE_WORDS = (N_("auto"), N_("manual"), N_("quick"), N_("thorough"), N_("none"), N_("drop"), N_("flag"),
                N_("chunk"), N_("book"), N_("passage"), N_("model"))

CHOICE_HINTS = {
    "format": {"plain": N_("The raw text: teaches style and vocabulary"),
               "chat": N_("A conversation: the user asks about a chapter, the assistant answers with the chunk"),
               "markdown": N_("Markdown text with the book title and chapter headings"),
               "json": N_("A JSON record per chunk: book, author, chapter, text"),
               "yaml": N_("A YAML record per chunk: book, author, chapter, text"),
               "instruction": N_("Small tasks built from the book (continue a passage, name its chapter …)"),
               "qa": N_("Questions and answers written by the base model (slow, resumable)"),
               "paraphrase": N_("Each chunk retold by the base model, next to the original (slow, resumable)"),
               "knowledge": N_("The text with its source, plus restatements and questions written from every chunk "
                               "(slow, resumable): for learning the facts of your books"),
               "custom": N_("Your own Jinja template")},
    "qa_answers": {"passage": N_("The chunk's own sentence (reliable with small models)"),
                   "model": N_("The base model's own answer")},
    "split_by": {"chunk": N_("Hold out single chunks"), "book": N_("Hold out whole books")},
    "noise_action": {"drop": N_("Drop noisy paragraphs"), "flag": N_("Keep noisy paragraphs, marked")},
    "device": {"auto": N_("The GPU if there is one, else the processor"), "cpu": N_("The processor"),
               "cuda": N_("An NVIDIA GPU"), "mps": N_("An Apple GPU")},
    "quantization": {"auto": N_("QLoRA (4-bit) on an NVIDIA GPU, none elsewhere"),
                     "none": N_("Full-precision base weights"), "nf4": N_("QLoRA: the base model in 4 bits")},
    "backend": {"auto": N_("llama.cpp where the model exists as GGUF and it is faster, else transformers"),
                "transformers": N_("transformers with PEFT (any model folder)"),
                "llamacpp": N_("llama.cpp with the GGUF files (fast on a processor)")},
    "plan": {"manual": N_("Exactly the settings below"),
             "auto": N_("Steps, learning rate, rank and evaluation points chosen for this data and goal")},
    "precision": {"auto": N_("bf16 if this processor measures faster in it, else fp32"),
                  "bf16": N_("bfloat16 autocast: faster on recent processors"), "fp32": N_("Full 32-bit math")},
}


def label_for(name: str) -> str:
    """The English label of a field (a translation key; show it through ``tr``)."""
    return _LABELS.get(name, name.replace("_", " ").capitalize())


class ConfigForm(QWidget):
    """Editors for the fields of ``cls`` (optionally only ``fields``); ``value()`` validates."""

    def __init__(self, cls: type, fields: tuple[str, ...] | None = None, parent: QWidget | None = None,
                 editors: dict[str, Callable[[], QWidget]] | None = None) -> None:
        super().__init__(parent)
        self.cls = cls
        self.hints = typing.get_type_hints(cls)
        self.editors: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}
        self.more: QWidget | None = None       # made by arrange(): the rows not asked for
        self.layout_ = layout = _form_layout(self)
        for f in dataclasses.fields(cls):
            if fields is not None and f.name not in fields:
                continue
            editor = editors[f.name]() if editors and f.name in editors else self._editor(f)
            editor.setObjectName(f"field_{f.name}")
            help_text = tr(f.metadata["help"]) if f.metadata.get("help") else ""
            editor.setToolTip(help_text)
            label = QLabel(tr(label_for(f.name)))
            label.setObjectName(f"label_{f.name}")
            label.setToolTip(help_text)
            label.setBuddy(editor)
            layout.addRow(label, editor)
            self.editors[f.name] = editor
            self.labels[f.name] = label
        self.set_value(cls())
        for f in dataclasses.fields(cls):  # a default equal to the first choice changed nothing: explain it now
            if isinstance(self.editors.get(f.name), QComboBox):
                self._explain_choice(self.editors[f.name], f, self.choice(f.name))

    def _editor(self, f: dataclasses.Field) -> QWidget:
        kind = self.hints[f.name]
        choices = f.metadata.get("choices")
        if choices:
            box = QComboBox()
            hints = CHOICE_HINTS.get(f.name, {})
            for choice in map(str, choices):
                box.addItem(tr(choice) if f.name in WORD_CHOICES else choice, choice)
                if choice in hints:
                    box.setItemData(box.count() - 1, tr(hints[choice]), Qt.ItemDataRole.ToolTipRole)
            box.currentIndexChanged.connect(lambda _i, box=box, f=f: self._explain_choice(box, f, box.currentData()))
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

    @staticmethod
    def _explain_choice(box: QComboBox, f: dataclasses.Field, choice: str) -> None:
        """The tooltip says what the field is for and what the chosen value does."""
        help_text = tr(f.metadata["help"]) if f.metadata.get("help") else ""
        hint = CHOICE_HINTS.get(f.name, {}).get(choice)
        box.setToolTip(f"{help_text}\n\n{box.currentText()}: {tr(hint)}" if hint else help_text)

    def choice(self, name: str) -> str:
        """The value chosen in a choice field (what the config stores, whatever the UI language shows)."""
        box = self.editors[name]
        return box.currentData() if box.currentData() is not None else box.currentText()

    def arrange(self, first: Iterable[str]) -> None:
        """Rows of ``first`` (in that order) in this form; every other row in ``self.more`` (in field order)."""
        first = [name for name in first if name in self.editors]
        if self.more is None:
            self.more = QWidget()
            self.more.setObjectName("moreSettings")
            _form_layout(self.more)
        rest = [name for name in self.editors if name not in first]
        if self.shown() == (first, rest):
            return
        for layout in (self.layout_, self.more.layout()):
            while layout.rowCount():
                layout.takeRow(0)   # the label and editor live on; only the row goes
        width = max(label.sizeHint().width() for label in self.labels.values())
        for names, layout in ((first, self.layout_), (rest, self.more.layout())):
            for name in names:
                self.labels[name].setMinimumWidth(width)   # both forms' fields start in one column
                layout.addRow(self.labels[name], self.editors[name])
                self.labels[name].show()
                self.editors[name].show()

    def more_button(self, name: str, tip: str) -> QToolButton:
        """An "All settings" button that shows and hides ``self.more`` (call ``arrange`` first)."""
        button = QToolButton()
        button.setObjectName(name)
        button.setText(tr("All settings"))
        button.setToolTip(tip)
        button.setCheckable(True)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.setAutoRaise(True)

        def show(shown: bool) -> None:
            self.more.setVisible(shown)
            button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

        button.toggled.connect(show)
        show(False)
        return button

    def shown(self) -> tuple[list[str], list[str]]:
        """The fields in this form and those in ``more``, in their order on screen."""
        def names(layout: QFormLayout) -> list[str]:
            found = []
            for row in range(layout.rowCount()):
                item = layout.itemAt(row, QFormLayout.ItemRole.FieldRole)
                widget = item.widget() if item is not None else None
                found += [widget.objectName().removeprefix("field_")] if widget is not None else []
            return found
        return names(self.layout_), names(self.more.layout()) if self.more is not None else []

    def set_value(self, cfg: Any) -> None:
        for name, value in to_dict(cfg).items():
            editor = self.editors.get(name)
            if isinstance(editor, QCheckBox):
                editor.setChecked(bool(value))
            elif isinstance(editor, QComboBox):
                index = editor.findData(str(value))
                if index >= 0:
                    editor.setCurrentIndex(index)
                else:   # a page's own combo box without item data
                    editor.setCurrentText(str(value))
            elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
                editor.setValue(value)
            elif editor is not None and hasattr(editor, "setText"):   # a line edit, or a page's own editor
                editor.setText(str(value))

    def value(self, base: Any = None) -> Any:
        """The edited config (fields not shown keep ``base``'s values); raises ConfigError."""
        values = to_dict(base if base is not None else self.cls())
        for name, editor in self.editors.items():
            if isinstance(editor, QCheckBox):
                values[name] = editor.isChecked()
            elif isinstance(editor, QComboBox):
                values[name] = self.choice(name)
            elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
                values[name] = editor.value()
            else:
                values[name] = editor.text()
        return from_dict(self.cls, values)


def _form_layout(widget: QWidget) -> QFormLayout:
    layout = QFormLayout(widget)
    layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    return layout


__all__ = ["ConfigError", "ConfigForm"]
