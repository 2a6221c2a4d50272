"""The Lab page: scoring fills the book table and the IFD chart; merging ticks runs and reports the
new run; both run as background jobs (the core jobs are replaced by fakes: no model is loaded)."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from core.project import Project  # noqa: E402
from gui.state import AppState  # noqa: E402

SCORES = {"format": "chat", "samples": 3, "seconds": 1.5, "samples_per_s": 2.0, "scorer": "tiny",
          "books": [{"doc_id": "b", "title": "Letters", "samples": 2, "mean_ppl": 9.5, "mean_ifd": 0.91,
                     "median_ifd": 0.9},
                    {"doc_id": "a", "title": "River", "samples": 1, "mean_ppl": 4.25, "mean_ifd": None,
                     "median_ifd": None}],
          "histograms": {"ifd": {"edges": [0.0, 0.5, 1.0, 1.5], "counts": [0, 2, 1]}},
          "selection": "/p/lab/scores/chat/selection.json", "kept": 2}


def make_run(project: Project, name: str) -> None:
    run = project.runs_dir / name
    (run / "adapter").mkdir(parents=True)
    (run / "adapter" / "adapter_config.json").write_text("{}")
    (run / "config.yaml").write_text("train: {}\n")


@pytest.fixture
def page(qtbot, tmp_path):
    from gui.pages.lab_page import LabPage

    project = Project.open(tmp_path / "project")
    (project.dataset_dir("chat")).mkdir(parents=True, exist_ok=True)
    (project.dataset_dir("chat") / "samples.jsonl").write_text(json.dumps({"split": "train"}) + "\n")
    for name in ("r1", "r2", "r3"):
        make_run(project, name)
    state = AppState(project)
    widget = LabPage(state)
    qtbot.addWidget(widget)
    yield widget
    state.jobs.stop_all()


def test_scoring_fills_the_table_and_the_chart(page, qtbot, monkeypatch):
    import core.lab.score_job as job

    asked = {}

    def fake(project, fmt, config, report, cancel):
        asked.update(fmt=fmt, top=config.top_percent)
        return SCORES

    monkeypatch.setattr(job, "score_dataset", fake)
    assert page.format.currentText() == "chat" and page.score_button.isEnabled()
    page.score_button.click()
    qtbot.waitUntil(lambda: page.score_job is None and page.books.rowCount() == 2, timeout=10_000)
    assert asked["fmt"] == "chat"
    assert [page.books.item(r, 0).text() for r in range(2)] == ["Letters", "River"]
    assert page.books.item(0, 3).text() == "0.910" and page.books.item(1, 3).text() == "—"
    assert list(page.bars.opts["height"]) == [0, 2, 1]
    assert "Kept 2 of 3" in page.score_note.text() and "selection.json" in page.score_note.text()


def test_merge_needs_two_ticked_runs_and_reports_the_new_run(page, qtbot, monkeypatch):
    import core.lab.merge as merge

    calls = []

    def fake(project, runs, method, weights, density, report, cancel):
        calls.append((runs, method))
        make_run(project, "r4")
        return {"run": "r4", "runs": runs, "method": method, "weights": weights}

    monkeypatch.setattr(merge, "merge_runs", fake)
    assert page.runs.count() == 3 and page.merge_button.isEnabled()
    page.merge_button.click()
    assert "at least two" in page.merge_result.toPlainText() and not calls
    for row in (0, 2):
        page.runs.item(row).setCheckState(Qt.CheckState.Checked)
    page.merge_button.click()
    qtbot.waitUntil(lambda: page.merge_job is None and bool(calls), timeout=10_000)
    assert calls == [(["r3", "r1"], "ties")]
    qtbot.waitUntil(lambda: "run r4" in page.merge_result.toPlainText(), timeout=5_000)
    assert page.runs.count() == 4  # the merged run is listed (run_finished refreshed the page)


def test_without_samples_or_runs_the_buttons_wait(qtbot, tmp_path):
    from gui.pages.lab_page import LabPage

    state = AppState(Project.open(tmp_path / "empty"))
    widget = LabPage(state)
    qtbot.addWidget(widget)
    assert not widget.score_button.isEnabled() and "Format page" in widget.score_button.toolTip()
    assert not widget.merge_button.isEnabled()


RESULTS = {"name": "formats-1", "kind": "formats", "budget": {"steps": 40},
           "rows": [{"format": "plain", "run": "r1", "exam_base": 1, "exam_tuned": 2, "exam_items": 8,
                     "retention": 0.98, "reasoning_base": 3, "reasoning_tuned": 3, "book_ppl_base": 20.5,
                     "book_ppl_tuned": 12.25, "minutes": 5.0},
                    {"format": "knowledge", "run": "r2", "exam_base": 1, "exam_tuned": 3, "exam_items": 8,
                     "retention": 0.92, "reasoning_base": 3, "reasoning_tuned": 2, "book_ppl_base": 20.5,
                     "book_ppl_tuned": 14.0, "minutes": 19.5}]}


def test_experiments_tab_lists_shows_charts_exports_and_starts(page, qtbot, monkeypatch, tmp_path):
    import core.lab.experiment as experiment

    folder = page.state.project.root / "lab" / "formats-1"
    folder.mkdir(parents=True)
    (folder / "results.csv").write_text("format,run\nplain,r1\n")
    (folder / "results.json").write_text(json.dumps({**RESULTS, "csv": str(folder / "results.csv")}))
    pane = page.experiments
    pane.refresh()
    assert pane.names.count() == 1 and pane.table.rowCount() == 2
    assert pane.table.item(1, 1).text() == "1 → 3 / 8" and pane.table.item(1, 2).text() == "92%"
    assert list(pane.exam_bars.opts["height"]) == [25.0, 37.5] and list(pane.kept_bars.opts["height"]) == [98.0, 92.0]
    pane.export_png(str(tmp_path / "chart.png"))
    assert (tmp_path / "chart.png").stat().st_size > 1000

    asked = []

    def fake(project, recipe, report, cancel):
        asked.append(recipe)
        (project.root / "lab" / recipe["name"]).mkdir(parents=True, exist_ok=True)
        (project.root / "lab" / recipe["name"] / "results.json").write_text(json.dumps({**RESULTS, "name": recipe["name"],
                                                                                       "csv": ""}))
        return {**RESULTS, "name": recipe["name"]}

    monkeypatch.setattr(experiment, "run_experiment", fake)
    pane.name.setText("mine")
    pane.steps.setValue(12)
    pane.start_button.click()
    qtbot.waitUntil(lambda: pane.job is None and pane.names.count() == 2, timeout=10_000)
    assert asked[0]["formats"] == ["plain", "chat", "qa", "knowledge"] and asked[0]["train"] == {"steps": 12}
    assert "Done: mine" in pane.status.text()
