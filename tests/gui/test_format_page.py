"""Format page offscreen: preview shows samples with marks and length statistics; build writes the dataset."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from core.config import ModelConfig  # noqa: E402
from core.ingest.pipeline import corpus_paths  # noqa: E402
from core.project import Project, append_jsonl  # noqa: E402
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
