"""Format page: how chunks are shown to the model, with a preview of exactly what it will see.

Preview renders the current settings (for qa/paraphrase the base model writes the first few
chunks only) and shows the samples as token ids decoded back — special tokens visible, ▶ where
the loss starts, ✂ where the max length cuts — next to length statistics over every sample.
Build writes the dataset (for qa/paraphrase: the long, resumable generation, with ETA and Stop).
Both run core functions in a background job; this page only shows what they return.
"""
from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QScrollArea, QSplitter, QVBoxLayout,
                               QWidget)

from core.config import GENERATED_FORMATS, ConfigError, FormatConfig
from core.events import Event
from gui.i18n import N_, tr
from gui.messages import tr_message
from gui.state import AppState
from gui.widgets.config_form import ConfigForm

PREVIEW_SAMPLES = 3
INTRO = N_("The preview shows the first samples exactly as the model will see them, special tokens included.")
MARKS = N_("The loss covers only the part after ▶; ✂ marks where the max length cuts.")


def _monospace() -> QPlainTextEdit:
    text = QPlainTextEdit()
    text.setReadOnly(True)
    text.setFont(QFont("Monospace", 9))
    return text


class FormatPage(QWidget):
    title = N_("Format")

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self.job = None
        self._action = "preview"
        self.last_preview = None  # core.formats.preview.Preview of the last preview or build
        self.form = ConfigForm(FormatConfig)
        self.preview_button = QPushButton(tr("Preview samples"))
        self.preview_button.clicked.connect(self.preview)
        self.build_button = QPushButton(tr("Build dataset"))
        self.build_button.setToolTip(tr("Write the dataset; for qa and paraphrase the base model writes every chunk "
                                        "(resumable: what is written is kept when you stop)"))
        self.build_button.clicked.connect(self.build)
        self.stop_button = QPushButton(tr("Stop"))
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.status = QLabel(f"{tr(INTRO)} {tr(MARKS)}")
        self.status.setWordWrap(True)
        self.preview_text = _monospace()
        self.stats_text = _monospace()
        self.stats_text.setPlaceholderText(tr("Token counts, a length histogram and what the max length cuts "
                                              "appear here after a preview."))

        row = QHBoxLayout()
        for button in (self.preview_button, self.build_button, self.stop_button):
            row.addWidget(button)
        row.addStretch(1)
        split = QSplitter()
        split.addWidget(self.preview_text)
        split.addWidget(self.stats_text)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        # the settings scroll: every new format setting made the window taller (its minimum height)
        form = QScrollArea()
        form.setWidget(self.form)
        form.setWidgetResizable(True)
        form.setFrameShape(QScrollArea.Shape.NoFrame)
        form.setMinimumHeight(120)
        layout = QVBoxLayout(self)
        layout.addWidget(form, 3)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(split, 2)
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
        self._action = action  # "preview" or "build": which failure message show_error gives
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
            self.status.setText(tr("Check the settings: {error}", error=tr_message(str(exc))))
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
        busy = tr("The base model writes the first samples…") if generated else tr("Rendering…")
        self._start(job, busy, "preview")

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
            counts = dict(folder=built.folder, train=len(built.train), held_out=len(built.eval))
            shown.notes.append(tr("Saved to {folder}: {train} training and {held_out} held-out samples", **counts)
                               if built.meta["complete"] else
                               tr("Saved to {folder}: {train} training and {held_out} held-out samples — "
                                  "incomplete; Build again to continue", **counts))
            return shown

        self._start(job, tr("Building the dataset…"), "build")

    def stop(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.status.setText(tr("Stopping after the current batch; what is written is kept…"))

    # ---- results (delivered on the GUI thread)
    def on_event(self, event: Event) -> None:
        if event.kind in ("progress", "warning", "error") and event.message:
            self.status.setText(tr_message(event.message))

    def show_preview(self, result) -> None:
        from core.formats.preview import histogram_text

        self._idle()
        self.last_preview = result
        s = result.stats
        self.status.setText(tr("First {shown} of {total} samples.", shown=len(result.samples), total=s["samples"])
                            + " " + tr(MARKS))
        self.preview_text.setPlainText("\n\n".join(_sample_block(i, v) for i, v in enumerate(result.samples))
                                       or tr("No usable sample."))
        dropped = s.get("dropped") or {}
        lines = [tr("{samples} samples · {tokens} tokens", samples=s["samples"], tokens=s["tokens"]),
                 tr("length: min {min} · median {median} · mean {mean} · max {max}",
                    **{k: s[k] for k in ("min", "median", "mean", "max")}),
                 tr("max length {max_len}: {cut_tokens} tokens cut from {cut_samples} samples",
                    max_len=result.max_len, cut_tokens=s["cut_tokens"], cut_samples=s["cut_samples"])
                 + (tr("; {count} lose their whole answer", count=s["no_answer_after_cut"])
                    if s["no_answer_after_cut"] else ""),
                 tr("tokens the loss covers: {count}", count=s["trained_tokens"])]
        if dropped:  # "3 copy of the prompt": core's words, translated for display
            lines.append(tr("dropped: {reasons}", reasons=", ".join(tr_message(f"{n} {why}")
                                                                    for why, n in dropped.items())))
        lines += ["", tr("tokens per sample"), histogram_text(s["histogram"], result.max_len, width=20), ""]
        lines += [tr_message(note) for note in result.notes]
        self.stats_text.setPlainText("\n".join(lines))

    def show_error(self, message: str) -> None:
        self._idle()
        message = tr_message(message)
        self.status.setText(tr("Cannot build the dataset: {message}", message=message) if self._action == "build"
                            else tr("Cannot preview: {message}", message=message))


def _sample_block(index: int, v) -> str:
    """One previewed sample under a rule naming its number and token counts."""
    counts = (tr("{tokens} tokens ({prompt} prompt, {answer} answer, {cut} cut)", tokens=v.tokens,
                 prompt=v.prompt_tokens, answer=v.completion_tokens, cut=v.cut_tokens) if v.cut_tokens else
              tr("{tokens} tokens ({prompt} prompt, {answer} answer)", tokens=v.tokens, prompt=v.prompt_tokens,
                 answer=v.completion_tokens))
    return f"── {tr('sample {number}', number=index + 1)} · {counts} ──\n{v.text}"
