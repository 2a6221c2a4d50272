"""Format page offscreen: preview shows samples with marks and length statistics; build writes the dataset;
the goal comes first and sets the format and training settings; only the chosen format's fields show; the
writer model chooser names a path that is not there."""
from __future__ import annotations

import dataclasses

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from core.config import FormatConfig, ModelConfig, TrainConfig  # noqa: E402
from core.formats.goals import apply_goal  # noqa: E402
from core.ingest.pipeline import corpus_paths  # noqa: E402
from core.project import Project, append_jsonl  # noqa: E402
from gui.format_fields import others, relevant, writer_problem  # noqa: E402
from gui.pages.format_page import FormatPage  # noqa: E402
from gui.state import AppState  # noqa: E402


@pytest.fixture
def page(qtbot, tmp_path, tiny_model_dir):
    project = Project.open(tmp_path / "project")
    project.set_model(ModelConfig(str(tiny_model_dir)))
    where = corpus_paths(project)
    for i in range(6):
        append_jsonl(where["chunks"], {"doc_id": "a" * 16, "title": "Mill", "chunk": i, "section": 0,
                                       "heading": "River", "text": f"The river ran past mill {i}. " * (3 + i),
                                       "tokens": 40})
    append_jsonl(where["documents"], {"id": "a" * 16, "title": "Mill", "sections": []})
    state = AppState(project)
    widget = FormatPage(state)
    qtbot.addWidget(widget)
    yield widget
    state.jobs.stop_all()


def test_preview_shows_samples_and_stats(qtbot, page):
    page.form.editors["format"].setCurrentText("json")
    qtbot.mouseClick(page.preview_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.job is None, timeout=30000)
    assert page.preview_button.isEnabled() and not page.stop_button.isEnabled()
    assert "▶{\"book\": \"Mill\"" in page.preview_text.toPlainText()
    assert "<|im_end|>" in page.preview_text.toPlainText()  # special tokens stay visible
    stats = page.stats_text.toPlainText()
    assert "6 samples" in stats and "█" in stats and "tokens cut" in stats
    assert page.last_preview.stats["samples"] == 6
    assert "First 3 of 6 samples" in page.status.text()


def test_build_writes_the_dataset(qtbot, page):
    page.form.editors["format"].setCurrentText("markdown")
    qtbot.mouseClick(page.build_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.job is None, timeout=30000)
    project = page.state.project
    assert (project.dataset_dir("markdown") / "samples.jsonl").exists()
    assert "Saved to" in page.stats_text.toPlainText()
    assert project.settings("format").format == "markdown"


def test_bad_settings_are_reported(qtbot, page):
    page.form.editors["format"].setCurrentText("custom")  # no template given
    qtbot.mouseClick(page.preview_button, Qt.MouseButton.LeftButton)
    assert "template" in page.status.text() and page.job is None


# ---------------------------------------------------------------- the goal first, the fields it needs
@pytest.fixture
def pages(qtbot, page):
    """The Format page and a Train page on the same project, as the main window has them."""
    from gui.pages.train_page import TrainPage

    train = TrainPage(page.state, page.config)
    qtbot.addWidget(train)
    return page, train


def test_choosing_a_goal_sets_format_and_train_settings(pages):
    page, train = pages
    project = page.state.project
    train.form.editors["batch_size"].setValue(3)       # an edit on the Train page survives the goal
    fmt_before, train_before = page.config(), train.form.value()
    page.goals.cards["knowledge"].radio.click()
    fmt, trained = apply_goal("knowledge", fmt_before, train_before)
    assert page.config() == fmt and fmt.format == "knowledge"
    assert train.form.value() == trained and trained.plan == "auto" and trained.batch_size == 3
    assert project.settings("format") == fmt and project.settings("train") == trained
    assert "Know the facts in my books" in page.status.text()

    page.goals.cards["style"].radio.click()
    fmt2, trained2 = apply_goal("style", fmt, trained)
    assert page.config() == fmt2 and fmt2.format == "chat" and train.form.value() == trained2
    assert project.settings("format") == fmt2

    page.goals.cards["custom"].radio.click()            # custom changes nothing, shows the format choice
    assert page.config() == fmt2 and project.settings("train") == trained2
    assert page.goals.goal() == "custom" and page.form.shown()[0][0] == "format"


