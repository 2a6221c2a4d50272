"""Format page: how chunks are shown to the model, with a preview of exactly what it will see.

Preview renders the current settings (for qa/paraphrase the base model writes the first few
chunks only) and shows the samples as token ids decoded back — special tokens visible, ▶ where
the loss starts, ✂ where the max length cuts — next to length statistics over every sample.
Build writes the dataset (for qa/paraphrase: the long, resumable generation, with ETA and Stop).
Both run core functions in a background job; this page only shows what they return.
"""
from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QSplitter, QVBoxLayout,
                               QWidget)

from core.config import GENERATED_FORMATS, ConfigError, FormatConfig
from core.events import Event
from gui.state import AppState
from gui.widgets.config_form import ConfigForm

PREVIEW_SAMPLES = 3
INTRO = ("The preview shows the first samples exactly as the model will see them, special tokens included. "
         "The loss covers only the part after ▶; ✂ marks where the max length cuts.")


def _monospace() -> QPlainTextEdit:
    text = QPlainTextEdit()
    text.setReadOnly(True)
    text.setFont(QFont("Monospace", 9))
    return text


class FormatPage(QWidget):
    title = "Format"

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self.job = None
        self._action = "preview"
        self.last_preview = None  # core.formats.preview.Preview of the last preview or build
        self.form = ConfigForm(FormatConfig)
        self.preview_button = QPushButton("Preview samples")
        self.preview_button.clicked.connect(self.preview)
        self.build_button = QPushButton("Build dataset")
        self.build_button.setToolTip("Write the dataset; for qa and paraphrase the base model writes every chunk "
                                     "(resumable: what is written is kept when you stop)")
        self.build_button.clicked.connect(self.build)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.status = QLabel(INTRO)
        self.status.setWordWrap(True)
        self.preview_text = _monospace()
        self.stats_text = _monospace()
        self.stats_text.setPlaceholderText("Token counts, a length histogram and what the max length cuts "
                                           "appear here after a preview.")

        row = QHBoxLayout()
        for button in (self.preview_button, self.build_button, self.stop_button):
            row.addWidget(button)
        row.addStretch(1)
        split = QSplitter()
        split.addWidget(self.preview_text)
        split.addWidget(self.stats_text)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        state.project_changed.connect(lambda _p: self.load_settings())
        self.load_settings()

    def load_settings(self) -> None:
        self.form.set_value(self.state.project.settings("format"))
        self.preview_text.clear()
        self.stats_text.clear()

    def config(self) -> FormatConfig:
        return self.form.value()

    # ---- jobs
    def _start(self, job, busy: str, action: str) -> None:
        self._action = action
        for button in (self.preview_button, self.build_button):
            button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.status.setText(busy)
        self.job = self.state.jobs.start(job, self.on_event, self.show_preview, self.show_error)

    def _idle(self) -> None:
        self.job = None
        for button in (self.preview_button, self.build_button):
            button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def _checked_config(self) -> FormatConfig | None:
        """The settings on the page, or None after telling the user which one is wrong."""
        try:
            return self.config()
        except ConfigError as exc:
            self.status.setText(f"Check the settings: {exc}")
            return None

    def preview(self) -> None:
        if (config := self._checked_config()) is None:
            return
        project = self.state.project
        max_len = project.settings("train").max_seq_len

        def job(report, cancel):
            from core.formats.preview import preview
            from core.models import load_tokenizer, resolve

            tokenizer = load_tokenizer(resolve(project.model.source, report))
            return preview(project, config, tokenizer, PREVIEW_SAMPLES, max_len, report, cancel)

        generated = config.format in GENERATED_FORMATS
        self._start(job, "The base model writes the first samples…" if generated else "Rendering…", "preview")

    def build(self) -> None:
        if (config := self._checked_config()) is None:
            return
        project = self.state.project
        project.save_settings(format=config)
        max_len = project.settings("train").max_seq_len

        def job(report, cancel):
            from core.formats.builder import build_dataset, load_samples
            from core.formats.preview import preview_rows
            from core.models import load_tokenizer, resolve

            tokenizer = load_tokenizer(resolve(project.model.source, report))
            built = build_dataset(project, config, tokenizer, report, cancel)
            shown = preview_rows(load_samples(project, config.format), tokenizer, config.format, PREVIEW_SAMPLES,
                                 max_len)
            shown.stats["dropped"] = built.meta["dropped"]
            shown.notes.append(f"Saved to {built.folder}: {len(built.train)} training and {len(built.eval)} "
                               f"held-out samples" + ("" if built.meta["complete"] else
                                                      " — incomplete; Build again to continue"))
            return shown

        self._start(job, "Building the dataset…", "build")

    def stop(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.status.setText("Stopping after the current batch; what is written is kept…")

    # ---- results (delivered on the GUI thread)
    def on_event(self, event: Event) -> None:
        if event.kind == "progress" and event.message:
            self.status.setText(event.message)
        elif event.kind in ("warning", "error") and event.message:
            self.status.setText(event.message)

    def show_preview(self, result) -> None:
        from core.formats.preview import histogram_text

        self._idle()
        self.last_preview = result
        s = result.stats
        self.status.setText(f"First {len(result.samples)} of {s['samples']} samples. {INTRO[INTRO.index('The loss'):]}")
        blocks = [f"── sample {i + 1} · {v.tokens} tokens ({v.prompt_tokens} prompt, {v.completion_tokens} answer"
                  f"{f', {v.cut_tokens} cut' if v.cut_tokens else ''}) ──\n{v.text}"
                  for i, v in enumerate(result.samples)]
        self.preview_text.setPlainText("\n\n".join(blocks) or "No usable sample.")
        dropped = s.get("dropped") or {}
        lines = [f"{s['samples']} samples · {s['tokens']} tokens",
                 f"length: min {s['min']} · median {s['median']} · mean {s['mean']} · max {s['max']}",
                 f"max length {result.max_len}: {s['cut_tokens']} tokens cut from {s['cut_samples']} samples"
                 + (f"; {s['no_answer_after_cut']} lose their whole answer" if s["no_answer_after_cut"] else ""),
                 f"tokens the loss covers: {s['trained_tokens']}"]
        if dropped:
            lines.append("dropped: " + ", ".join(f"{n} {why}" for why, n in dropped.items()))
        lines += ["", "tokens per sample", histogram_text(s["histogram"], result.max_len, width=20), ""]
        lines += result.notes
        self.stats_text.setPlainText("\n".join(lines))

    def show_error(self, message: str) -> None:
        self._idle()
        self.status.setText(f"Cannot {self._action}: {message}")
