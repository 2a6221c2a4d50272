"""Model page: choose the base model (embedded SmolLM2, a HF folder, a .gguf file, a hub id)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QVBoxLayout, QWidget)

from core.config import ModelConfig
from gui.i18n import N_, tr
from gui.messages import tr_message
from gui.state import AppState

KINDS = [(N_("Embedded SmolLM2-135M-Instruct (works offline)"), "embedded"),
         (N_("Hugging Face model folder"), "folder"), (N_("GGUF file"), "gguf"),
         (N_("Hugging Face hub id (needs internet)"), "hub")]


class ModelPage(QWidget):
    title = N_("Model")

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self.kind = QComboBox()
        for label, key in KINDS:
            self.kind.addItem(tr(label), key)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.location = QLineEdit()
        self.location.setPlaceholderText(tr("Folder, .gguf file or org/name"))
        self.browse = QPushButton(tr("Browse…"))
        self.browse.clicked.connect(self._browse)
        self.apply_button = QPushButton(tr("Use this model"))
        self.apply_button.clicked.connect(self.apply)
        self.info = QLabel()
        self.info.setWordWrap(True)

        where = QHBoxLayout()
        where.addWidget(self.location, 1)
        where.addWidget(self.browse)
        form = QFormLayout()
        form.addRow(tr("Base model"), self.kind)
        form.addRow(tr("Location"), where)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.apply_button)
        layout.addWidget(self.info)
        layout.addStretch(1)
        state.project_changed.connect(lambda _p: self.load_from_project())
        self.load_from_project()

    def load_from_project(self) -> None:
        source = self.state.project.model.source
        if source == "embedded":
            key = "embedded"
        elif source.lower().endswith(".gguf"):
            key = "gguf"
        else:
            key = "folder" if Path(source).expanduser().exists() else "hub"
        self.kind.setCurrentIndex([k for _, k in KINDS].index(key))
        self.location.setText("" if key == "embedded" else source)
        self.info.setText(tr("Current base model: {source}", source=tr(KINDS[0][0]) if key == "embedded" else source))
        self._kind_changed()

    def _kind_changed(self) -> None:
        embedded = self.kind.currentData() == "embedded"
        self.location.setEnabled(not embedded)
        self.browse.setEnabled(self.kind.currentData() in ("folder", "gguf"))

    def _browse(self) -> None:
        if self.kind.currentData() == "gguf":
            path, _ = QFileDialog.getOpenFileName(self, tr("Choose a GGUF model"), "",
                                                  f"{tr('GGUF models')} (*.gguf)")
        else:
            path = QFileDialog.getExistingDirectory(self, tr("Choose a Hugging Face model folder"))
        if path:
            self.location.setText(path)

    def source(self) -> str:
        return "embedded" if self.kind.currentData() == "embedded" else self.location.text().strip()

    def apply(self) -> None:
        source = self.source()
        if not source:
            self.info.setText(tr("Enter a location first."))
            return

        def job(report, cancel):
            from core.models import resolve
            return resolve(source, report)

        self.apply_button.setEnabled(False)
        self.info.setText(tr("Checking the model (a GGUF is converted once; this can take a minute)…"))
        self.state.jobs.start(job, None, self.on_resolved, self.on_failed)

    def on_resolved(self, resolved) -> None:
        self.apply_button.setEnabled(True)
        self.state.project.set_model(ModelConfig(resolved.source))
        text = tr("Using {name} ({kind}).\nTrainable copy: {folder}", name=resolved.name, kind=resolved.kind,
                  folder=resolved.load_dir)
        if resolved.gguf_path:
            text += "\n" + tr("GGUF (export target): {path}", path=resolved.gguf_path)
        self.info.setText(text)

    def on_failed(self, message: str) -> None:
        self.apply_button.setEnabled(True)
        self.info.setText(tr("Cannot use this model: {message}", message=tr_message(message)))
