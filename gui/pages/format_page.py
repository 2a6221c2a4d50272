"""Format page: how chunks are shown to the model, with a preview of exactly what it will see."""
from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from core.config import ConfigError, FormatConfig
from gui.state import AppState
from gui.widgets.config_form import ConfigForm

PREVIEW_SAMPLES = 3


class FormatPage(QWidget):
    title = "Format"

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self.form = ConfigForm(FormatConfig)
        self.preview_button = QPushButton("Preview samples")
        self.preview_button.clicked.connect(self.preview)
        self.status = QLabel("The preview shows the first samples exactly as the model will see them, "
                             "special tokens included. The loss covers only the part after ▶.")
        self.status.setWordWrap(True)
        self.preview_text = QPlainTextEdit()
        self.preview_text.setReadOnly(True)
        self.preview_text.setFont(QFont("Monospace", 9))

        row = QHBoxLayout()
        row.addWidget(self.preview_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(self.preview_text, 1)
        state.project_changed.connect(lambda _p: self.load_settings())
        self.load_settings()

    def load_settings(self) -> None:
        self.form.set_value(self.state.project.settings("format"))
        self.preview_text.clear()

    def config(self) -> FormatConfig:
        return self.form.value()

    def preview(self) -> None:
        try:
            config = self.config()
        except ConfigError as exc:
            self.status.setText(f"Check the settings: {exc}")
            return
        project = self.state.project

        def job(report, cancel):
            from core.formats.renderers import RENDERERS
            from core.ingest import load_chunks
            from core.models import load_tokenizer, resolve

            chunks = load_chunks(project)[:PREVIEW_SAMPLES]
            if not chunks:
                raise ValueError("the corpus is empty: add files on the Corpus page first")
            tokenizer = load_tokenizer(resolve(project.model.source, report))
            return [RENDERERS[config.format](c, config, tokenizer) for c in chunks]

        self.preview_button.setEnabled(False)
        self.status.setText("Rendering…")
        self.state.jobs.start(job, None, self.show_preview, self.show_error)

    def show_preview(self, samples: list[dict]) -> None:
        self.preview_button.setEnabled(True)
        self.status.setText(f"First {len(samples)} samples; the loss covers only the text after ▶.")
        blocks = [f"── sample {i + 1} ──\n{s['prompt']}▶{s['completion']}" for i, s in enumerate(samples)]
        self.preview_text.setPlainText("\n\n".join(blocks))

    def show_error(self, message: str) -> None:
        self.preview_button.setEnabled(True)
        self.status.setText(f"Cannot preview: {message}")
