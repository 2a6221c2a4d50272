"""Chat page: talk to the tuned model (or the base, or several side by side) with replies streamed as they come.

"Both" shows two columns, base on the left and tuned on the right; the question goes into both and
each answer streams into its own column (one after the other: one model in memory answers both).
The three-column mode adds "tuned + look-up": the tuned model answering open book, with the
passages it was given named at the top of its answer — fine-tuning vs retrieval, on your question.

Conversations are saved per project (``core.chat.conversations``: ``<project>/chats/*.jsonl``, a
line per finished turn); the newest reopens with the project and any earlier one can be picked.

"Look it up in my books" puts the best passages of the corpus (BM25, ``core.evaluate.retrieval``)
before the question: the model answers open book; the transcript keeps what the user typed and
names the passages on a "sources" line (click one to read it). The index is kept per corpus state.
"""
from __future__ import annotations

import html
from types import SimpleNamespace

from PySide6.QtGui import QCursor, QTextCursor
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QSplitter, QTextBrowser, QToolTip, QVBoxLayout, QWidget)

from core.config import ChatConfig, ConfigError
from core.events import Event
from core.evaluate.retrieval import question_language
from gui import theme
from gui.i18n import N_, tr
from gui.messages import tr_message
from gui.state import AppState
from gui.widgets.config_form import ConfigForm

MODES = [(N_("Tuned model"), ("tuned",)), (N_("Base model"), ("base",)),
         (N_("Both, side by side"), ("base", "tuned")),
         (N_("Base, tuned, tuned + look-up"), ("base", "tuned", "lookup"))]
SIDE_LABEL = {"tuned": N_("Tuned"), "base": N_("Base"), "lookup": N_("Tuned + look-up")}
COLUMN_TITLE = {"base": N_("Base model"), "tuned": N_("Tuned model"), "lookup": N_("Tuned + look-up in my books")}
LOOKUP_PASSAGES = 3


def _saved(passage: dict) -> SimpleNamespace:
    """A saved passage, shaped like the retriever's (what ``_show_sources`` reads)."""
    return SimpleNamespace(**{"title": "", "heading": "", "text": "", **passage})