def test_the_saved_goal_is_shown_when_a_project_opens(qtbot, tmp_path):
    project = Project.open(tmp_path / "project")
    fmt, trained = apply_goal("knowledge", FormatConfig(), TrainConfig())
    project.save_settings(format=fmt, train=trained)
    state = AppState(project)
    page = FormatPage(state)
    qtbot.addWidget(page)
    assert page.goals.goal() == "knowledge" and page.goals.cards["knowledge"].radio.isChecked()
    assert page.form.shown()[0] == relevant("knowledge", "knowledge")
    assert "135M" in page.goals.note.text() and "Russian" in page.goals.note.text()   # the embedded writer
    assert project.settings("format") == fmt   # shown, not applied again
    project.save_settings(format=FormatConfig(format="json"))
    state.open_project(project.root)
    assert page.goals.goal() == "custom" and page.goals.note.isHidden()


def test_only_the_fields_of_the_chosen_format_are_shown(qtbot, page):
    assert relevant("knowledge", "knowledge")[:3] == ["writer", "restatements", "qa_pairs"]
    assert "format" not in relevant("knowledge", "knowledge") and relevant("style", "chat")[0] == "format"
    assert {"template", "template_prompt"} <= set(relevant("custom", "custom"))
    assert {"qa_pairs", "qa_answers"} <= set(relevant("custom", "qa"))
    for goal, fmt in (("knowledge", "knowledge"), ("style", "chat"), ("custom", "qa")):
        shown = relevant(goal, fmt)
        assert sorted(shown + others(goal, fmt)) == sorted(f.name for f in dataclasses.fields(FormatConfig))
        assert "gen_batch_size" in others(goal, fmt) and "split_by" in shown

    page.goals.cards["knowledge"].radio.click()
    first, rest = page.form.shown()
    assert first == relevant("knowledge", "knowledge") and rest == others("knowledge", "knowledge")
    assert page.more.isHidden()                          # the rest waits under "All settings"
    page.more_button.click()
    assert not page.more.isHidden() and page.form.editors["template"].isVisibleTo(page)
    page.more_button.click()
    assert page.more.isHidden()

    page.goals.cards["custom"].radio.click()
    page.form.editors["format"].setCurrentText("custom")
    assert page.form.shown()[0] == relevant("custom", "custom") and page.goals.goal() == "custom"
    page.goals.cards["style"].radio.click()
    page.form.editors["format"].setCurrentText("plain")   # a format of no goal: the goal says custom
    assert page.goals.goal() == "custom" and page.form.shown()[0] == relevant("custom", "plain")
    assert page.config().format == "plain"


def test_the_writer_chooser_names_a_missing_path(qtbot, page, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    page.goals.cards["knowledge"].radio.click()
    assert "your base model" in page.goals.note.text()   # a base model of its own: no word on the 135M one
    writer = page.writer
    missing = tmp_path / "nowhere" / "qwen2.5-3b-instruct-q4_k_m.gguf"
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(missing), "")))
    writer.choose_file()
    assert writer.error.isVisibleTo(page) and str(missing) in writer.error.text() and "does not exist" in \
        writer.error.text()
    qtbot.mouseClick(page.preview_button, Qt.MouseButton.LeftButton)
    assert page.job is None and str(missing) in page.status.text()   # refused before any model loads

    folder = tmp_path / "not-a-model"
    folder.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(folder)))
    writer.choose_folder()
    assert "config.json" in writer.error.text() and writer.text() == str(folder)

    gguf = tmp_path / "writer.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(gguf), "")))
    writer.choose_file()
    assert writer.error.isHidden() and page.config().writer == str(gguf)
    assert str(gguf) in page.goals.note.text()           # the note names who writes
    writer.use_base()
    assert writer.text() == "" and page.config().writer == "" and writer.error.isHidden()
    book = tmp_path / "book.md"
    book.write_text("text")
    assert "not a .gguf" in writer_problem(str(book)) and writer_problem("embedded") == ""
