"""Format page: what the user wants first (the goal), then how chunks are shown, with a preview.

The goal comes first — know the facts in my books, write like my books, or a custom format — as
three cards with their trade-off. Choosing one lays ``core.formats.goals.apply_goal`` over the
format settings here and the training settings (saved to the project; the Train page updates its
form through ``AppState.goal_chosen``). Under the goal only the settings the chosen format reads
are shown (``gui.format_fields``); the rest wait under "All settings". The writer model (who writes
restatements and questions) has its own chooser that names a path that is not there.

Preview renders the current settings (for the formats a model writes — knowledge: the writer
model; qa, paraphrase: the base model — only the first few chunks are written) and shows the
samples as token ids decoded back — special tokens visible, ▶ where the loss starts, ✂ where the
max length cuts — next to length statistics over every sample. Build writes the dataset (for the
written formats: the long, resumable generation, with ETA and Stop). Both run core functions in
a background job; this page only shows what they return.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QScrollArea, QSplitter,
                               QVBoxLayout, QWidget)

from core.config import GENERATED_FORMATS, ConfigError, FormatConfig
from core.events import Event
from core.formats.goals import DESCRIPTIONS, apply_goal, goal_of
from gui.format_fields import USES_WRITER, relevant, writer_problem
from gui.i18n import N_, tr
from gui.messages import tr_message
from gui.state import AppState
from gui.widgets.config_form import ConfigForm
from gui.widgets.goal_picker import GoalPicker
from gui.widgets.writer_chooser import WriterChooser

PREVIEW_SAMPLES = 3
WRITTEN = (*GENERATED_FORMATS, "knowledge")   # formats a model writes (slow)
INTRO = N_("The preview shows the first samples exactly as the model will see them, special tokens included.")
MARKS = N_("The loss covers only the part after ▶; ✂ marks where the max length cuts.")
WEAK_WRITER = N_("Restatements and questions are written by the writer model. The embedded 135M model writes weak "
                 "ones: they fail the checks, so the recipe then trains on your books' text with its source only "
                 "(measured on three manuals: as many facts learned, in far less time). It cannot write Russian. A "
                 "bigger writer writes much better data: choose a local GGUF file or Hugging Face folder as the "
                 "writer model below (for example Qwen2.5-1.5B-Instruct or Qwen2.5-3B-Instruct as GGUF).")
BASE_WRITER = N_("Restatements and questions are written by your base model ({model}). A bigger writer model (a "
                 "local GGUF file or Hugging Face folder, chosen below) writes better data.")
OWN_WRITER = N_("Restatements and questions are written by {writer}; training still uses your base model.")


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
        self.goals = GoalPicker()
        self.goals.chosen.connect(self.choose_goal)
        self.form = ConfigForm(FormatConfig, editors={"writer": WriterChooser})
        self.writer: WriterChooser = self.form.editors["writer"]
        self.writer.changed.connect(lambda _text: self._explain_goal())
        self.form.editors["format"].currentTextChanged.connect(self._format_changed)
        self.form.arrange(relevant("style", "chat"))
        self.more = self.form.more
        self.more_button = self.form.more_button("allSettings",
                                                 tr("The settings this format does not read, and the rest"))

        self.preview_button = QPushButton(tr("Preview samples"))
        self.preview_button.clicked.connect(self.preview)
        self.build_button = QPushButton(tr("Build dataset"))
        self.build_button.setToolTip(tr("Write the dataset; for qa, paraphrase and knowledge a model writes every "
                                        "chunk (resumable: what is written is kept when you stop)"))
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

        # the goal and the settings scroll in the upper pane; the preview has the lower one, and
        # the user drags the border between them (a small window keeps both usable)
        settings = QWidget()
        column = QVBoxLayout(settings)
        column.setContentsMargins(0, 0, 6, 0)
        column.addWidget(self.goals)
        column.addWidget(self.form)
        column.addWidget(self.more_button)
        column.addWidget(self.more)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(settings)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setMinimumHeight(120)
        row = QHBoxLayout()
        for button in (self.preview_button, self.build_button, self.stop_button):
            row.addWidget(button)
        row.addStretch(1)
        split = QSplitter()
        split.addWidget(self.preview_text)
        split.addWidget(self.stats_text)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        lower = QWidget()
        below = QVBoxLayout(lower)
        below.setContentsMargins(0, 4, 0, 0)
        below.addLayout(row)
        below.addWidget(self.status)
        below.addWidget(split, 1)
        self.panes = QSplitter(Qt.Orientation.Vertical)
        self.panes.addWidget(scroll)
        self.panes.addWidget(lower)
        self.panes.setChildrenCollapsible(False)
        self.panes.setStretchFactor(0, 2)   # the settings matter first; the preview after pressing Preview
        self.panes.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.panes)
        state.project_changed.connect(lambda _p: self.load_settings())
        self.load_settings()

    def load_settings(self) -> None:
        fmt = self.state.project.settings("format")
        self.form.set_value(fmt)
        self.goals.set_goal(goal_of(fmt))   # shown, not applied: the saved settings already are the choice
        self._arrange()
        self.preview_text.clear()
        self.stats_text.clear()

    def config(self) -> FormatConfig:
        return self.form.value()

    # ---- the goal and the fields it shows
    def choose_goal(self, goal: str) -> None:
        """Lay the goal's preset over the format settings here and the project's training settings."""
        project = self.state.project
        try:
            current = self.form.value()
        except ConfigError:   # e.g. a custom format without a template: start from what was saved
            current = project.settings("format")
        fmt, train = apply_goal(goal, current, project.settings("train"))
        self.form.set_value(fmt)
        self.goals.set_goal(goal)
        self._arrange()
        project.save_settings(format=fmt, train=train)
        self.state.goal_chosen.emit(goal)   # the Train page lays the same preset over its form
        name = tr(DESCRIPTIONS[goal][0])
        self.status.setText(tr("“{goal}”: the format and training settings are set for it; any of them can still "
                               "be changed.", goal=name) if goal != "custom" else
                            tr("Custom format: choose the format and its settings below."))

    def _format_changed(self, fmt: str) -> None:
        """A format picked by hand: the goal it belongs to is shown (a custom choice stays custom)."""
        if self.goals.goal() != "custom" and fmt:
            self.goals.set_goal(_goal_of_format(fmt))
        self._arrange()

    def _arrange(self) -> None:
        goal, fmt = self.goals.goal(), self.form.editors["format"].currentText()
        self.form.arrange(relevant(goal, fmt))
        self._explain_goal()

    def _explain_goal(self) -> None:
        """Under the knowledge goal: who writes the restatements, and what that means."""
        if self.goals.goal() != "knowledge":
            self.goals.set_note("")
            return
        writer, base = self.writer.text(), self.state.project.model.source
        if writer and writer != "embedded":
            self.goals.set_note(tr(OWN_WRITER, writer=writer))
        elif writer == "embedded" or base == "embedded":
            self.goals.set_note(tr(WEAK_WRITER))
        else:
            self.goals.set_note(tr(BASE_WRITER, model=base))

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self._explain_goal()   # the base model may have changed on the Model page

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
            config = self.config()
        except ConfigError as exc:
            self.status.setText(tr("Check the settings: {error}", error=tr_message(str(exc))))
            return None
        if config.format in USES_WRITER and (problem := writer_problem(config.writer)):
            self.writer.check()
            self.status.setText(tr("Check the settings: {error}", error=problem))
            return None
        return config

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

        busy = (tr("The writer model writes the first samples…") if config.format in USES_WRITER else
                tr("The base model writes the first samples…") if config.format in WRITTEN else tr("Rendering…"))
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


def _goal_of_format(fmt: str) -> str:
    try:
        return goal_of(FormatConfig(format=fmt, template="-"))   # a template only so custom validates
    except ConfigError:
        return "custom"


def _sample_block(index: int, v) -> str:
    """One previewed sample under a rule naming its number and token counts."""
    counts = (tr("{tokens} tokens ({prompt} prompt, {answer} answer, {cut} cut)", tokens=v.tokens,
                 prompt=v.prompt_tokens, answer=v.completion_tokens, cut=v.cut_tokens) if v.cut_tokens else
              tr("{tokens} tokens ({prompt} prompt, {answer} answer)", tokens=v.tokens, prompt=v.prompt_tokens,
                 answer=v.completion_tokens))
    return f"── {tr('sample {number}', number=index + 1)} · {counts} ──\n{v.text}"
