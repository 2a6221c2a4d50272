"""Chat page: talk to the tuned model (or the base, or both) with replies streamed as they come."""
from __future__ import annotations

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QTextBrowser, QVBoxLayout,
                               QWidget)

from core.config import ChatConfig, ConfigError
from core.events import Event
from gui.state import AppState
from gui.widgets.config_form import ConfigForm

MODES = [("Tuned model", ("tuned",)), ("Base model", ("base",)), ("Both: base, then tuned", ("base", "tuned"))]
SIDE_LABEL = {"tuned": "Tuned", "base": "Base"}


class ChatPage(QWidget):
    title = "Chat"

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self.backend = None          # chat backend, loaded on first use, reused per (run, backend)
        self.backend_run: tuple | None = None
        self.job = None
        self.history: list[dict] = []

        self.mode = QComboBox()
        for label, sides in MODES:
            self.mode.addItem(label, sides)
        self.backend_box = QComboBox()
        self.backend_box.addItem("transformers (PEFT)", "transformers")
        self.backend_box.addItem("llama.cpp (exported GGUF)", "llamacpp")
        self.backend_box.setToolTip("llama.cpp answers with the exported GGUF files (export the run first); "
                                    "it is several times faster on a CPU")
        self.settings = ConfigForm(ChatConfig, ("max_new_tokens", "temperature"))
        self.run_label = QLabel()
        self.transcript = QTextBrowser()
        self.transcript.setOpenExternalLinks(False)
        self.input = QLineEdit()
        self.input.setPlaceholderText("Ask something about your books…")
        self.input.returnPressed.connect(self.send)
        self.send_button = QPushButton("Send")
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        clear = QPushButton("New conversation")
        clear.clicked.connect(self.clear)

        top = QHBoxLayout()
        top.addWidget(QLabel("Answer with"))
        top.addWidget(self.mode)
        top.addWidget(QLabel("through"))
        top.addWidget(self.backend_box)
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
            self.run_label.setText(f"Adapter: {run.name} (newest run)")
            self.send_button.setEnabled(self.job is None)
        except Exception:  # no run yet: say what to do instead of a dead chat box
            self.run_label.setText("No trained adapter yet: train one on the Train page first.")
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
            self.run_label.setText(f"Check the settings: {exc}")
            return
        sides = self.mode.currentData()
        project, history = self.state.project, list(self.history)
        run = project.run_dir()
        key = (run, self.backend_box.currentData())
        cached = self.backend if self.backend_run == key else None

        def job(report, cancel):
            from core.chat import TransformersChat
            from core.chat.llamacpp_backend import LlamaCppChat

            chat = cached
            if chat is None:
                report(Event("log", "chat", "Loading the tuned model…"))
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
        self._append_html(f"<p><b>You:</b> {_escape(prompt)}</p>")
        self.send_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.pending_prompt = prompt
        self.job = self.state.jobs.start(job, self.on_event, self.on_done, self.on_failed)

    def stop(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def on_event(self, event: Event) -> None:
        if "side" in event.data:
            self._append_html(f"<p><b>{SIDE_LABEL[event.data['side']]}:</b> ")
        elif "piece" in event.data:
            cursor = self.transcript.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertText(event.data["piece"])
            self.transcript.setTextCursor(cursor)
            self.transcript.ensureCursorVisible()
        elif event.message:
            self.run_label.setText(event.message)

    def on_done(self, result) -> None:
        self.backend, self.backend_run, answers = result
        # The conversation continues with the tuned side's answer (or the only side asked).
        reply = answers.get("tuned", answers.get("base", ""))
        self.history += [{"role": "user", "content": self.pending_prompt}, {"role": "assistant", "content": reply}]
        self._finish()

    def on_failed(self, message: str) -> None:
        self._append_html(f"<p style='color:#b3261e'>Could not answer: {_escape(message)}</p>")
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
