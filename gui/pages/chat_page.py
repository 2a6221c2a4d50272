"""Chat page: talk to the tuned model (or the base, or both side by side) with replies streamed as they come.

"Both" shows two columns, base on the left and tuned on the right; the question goes into both and
each answer streams into its own column (one after the other: one model in memory answers both).

"Look it up in my books" puts the passages of the corpus that best match the question (BM25,
``core.evaluate.retrieval``) before it, so the model answers open book; the transcript keeps what
the user typed and names the passages used on a small "sources" line (click one to read it). The
index is built in the background on first use and kept until the corpus changes.
"""
from __future__ import annotations

import html
import re

from PySide6.QtGui import QCursor, QTextCursor
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QSplitter, QTextBrowser, QToolTip, QVBoxLayout, QWidget)

from core.config import ChatConfig, ConfigError
from core.events import Event
from gui import theme
from gui.i18n import N_, tr
from gui.messages import tr_message
from gui.state import AppState
from gui.widgets.config_form import ConfigForm

MODES = [(N_("Tuned model"), ("tuned",)), (N_("Base model"), ("base",)),
         (N_("Both, side by side"), ("base", "tuned"))]
SIDE_LABEL = {"tuned": N_("Tuned"), "base": N_("Base")}
LOOKUP_PASSAGES = 3
_CYRILLIC, _LATIN = re.compile("[А-Яа-яЁё]"), re.compile("[A-Za-z]")


def text_language(text: str) -> str:
    """'ru' for a mostly Cyrillic question, else 'en' (the open-book prompt's language)."""
    return "ru" if len(_CYRILLIC.findall(text)) > len(_LATIN.findall(text)) else "en"


