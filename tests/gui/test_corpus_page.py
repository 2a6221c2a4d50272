"""Corpus page: outcomes appear file by file while a drop is still being read."""
from __future__ import annotations

from core.events import Event
from core.ingest.pipeline import FileOutcome
from core.ingest.store import save_outcomes
from core.project import Project
from gui.pages.corpus_page import CorpusPage
from gui.state import AppState


def test_rows_appear_while_the_drop_is_read(qtbot, tmp_path):
    project = Project.open(tmp_path / "p")
    page = CorpusPage(AppState(project))
    qtbot.addWidget(page)
    files = project.corpus_dir / "files.json"
    save_outcomes(files, [FileOutcome(str(tmp_path / "a.txt"), "ok", chunks=3, tokens=120, encoding="utf-8")])
    page._shown_at -= 1.0  # the page was filled a while ago
    page.on_event(Event("progress", "ingest", "Reading b.pdf", {"done": 1, "total": 3}))
    assert page.table.rowCount() == 1 and page.table.item(0, 0).text() == "a.txt"

    save_outcomes(files, [FileOutcome(str(tmp_path / "b.pdf"), "failed", "b.pdf: no text layer — needs OCR")])
    page.on_event(Event("progress", "ingest", "Reading c.epub", {"done": 2, "total": 3}))
    assert page.table.rowCount() == 1  # redrawn at most twice a second
    page._shown_at -= 1.0
    page.on_event(Event("progress", "ingest", "Reading c.epub", {"done": 2, "total": 3}))
    assert page.table.rowCount() == 2 and "OCR" in page.table.item(1, 3).text()


def test_books_can_be_viewed_and_removed(qtbot, tmp_path, tiny_model_dir, sample_texts_dir):
    """Double-click shows a book's cleaned text in its own window; Delete (after the question) takes the
    selected book out of the corpus; the totals line follows."""
    from PySide6.QtCore import Qt as _Qt
    from PySide6.QtWidgets import QPlainTextEdit

    from core.config import CorpusConfig, ModelConfig
    from core.ingest import ingest
    from core.models import load_tokenizer, resolve
    from core.project import Project
    from gui.pages.corpus_page import CorpusPage
    from gui.state import AppState

    project = Project.open(tmp_path / "p")
    project.set_model(ModelConfig(str(tiny_model_dir)))
    ingest(project, [sample_texts_dir / "book.md", sample_texts_dir / "rus-cp1251.txt"],
           load_tokenizer(resolve(str(tiny_model_dir))), CorpusConfig(chunk_tokens=32))
    page = CorpusPage(AppState(project))
    qtbot.addWidget(page)
    assert "books: 2," in page.totals.text()
    row = next(r for r in range(page.table.rowCount()) if page.table.item(r, 0).text() == "book.md")
    viewer = page.show_text(row)
    assert viewer is not None and "The River" in viewer.findChild(QPlainTextEdit).toPlainText()
    viewer.close()

    page.table.selectRow(row)
    qtbot.keyClick(page.table, _Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: page.job is None and "books: 1," in page.totals.text(), timeout=30000)
    assert [page.table.item(r, 0).text() for r in range(page.table.rowCount())] == ["rus-cp1251.txt"]
