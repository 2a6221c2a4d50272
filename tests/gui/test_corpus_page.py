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
