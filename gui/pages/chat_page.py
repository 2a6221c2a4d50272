"""Chat page: talk to the tuned model (or the base, or both) with replies streamed as they come."""
from __future__ import annotations

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QTextBrowser,
                               QVBoxLayout, QWidget)

from core.config import ChatConfig, ConfigError
from core.events import Event
from gui.i18n import N_, tr
from gui.messages import tr_message
from gui.state import AppState
from gui.widgets.config_form import ConfigForm

MODES = [(N_("Tuned model"), ("tuned",)), (N_("Base model"), ("base",)),
         (N_("Both: base, then tuned"), ("base", "tuned"))]
SIDE_LABEL = {"tuned": N_("Tuned"), "base": N_("Base")}


class ChatPage(QWidget):
    title = N_("Chat")

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self.backend = None          # chat backend, loaded on first use, reused per (run, backend)
        self.backend_run: tuple | None = None
        self.job = None
        self.history: list[dict] = []

        self.mode = QComboBox()
        for label, sides in MODES:
            self.mode.addItem(tr(label), sides)
        self.backend_box = QComboBox()
        self.backend_box.addItem("transformers (PEFT)", "transformers")
        self.backend_box.addItem(tr("llama.cpp (exported GGUF)"), "llamacpp")
        self.backend_box.setToolTip(tr("llama.cpp answers with the exported GGUF files (export the run first); "
                                       "it is several times faster on a CPU"))
        self.settings = ConfigForm(ChatConfig, ("max_new_tokens", "temperature"))
        self.run_label = QLabel()
        self.run_label.setWordWrap(True)  # a long (translated) error must not widen the window
        self.transcript = QTextBrowser()
        self.transcript.setOpenExternalLinks(False)
        self.input = QLineEdit()
        self.input.setPlaceholderText(tr("Ask something about your books…"))
        self.input.returnPressed.connect(self.send)
        self.send_button = QPushButton(tr("Send"))
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton(tr("Stop"))
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        clear = QPushButton(tr("New conversation"))
        clear.clicked.connect(self.clear)

        # two small forms side by side rather than one long row: translated labels and combo
        # texts grow, and a single row set the window's minimum width
        who = QFormLayout()
        who.addRow(tr("Answer with"), self.mode)
        who.addRow(tr("Engine"), self.backend_box)
        top = QHBoxLayout()
        top.addLayout(who)
        top.addWidget(self.settings)
        top.addStretch(1)
        top.addWidget(clear)
        bottom = QHBoxLayout()
        bottom.addWidget(self.input, 1)
        bottom.addWidget(self.send_button)
        bottom.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.run_label)
        layout.addWidget(self.transcript, 1)
        layout.addLayout(bottom)
        state.run_finished.connect(lambda _run: self.refresh())
        state.project_changed.connect(lambda _p: self.clear())
        self.refresh()

    def refresh(self) -> None:
        try:
            run = self.state.project.run_dir()
            self.run_label.setText(tr("Adapter: {run} (newest run)", run=run.name))
            self.send_button.setEnabled(self.job is None)
        except Exception:  # no run yet: say what to do instead of a dead chat box
            self.run_label.setText(tr("No trained adapter yet: train one on the Train page first."))
            self.send_button.setEnabled(False)

    def clear(self) -> None:
        self.history.clear()
        self.transcript.clear()
        self.refresh()

    def send(self) -> None:
        prompt = self.input.text().strip()
        if not prompt or self.job is not None or not self.send_button.isEnabled():
            return
        try:
            settings = self.settings.value()
        except ConfigError as exc:
            self.run_label.setText(tr("Check the settings: {error}", error=tr_message(str(exc))))
            return
        sides = self.mode.currentData()
        loading = tr("Loading the tuned model…")  # translated here: the job runs outside the GUI thread
        project, history = self.state.project, list(self.history)
        run = project.run_dir()
        key = (run, self.backend_box.currentData())
        cached = self.backend if self.backend_run == key else None

        def job(report, cancel):
            from core.chat import TransformersChat
            from core.chat.llamacpp_backend import LlamaCppChat

            chat = cached
            if chat is None:
                report(Event("log", "chat", loading))
                backend = LlamaCppChat if key[1] == "llamacpp" else TransformersChat
                chat = backend.from_run(project, run.name)
            answers = {}
            for side in sides:
                report(Event("log", "chat", "", {"side": side}))
                pieces = []
                for piece in chat.stream(chat.messages(prompt, settings, history), settings, side == "tuned", cancel):
                    pieces.append(piece)
                    report(Event("log", "chat", "", {"piece": piece}))
                answers[side] = "".join(pieces).strip()
            return chat, key, answers

        self.input.clear()
        self._append_html(f"<p><b>{tr('You:')}</b> {_escape(prompt)}</p>")
        self.send_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.pending_prompt = prompt
        self.job = self.state.jobs.start(job, self.on_event, self.on_done, self.on_failed)

    def stop(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def on_event(self, event: Event) -> None:
        if "side" in event.data:
            self._append_html(f"<p><b>{tr(SIDE_LABEL[event.data['side']])}:</b> ")
        elif "piece" in event.data:
            cursor = self.transcript.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertText(event.data["piece"])
            self.transcript.setTextCursor(cursor)
            self.transcript.ensureCursorVisible()
        elif event.message:
            self.run_label.setText(tr_message(event.message))

    def on_done(self, result) -> None:
        self.backend, self.backend_run, answers = result
        # The conversation continues with the tuned side's answer (or the only side asked).
        reply = answers.get("tuned", answers.get("base", ""))
        self.history += [{"role": "user", "content": self.pending_prompt}, {"role": "assistant", "content": reply}]
        self._finish()

    def on_failed(self, message: str) -> None:
        text = tr("Could not answer: {message}", message=_escape(tr_message(message)))
        self._append_html(f"<p style='color:#b3261e'>{text}</p>")
        self._finish()

    def _finish(self) -> None:
        self.job = None
        self.stop_button.setEnabled(False)
        self.refresh()

    def _append_html(self, html: str) -> None:
        cursor = self.transcript.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertBlock()
        cursor.insertHtml(html)
        self.transcript.setTextCursor(cursor)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
