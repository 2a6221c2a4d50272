"""Project page: create a project by name and place, the recent list with each project's numbers, reopening."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QMessageBox  # noqa: E402

from core.project import Project  # noqa: E402
from gui.state import AppState, recent_projects  # noqa: E402


@pytest.fixture
def page(qtbot, tmp_path):
    from gui.pages.project_page import ProjectPage

    state = AppState(Project.open(tmp_path / "first"))
    widget = ProjectPage(state)
    qtbot.addWidget(widget)
    widget.show()   # (hidden, it refreshes when next shown)
    yield widget
    state.jobs.stop_all()


def evaluated_project(folder) -> Project:
    """A project with one run whose summary holds a verdict."""
    project = Project.open(folder)
    run = project.runs_dir / "20260101-000000"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("train: {}\n", encoding="utf-8")
    (run / "summary.json").write_text(json.dumps({"verdict": "Learned 3 of 20 questions about your books (base 1). "
                                                             "Kept 92% of general answers."}), encoding="utf-8")
    return project


def test_create_by_name_and_place_then_reopen_from_the_list(qtbot, page, tmp_path, monkeypatch):
    said = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: said.append(text))
    page.location.setText(str(tmp_path / "place"))       # a place that does not exist yet is created
    page.name.setText("My novels")
    page.create()
    made = tmp_path / "place" / "My novels"
    assert page.state.project.root == made and (made / "project.yaml").exists() and not said
    assert recent_projects()[:2] == [str(made), str(tmp_path / "first")]
    assert page.table.rowCount() >= 2 and page.table.item(0, 0).text() == "My novels"
    assert "My novels" in page.current.text() and "books: 0" in page.current.text()

    page.open_row(1)                                     # back to the first one, from the list
    assert page.state.project.root == tmp_path / "first"
    assert recent_projects()[0] == str(tmp_path / "first")

    page.name.setText("a/b")                             # refused names and folders say why
    page.create()
    (tmp_path / "place" / "busy").mkdir()
    (tmp_path / "place" / "busy" / "notes.txt").write_text("x", encoding="utf-8")
    page.name.setText("busy")
    page.create()
    assert len(said) == 2 and "other files" in said[1] and page.state.project.root == tmp_path / "first"


def test_recent_list_shows_numbers_and_a_missing_folder(qtbot, page, tmp_path, monkeypatch):
    import shutil

    from core.overview import overview

    other = evaluated_project(tmp_path / "other")
    page.state.open_project(other.root)
    page.state.open_project(tmp_path / "first")
    rows = {page.table.item(r, 0).text(): r for r in range(page.table.rowCount())}
    row = rows["other"]
    assert page.table.item(row, 2).text() == "1"
    assert page.table.item(row, 3).text() == "Learned 3 of 20 questions about your books (base 1)."
    assert overview(other.root).runs == 1

    shutil.rmtree(other.root)
    page.hide()
    page.state.corpus_changed.emit()                     # while hidden: marked, then refreshed when shown
    assert page.stale
    page.show()
    assert not page.stale
    row = {page.table.item(r, 0).text(): r for r in range(page.table.rowCount())}["other"]
    assert page.table.item(row, 3).text() == "folder not found"
    said = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: said.append(text))
    page.open_row(row)
    assert said and "folder not found" in said[0] and page.state.project.root == tmp_path / "first"
    page.table.selectRow(row)
    page.forget_row()
    assert str(other.root) not in recent_projects()


def test_a_projects_verdict_reads_in_russian(qtbot, russian, tmp_path):
    from gui.pages.project_page import ProjectPage

    project = evaluated_project(tmp_path / "книги")
    state = AppState(project)
    page = ProjectPage(state)
    qtbot.addWidget(page)
    page.show()
    row = {page.table.item(r, 0).text(): r for r in range(page.table.rowCount())}["книги"]
    best = page.table.item(row, 3).text()
    assert "3 из 20" in best and "Learned" not in best
    assert "Learned" not in page.current.text() and "92%" in page.current.text()
    state.jobs.stop_all()