class ChatPage(QWidget):
    title = N_("Chat")

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self.backend = None          # chat backend, loaded on first use, reused per (run, backend)
        self.backend_run: tuple | None = None
        self.job = None
        self.history: list[dict] = []
        self.finder = None            # the BM25 index of the corpus, with the corpus state it was built for
        self.finder_key = None
        self.passages: list = []      # every passage shown on a sources line (links point into this list)

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
        self.lookup = QCheckBox(tr("Look it up in my books"))
        self.lookup.setToolTip(tr("Put the {n} passages of your books that best match your question before it: the "
                                  "model answers from them (you still see only what you typed)", n=LOOKUP_PASSAGES))
        self.transcript = self._browser()
        # "both": the base and the tuned model in two columns, each answer streaming into its own
        self.base_view, self.tuned_view = self._browser(), self._browser()
        self.columns = QSplitter()
        for view, label in ((self.base_view, N_("Base model")), (self.tuned_view, N_("Tuned model"))):
            column = QWidget()
            inner = QVBoxLayout(column)
            inner.setContentsMargins(0, 0, 0, 0)
            heading = QLabel(f"<b>{tr(label)}</b>")
            inner.addWidget(heading)
            inner.addWidget(view, 1)
            self.columns.addWidget(column)
        self.columns.setVisible(False)
        self.view = self.transcript   # where the streamed pieces go now
        self.mode.currentIndexChanged.connect(self._show_columns)
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
        who.addRow("", self.lookup)
        top = QHBoxLayout()
        top.addLayout(who)
        top.addWidget(self.settings)
        top.addStretch(1)
        bottom = QHBoxLayout()   # "New conversation" here: in the top row it set the window's minimum width
        bottom.addWidget(self.input, 1)
        bottom.addWidget(self.send_button)
        bottom.addWidget(self.stop_button)
        bottom.addWidget(clear)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.run_label)
        layout.addWidget(self.transcript, 1)
        layout.addWidget(self.columns, 1)
        layout.addLayout(bottom)
        state.run_finished.connect(lambda _run: self.refresh())
        state.project_changed.connect(lambda _p: self.clear())
        state.corpus_changed.connect(self._forget_index)
        self.refresh()

    def _browser(self) -> QTextBrowser:
        view = QTextBrowser()
        view.setOpenExternalLinks(False)
        view.setOpenLinks(False)
        view.anchorClicked.connect(self.show_passage)
        return view

    def side_by_side(self) -> bool:
        return len(self.mode.currentData()) > 1

    def _show_columns(self) -> None:
        both = self.side_by_side()
        self.columns.setVisible(both)
        self.transcript.setVisible(not both)

    def _views(self) -> list[QTextBrowser]:
        return [self.base_view, self.tuned_view] if self.side_by_side() else [self.transcript]

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
        for view in (self.transcript, self.base_view, self.tuned_view):
            view.clear()
        self.passages.clear()
        self._forget_index()
        self.refresh()

    def _forget_index(self) -> None:
        self.finder = self.finder_key = None

    def _corpus_key(self) -> tuple:
        from core.evaluate.job import corpus_signature

        return self.state.project.root, corpus_signature(self.state.project)

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
        lookup, language, corpus = self.lookup.isChecked(), text_language(prompt), self._corpus_key()
        finder = self.finder if self.finder_key == corpus else None

        def job(report, cancel):
            from core.chat import TransformersChat
            from core.chat.llamacpp_backend import LlamaCppChat

            sent, index = prompt, finder
            if lookup:   # open book: the best passages go before the question; the transcript keeps the question
                if index is None:
                    from core.evaluate.retrieval import Retriever
                    index = Retriever.for_project(project)
                report(Event("log", "chat", "", {"sources": index.search(prompt, LOOKUP_PASSAGES)}))
                sent = index.prompt(prompt, LOOKUP_PASSAGES, language)
            chat = cached
            if chat is None:
                report(Event("log", "chat", loading))
                backend = LlamaCppChat if key[1] == "llamacpp" else TransformersChat
                chat = backend.from_run(project, run.name)
            answers = {}
            for side in sides:
                report(Event("log", "chat", "", {"side": side}))
                pieces = []
                for piece in chat.stream(chat.messages(sent, settings, history), settings, side == "tuned", cancel):
                    pieces.append(piece)
                    report(Event("log", "chat", "", {"piece": piece}))
                answers[side] = "".join(pieces).strip()
            return {"chat": chat, "key": key, "answers": answers, "finder": index, "corpus": corpus}

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
        if "sources" in event.data:
            self._show_sources(event.data["sources"])
        elif "side" in event.data:
            side = event.data["side"]
            if self.side_by_side():   # the column says whose answer it is
                self.view = self.base_view if side == "base" else self.tuned_view
                self._append_html("<p>", [self.view])
            else:
                self.view = self.transcript
                self._append_html(f"<p><b>{tr(SIDE_LABEL[side])}:</b> ", [self.view])
        elif "piece" in event.data:
            cursor = self.view.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertText(event.data["piece"])   # plain text: model output is never read as HTML
            self.view.setTextCursor(cursor)
            self.view.ensureCursorVisible()
        elif event.message:
            self.run_label.setText(tr_message(event.message))

    def _show_sources(self, passages: list) -> None:
        """The small line under the question naming the passages the model was given."""
        if not passages:
            nothing = tr("Nothing in your books matched; asked without passages.")
            self._append_html(f"<p style='color:{theme.color('muted')}'>{nothing}</p>")
            return
        links = []
        for passage in passages:
            self.passages.append(passage)
            where = passage.heading if passage.title and passage.title in passage.heading else \
                " — ".join(x for x in (passage.title, passage.heading) if x)
            where = where or tr("passage")
            links.append(f"<a href='passage:{len(self.passages) - 1}'>{html.escape(where)}</a>")
        self._append_html(f"<p style='color:{theme.color('muted')}'>{tr('Looked up in your books:')} "
                          f"{' · '.join(links)}</p>")

    def show_passage(self, url) -> None:
        """A click on a source shows the passage's text by the mouse."""
        kind, _, number = url.toString().partition(":")
        if kind == "passage" and number.isdigit() and int(number) < len(self.passages):
            passage = self.passages[int(number)]
            text = passage.text if len(passage.text) <= 1500 else passage.text[:1500] + "…"
            QToolTip.showText(QCursor.pos(), f"<p style='white-space:pre-wrap'>{html.escape(text)}</p>",
                              self.view)

    def on_done(self, result) -> None:
        self.backend, self.backend_run, answers = result["chat"], result["key"], result["answers"]
        if result["finder"] is not None:
            self.finder, self.finder_key = result["finder"], result["corpus"]
        # The conversation continues with the tuned side's answer (or the only side asked).
        reply = answers.get("tuned", answers.get("base", ""))
        self.history += [{"role": "user", "content": self.pending_prompt}, {"role": "assistant", "content": reply}]
        self._finish()

    def on_failed(self, message: str) -> None:
        text = tr("Could not answer: {message}", message=_escape(tr_message(message)))
        self._append_html(f"<p style='color:{theme.color('error')}'>{text}</p>")
        self._finish()

    def _finish(self) -> None:
        self.job = None
        self.stop_button.setEnabled(False)
        self.refresh()

    def _append_html(self, html: str, views: list[QTextBrowser] | None = None) -> None:
        """Append to ``views`` (default: every view of the current mode: the question goes in both columns)."""
        for view in views or self._views():
            cursor = view.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertBlock()
            cursor.insertHtml(html)
            view.setTextCursor(cursor)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
