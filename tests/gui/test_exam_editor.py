"""The exam editor: edits, added and deleted rows and imported files go through save_exam/load_exam intact."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QMessageBox  # noqa: E402

from core.evaluate.exam import exam_meta, exam_dir, load_exam, save_exam  # noqa: E402
from core.evaluate.questions import Question  # noqa: E402
from core.project import Project  # noqa: E402
from gui.widgets.exam_editor import ANSWERS, ORIGIN, QUESTION, SOURCE, ExamEditor  # noqa: E402

ITEMS = [Question("Who counted the boats?", ["the miller", "miller"], id="exam-1", title="A Small Book",
                  chapter="The River", doc_id="d1", chunk=0, origin="model",
                  sentence="The river ran past the old mill, and the miller counted the boats."),
         Question("Fill in the blank: the letter was written in ____ ink.", ["green"], id="exam-2",
                  title="A Small Book", chapter="The Sea", doc_id="d1", chunk=1, origin="cloze"),
         Question("Where did she walk?", ["the harbour wall"], id="exam-3", origin="user")]


@pytest.fixture
def editor(qtbot, tmp_path):
    project = Project.open(tmp_path / "project")
    save_exam(project, ITEMS, {"version": 1, "written": "2025-05-01 12:00:00"})
    widget = ExamEditor()
    qtbot.addWidget(widget)
    widget.load(project)
    return widget


def text(editor, row, column):
    return editor.table.item(row, column).text()


def test_shows_the_exam(editor):
    assert editor.table.rowCount() == 3 and not editor.dirty and not editor.save_button.isEnabled()
    assert [text(editor, 0, c) for c in range(4)] == ["Who counted the boats?", "the miller | miller",
                                                       "A Small Book — The River", "written by the model"]
    assert text(editor, 1, ORIGIN) == "fill in the blank" and text(editor, 2, SOURCE) == ""
    assert "the miller counted the boats" in editor.table.item(0, SOURCE).toolTip()
    assert "3 questions: 1 written by the model, 1 fill-in-the-blank, 1 added or imported." in editor.status.text()
    assert editor.write_button.isHidden()   # an exam was written: nothing to offer


def test_edits_round_trip_through_save_and_load(editor, tmp_path):
    project = editor.project
    editor.table.item(0, QUESTION).setText("Who counted the boats on the river?")
    editor.table.item(1, ANSWERS).setText("green |  dark green ")
    assert editor.dirty and editor.save_button.isEnabled()
    editor.table.selectRow(2)
    editor.delete_rows()
    editor.add_row()
    editor.table.item(2, QUESTION).setText("What did the baker open before dawn?")
    editor.table.item(2, ANSWERS).setText("his shop|the shop")
    assert editor.save()
    saved = load_exam(project)
    assert [(q.question, q.answers, q.origin) for q in saved] == [
        ("Who counted the boats on the river?", ["the miller", "miller"], "model"),
        ("Fill in the blank: the letter was written in ____ ink.", ["green", "dark green"], "cloze"),
        ("What did the baker open before dawn?", ["his shop", "the shop"], "user")]
    first = saved[0]   # where it came from is kept through the edit
    assert (first.id, first.title, first.chapter, first.doc_id, first.sentence) == (
        "exam-1", "A Small Book", "The River", "d1", ITEMS[0].sentence)
    assert len({q.id for q in saved}) == 3 and saved[2].id not in ("exam-1", "exam-2")
    assert exam_meta(project)["written"] == "2025-05-01 12:00:00" and "edited" in exam_meta(project)
    assert "Who counted the boats on the river?\tthe miller|miller" in (exam_dir(project) / "exam.tsv").read_text()
    assert not editor.dirty and editor.table.rowCount() == 3


def test_import_appends_and_revert_forgets(editor, tmp_path):
    tsv = tmp_path / "mine.tsv"
    tsv.write_text("# my questions\nWhat smelled of pine needles?\tthe letter|a letter\n", encoding="utf-8")
    assert editor.import_file(str(tsv)) == 1
    assert editor.table.rowCount() == 4 and text(editor, 3, ORIGIN) == "imported" and editor.dirty
    editor.reload()
    assert editor.table.rowCount() == 3 and not editor.dirty
    assert editor.import_file(str(tsv)) == 1 and editor.save()
    assert load_exam(editor.project)[3].answers == ["the letter", "a letter"]


def test_bad_rows_and_files_are_said(editor, tmp_path, monkeypatch):
    said = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, message: said.append((title, message)))
    editor.add_row()
    editor.table.item(3, QUESTION).setText("A question without an answer?")
    assert not editor.save()
    assert said[-1] == ("Cannot save the exam", "Row 4 needs a question and at least one accepted answer.")
    assert len(load_exam(editor.project)) == 3
    bad = tmp_path / "broken.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    assert editor.import_file(str(bad)) == 0
    assert said[-1][0] == "Cannot import the questions" and said[-1][1].startswith(f"{bad}, line 1:")


def test_no_exam_yet_offers_to_write_one(qtbot, tmp_path):
    widget = ExamEditor()
    qtbot.addWidget(widget)
    asked = []
    widget.write_requested.connect(lambda: asked.append(1))
    widget.load(Project.open(tmp_path / "empty"))
    assert widget.table.rowCount() == 0 and not widget.write_button.isHidden()
    assert widget.status.text().startswith("No exam yet")
    widget.write_button.click()
    assert asked == [1]
