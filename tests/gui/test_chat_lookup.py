"""Chat's "Look it up in my books": the model gets the open-book prompt, the transcript keeps the question.

A real corpus (the sample book, ingested in-process) and a fake chat backend: the test checks what
the page sends, not what a model answers.
"""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QUrl  # noqa: E402

from core.config import CorpusConfig  # noqa: E402
from core.project import Project  # noqa: E402
from gui.state import AppState  # noqa: E402

QUESTION = "Who counted the boats that went by the mill?"


class FakeChat:
    """What the page needs of a chat backend; remembers the prompts it was given."""

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def messages(self, prompt, settings, history):
        self.prompts.append(prompt)
        return [*history, {"role": "user", "content": prompt}]

    def stream(self, messages, settings, adapter, cancel):
        yield from ("The ", "miller.")


@pytest.fixture(scope="module")
def corpus_project(tmp_path_factory, sample_texts_dir, tokenizer):
    from core.ingest import ingest

    project = Project.open(tmp_path_factory.mktemp("chat") / "project")
    ingest(project, [sample_texts_dir / "book.md", sample_texts_dir / "rus-utf16.txt"], tokenizer,
           CorpusConfig(file_timeout_s=0))
    run = project.runs_dir / "r1"
    (run / "adapter").mkdir(parents=True)
    (run / "adapter" / "adapter_config.json").write_text("{}")
    (run / "config.yaml").write_text("train: {}\n")
    return project


@pytest.fixture
def page(qtbot, corpus_project):
    from gui.pages.chat_page import ChatPage

    state = AppState(corpus_project)
    widget = ChatPage(state)
    qtbot.addWidget(widget)
    widget.backend, widget.backend_run = FakeChat(), (corpus_project.run_dir(), "transformers")
    yield widget
    state.jobs.stop_all()


def ask(qtbot, page, text: str) -> None:
    page.input.setText(text)
    page.send()
    qtbot.waitUntil(lambda: page.job is None, timeout=10000)


def test_look_up_sends_the_open_book_prompt(qtbot, page, corpus_project):
    from core.evaluate.retrieval import Retriever

    fake = page.backend
    page.lookup.setChecked(True)
    ask(qtbot, page, QUESTION)
    expected = Retriever.for_project(corpus_project).prompt(QUESTION, 3, "en")
    assert fake.prompts == [expected] and expected != QUESTION and "miller counted the boats" in expected
    transcript = page.transcript.toPlainText()
    assert f"You: {QUESTION}" in transcript and "Looked up in your books: " in transcript
    assert "Answer the question using these passages" not in transcript   # the passages stay out of sight
    assert "A Small Book — The River" in page.transcript.toHtml() and page.passages
    assert page.history[0] == {"role": "user", "content": QUESTION}
    page.show_passage(QUrl("passage:0"))   # a click on a source shows its text (no error, no navigation)
    assert page.finder is not None         # the index is kept for the next question

    page.lookup.setChecked(False)
    ask(qtbot, page, "And who listened?")
    assert fake.prompts[-1] == "And who listened?"


def test_look_up_in_russian_and_without_a_match(qtbot, page, corpus_project):
    from core.evaluate.retrieval import Retriever
    from core.evaluate.retrieval import question_language as text_language

    assert text_language("Кто считал лодки у мельницы?") == "ru" and text_language("Who? Кто") == "en"
    page.lookup.setChecked(True)
    ask(qtbot, page, "Кто считал лодки у мельницы?")
    assert page.backend.prompts[-1] == Retriever.for_project(corpus_project).prompt("Кто считал лодки у мельницы?", 3,
                                                                                    "ru")
    assert page.backend.prompts[-1].startswith("Ответь на вопрос по этим отрывкам")
    ask(qtbot, page, "xyzzy")
    assert page.backend.prompts[-1] == "xyzzy"
    assert "Nothing in your books matched" in page.transcript.toPlainText()


def test_three_columns_look_up_only_in_the_third(qtbot, page, corpus_project):
    from core.evaluate.retrieval import Retriever

    fake = page.backend
    page.clear()
    page.mode.setCurrentIndex(3)   # base, tuned, tuned + look-up
    assert page.columns.isVisibleTo(page) and not page.lookup.isEnabled()
    ask(qtbot, page, QUESTION)
    expected = Retriever.for_project(corpus_project).prompt(QUESTION, 3, "en")
    assert fake.prompts[-3:] == [QUESTION, QUESTION, expected]   # base and tuned closed book, the third open
    views = page.column_views
    assert all(f"You: {QUESTION}" in v.toPlainText() and "The miller." in v.toPlainText() for v in views.values())
    assert "Looked up in your books:" in views["lookup"].toPlainText()
    assert "Looked up" not in views["base"].toPlainText() + views["tuned"].toPlainText()
    live = views["lookup"].toPlainText()
    assert live.index("Looked up") < live.index("The miller.")   # the sources, then the answer
    page.mode.setCurrentIndex(0)
    page.mode.setCurrentIndex(3)                   # drawn again from the saved turn: the same text
    assert views["lookup"].toPlainText() == live
    page.mode.setCurrentIndex(0)


def test_conversations_are_saved_and_reopen(qtbot, page, corpus_project):
    from core.chat.conversations import list_conversations
    from gui.pages.chat_page import ChatPage

    page.clear()
    ask(qtbot, page, "First question?")
    ask(qtbot, page, "Second question?")
    newest = list_conversations(corpus_project)[0]
    assert [t.prompt for t in newest.turns] == ["First question?", "Second question?"]
    assert newest.turns[0].answers == {"tuned": "The miller."} and newest.turns[0].run == "r1"
    assert page.history[-2:] == [{"role": "user", "content": "Second question?"},
                                 {"role": "assistant", "content": "The miller."}]

    again = ChatPage(AppState(corpus_project))    # the app started again: the newest conversation is back
    qtbot.addWidget(again)
    assert again.conversation.path == newest.path and "Second question?" in again.transcript.toPlainText()
    again.clear()                                 # a new one; the old one stays in the list
    assert again.transcript.toPlainText() == "" and again.history == []
    index = again.saved.findData(str(newest.path))
    assert index >= 0 and again.saved.itemText(0) == "New conversation"
    again._open_saved(index)
    assert "First question?" in again.transcript.toPlainText() and len(again.history) == 4
    again.mode.setCurrentIndex(2)                 # laid out again for side by side: the answers in the tuned column
    assert "The miller." in again.tuned_view.toPlainText() and "The miller." not in again.base_view.toPlainText()


def test_a_damaged_conversation_line_is_skipped(tmp_path):
    from core.chat.conversations import load_conversation

    path = tmp_path / "c.jsonl"
    path.write_text('{"prompt": "Hi", "answers": {"tuned": "Hello"}}\n{"prompt": "cut of\n'
                    '{"prompt": "Again", "answers": {"base": "Yes", "evil": "x"}}\n', encoding="utf-8")
    conversation = load_conversation(path)
    assert [t.prompt for t in conversation.turns] == ["Hi", "Again"]
    assert conversation.turns[1].answers == {"base": "Yes"}
    assert conversation.history()[-1] == {"role": "assistant", "content": "Yes"}