class ChatPage(QWidget):
    title = N_("Chat")

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self.backend, self.backend_run = None, None   # chat backend, loaded on first use, reused per (run, backend)
        self.job = None
        self.conversation = None      # core.chat.conversations.Conversation: where finished turns are saved
        self.finder = self.finder_key = None   # the BM25 index of the corpus, and the corpus state it is of
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
        self.run_label = QLabel(wordWrap=True)  # a long (translated) error must not widen the window
        self.lookup = QCheckBox(tr("Look it up in my books"))
        self.lookup.setToolTip(tr("Put the {n} passages of your books that best match your question before it: the "
                                  "model answers from them (you still see only what you typed)", n=LOOKUP_PASSAGES))
        self.transcript = self._browser()
        # side by side: base, tuned (and tuned + look-up) in columns, each answer streaming into its own
        self.column_views = {side: self._browser() for side in COLUMN_TITLE}
        self.base_view, self.tuned_view = self.column_views["base"], self.column_views["tuned"]
        self.column_boxes: dict[str, QWidget] = {}
        self.columns = QSplitter()
        for side, view in self.column_views.items():
            column = QWidget()
            inner = QVBoxLayout(column)
            inner.setContentsMargins(0, 0, 0, 0)
            heading = QLabel(f"<b>{tr(COLUMN_TITLE[side])}</b>")
            heading.setWordWrap(True)
            inner.addWidget(heading)
            inner.addWidget(view, 1)
            self.columns.addWidget(column)
            self.column_boxes[side] = column
        self.columns.setVisible(False)
        self.view = self.transcript   # where the streamed pieces go now
        self.streaming_side = None
        self.mode.currentIndexChanged.connect(self._show_columns)
        self.saved = QComboBox()
        self.saved.setToolTip(tr("Conversations are saved in this project; pick one to reopen it"))
        self.saved.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.saved.setMinimumContentsLength(16)
        self.saved.activated.connect(self._open_saved)
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
        who.addRow(tr("Conversation"), self.saved)
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
        state.project_changed.connect(lambda _p: self.reopen())
        state.corpus_changed.connect(self._forget_index)
        self.reopen()

    def _browser(self) -> QTextBrowser:
        view = QTextBrowser()
        view.setOpenExternalLinks(False)
        view.setOpenLinks(False)
        view.anchorClicked.connect(self.show_passage)
        return view

    @property
    def history(self) -> list[dict]:
        """The messages the model sees before the next question (the conversation so far)."""
        return self.conversation.history() if self.conversation is not None else []

    def side_by_side(self) -> bool:
        return len(self.mode.currentData()) > 1

    def _show_columns(self) -> None:
        both = self.side_by_side()
        for side, box in self.column_boxes.items():
            box.setVisible(side in self.mode.currentData())
        self.columns.setVisible(both)
        self.transcript.setVisible(not both)
        self.lookup.setEnabled("lookup" not in self.mode.currentData())  # the third column looks up itself
        self._render()   # the conversation so far, laid out for this mode

    def _views(self) -> list[QTextBrowser]:
        if self.side_by_side():
            return [self.column_views[side] for side in self.mode.currentData()]
        return [self.transcript]

    def refresh(self) -> None:
        try:
            run = self.state.project.run_dir()
            self.run_label.setText(tr("Adapter: {run} (newest run)", run=run.name))
            self.send_button.setEnabled(self.job is None)
        except Exception:  # no run yet: say what to do instead of a dead chat box
            self.run_label.setText(tr("No trained adapter yet: train one on the Train page first."))
            self.send_button.setEnabled(False)

    def clear(self) -> None:
        """New conversation (the one before stays saved)."""
        from core.chat.conversations import new_conversation

        self.conversation = new_conversation(self.state.project)
        self._forget_index()
        self._list_saved()
        self._render()
        self.refresh()

    def reopen(self) -> None:
        """The project's newest saved conversation, or a new one."""
        from core.chat.conversations import list_conversations

        saved = list_conversations(self.state.project)
        if saved:
            self.conversation = saved[0]
            self._forget_index()
            self._list_saved()
            self._render()
            self.refresh()
        else:
            self.clear()

    def _list_saved(self) -> None:
        from core.chat.conversations import list_conversations

        self.saved.clear()
        current = self.conversation.path if self.conversation is not None else None
        if self.conversation is not None and not self.conversation.turns:
            self.saved.addItem(tr("New conversation"), str(current))
        for conversation in list_conversations(self.state.project):
            self.saved.addItem(conversation.title(), str(conversation.path))
        self.saved.setCurrentIndex(max(0, self.saved.findData(str(current))))

    def _open_saved(self, index: int) -> None:
        from pathlib import Path

        from core.chat.conversations import load_conversation

        path = self.saved.itemData(index)
        if self.job is not None or not path or (self.conversation and str(self.conversation.path) == path):
            return
        self.conversation = load_conversation(Path(path))
        self._list_saved()
        self._render()

    def _render(self) -> None:
        """Draw the whole conversation into the current mode's views (on reopening or a mode change)."""
        for view in (self.transcript, *self.column_views.values()):
            view.clear()
        self.passages.clear()
        for turn in self.conversation.turns if self.conversation is not None else []:
            self._append_html(f"<p><b>{tr('You:')}</b> {html.escape(turn.prompt)}</p>")
            if turn.sources and "lookup" not in turn.answers:   # a checked look-up: every side had them
                self._show_sources([_saved(p) for p in turn.sources])
            for side, answer in turn.answers.items():
                shown = not self.side_by_side() or side in self.mode.currentData()
                if shown and side == "lookup" and turn.sources:
                    view = self.column_views["lookup"] if self.side_by_side() else self.transcript
                    self._show_sources([_saved(p) for p in turn.sources], [view])
                if self._begin_side(side):
                    self._insert(answer)

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
        project, history = self.state.project, self.history
        run = project.run_dir()
        key = (run, self.backend_box.currentData())
        cached = self.backend if self.backend_run == key else None
        lookup, language, corpus = self.lookup.isChecked(), question_language(prompt), self._corpus_key()
        finder = self.finder if self.finder_key == corpus else None

        def job(report, cancel):
            from core.chat import TransformersChat
            from core.chat.llamacpp_backend import LlamaCppChat

            index, sources = finder, []

            def look_up() -> str:   # open book: the best passages go before the question; the view keeps the question
                nonlocal index
                if index is None:
                    from core.evaluate.retrieval import Retriever
                    index = Retriever.for_project(project)
                found = index.search(prompt, LOOKUP_PASSAGES)
                sources.extend({"title": p.title, "heading": p.heading, "text": p.text} for p in found)
                report(Event("log", "chat", "", {"sources": found, "side": "lookup" if "lookup" in sides else None}))
                return index.prompt(prompt, LOOKUP_PASSAGES, language)

            sent = look_up() if lookup and "lookup" not in sides else prompt
            chat = cached
            if chat is None:
                report(Event("log", "chat", loading))
                backend = LlamaCppChat if key[1] == "llamacpp" else TransformersChat
                chat = backend.from_run(project, run.name)
            answers = {}
            for side in sides:
                asked = look_up() if side == "lookup" else sent   # its sources first, then its answer
                report(Event("log", "chat", "", {"side": side}))
                pieces = []
                for piece in chat.stream(chat.messages(asked, settings, history), settings, side != "base", cancel):
                    pieces.append(piece)
                    report(Event("log", "chat", "", {"piece": piece}))
                answers[side] = "".join(pieces).strip()
            return {"chat": chat, "key": key, "answers": answers, "finder": index, "corpus": corpus,
                    "sources": sources, "run": run.name}

        self.input.clear()
        self._append_html(f"<p><b>{tr('You:')}</b> {html.escape(prompt)}</p>")
        self.send_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.mode.setEnabled(False)    # the views being written to stay where they are
        self.saved.setEnabled(False)
        self.streaming_side = None
        self.pending_prompt = prompt
        self.job = self.state.jobs.start(job, self.on_event, self.on_done, self.on_failed)

    def stop(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def on_event(self, event: Event) -> None:
        if "sources" in event.data:   # the look-up column's sources go into it; a checked look-up's, everywhere
            column = self.column_views.get(event.data.get("side") or "")
            self._show_sources(event.data["sources"], [column] if column and self.side_by_side() else None)
        elif "side" in event.data:
            self.streaming_side = event.data["side"]
            self._begin_side(self.streaming_side)
        elif "piece" in event.data:
            self._insert(event.data["piece"])
        elif event.message:
            self.run_label.setText(tr_message(event.message))

    def _begin_side(self, side: str) -> bool:
        """Point ``self.view`` at where ``side``'s answer goes (False: not shown in this mode)."""
        if self.side_by_side():   # the column says whose answer it is
            if side not in self.mode.currentData():
                return False
            self.view = self.column_views[side]
            self._append_html("<p>", [self.view])
        else:
            self.view = self.transcript
            self._append_html(f"<p><b>{tr(SIDE_LABEL[side])}:</b> ", [self.view])
        return True

    def _insert(self, text: str) -> None:
        cursor = self.view.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)   # plain text: model output is never read as HTML
        self.view.setTextCursor(cursor)
        self.view.ensureCursorVisible()

    def _show_sources(self, passages: list, views: list[QTextBrowser] | None = None) -> None:
        """The small line under the question naming the passages the model was given."""
        if not passages:
            nothing = tr("Nothing in your books matched; asked without passages.")
            self._append_html(f"<p style='color:{theme.color('muted')}'>{nothing}</p>", views)
            return
        links = []
        for passage in passages:
            self.passages.append(passage)
            where = passage.heading if passage.title and passage.title in passage.heading else \
                " — ".join(x for x in (passage.title, passage.heading) if x)
            where = where or tr("passage")
            links.append(f"<a href='passage:{len(self.passages) - 1}'>{html.escape(where)}</a>")
        self._append_html(f"<p style='color:{theme.color('muted')}'>{tr('Looked up in your books:')} "
                          f"{' · '.join(links)}</p>", views)

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
        from core.chat.conversations import Turn, append_turn

        # Saved at once; the conversation continues with the tuned side's answer (or the only side asked).
        turn = Turn(self.pending_prompt, answers, result["sources"], result["run"], result["key"][1])
        try:
            append_turn(self.conversation, turn)
        except OSError as exc:   # a full or read-only disk: the answer stays on screen, the user is told
            self.run_label.setText(tr("Could not save the conversation: {error}", error=str(exc)))
        self._list_saved()
        self._finish()

    def on_failed(self, message: str) -> None:
        text = tr("Could not answer: {message}", message=html.escape(tr_message(message)))
        self._append_html(f"<p style='color:{theme.color('error')}'>{text}</p>")
        self._finish()

    def _finish(self) -> None:
        self.job = None
        self.stop_button.setEnabled(False)
        self.mode.setEnabled(True)
        self.saved.setEnabled(True)
        self.refresh()

    def _append_html(self, html: str, views: list[QTextBrowser] | None = None) -> None:
        """Append to ``views`` (default: every view of the current mode: the question goes in both columns)."""
        for view in views or self._views():
            cursor = view.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertBlock()
            cursor.insertHtml(html)
            view.setTextCursor(cursor)
