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
    from gui.pages.chat_page import text_language

    assert text_language("Кто считал лодки у мельницы?") == "ru" and text_language("Who? Кто") == "en"
    page.lookup.setChecked(True)
    ask(qtbot, page, "Кто считал лодки у мельницы?")
    assert page.backend.prompts[-1] == Retriever.for_project(corpus_project).prompt("Кто считал лодки у мельницы?", 3,
                                                                                    "ru")
    assert page.backend.prompts[-1].startswith("Ответь на вопрос по этим отрывкам")
    ask(qtbot, page, "xyzzy")
    assert page.backend.prompts[-1] == "xyzzy"
    assert "Nothing in your books matched" in page.transcript.toPlainText()
