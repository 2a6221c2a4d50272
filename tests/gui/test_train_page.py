"""The Train page with evaluation: exam and retention points plotted, a quiet check never looks frozen,
the final evaluation shows its progress, and a finished run's verdict, warnings and checkpoint are shown;
the auto plan greys out what it chooses, and a goal chosen on the Format page reaches this form.

Metric events are fed to the page as the training job would deliver them; no model is trained.
"""
from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

pytest.importorskip("pytestqt")

from core.events import CancelToken, Event  # noqa: E402
from core.project import Project  # noqa: E402
from gui.state import AppState  # noqa: E402

WARNING = ("Held-out loss rose from 1.72 to 1.98 while training loss fell to 0.95: the run memorised its training "
           "text (overfitting). Use the best checkpoint, fewer steps, or a lower learning rate.")


@pytest.fixture
def page(qtbot, tmp_path):
    from gui.pages.train_page import TrainPage
    from core.config import FormatConfig

    state = AppState(Project.open(tmp_path / "project"))
    widget = TrainPage(state, FormatConfig)
    qtbot.addWidget(widget)
    yield widget
    state.jobs.stop_all()


def metric(**data) -> Event:
    return Event("metric", "train", "", data)


def test_exam_and_retention_points_are_plotted(page):
    page.job = SimpleNamespace(cancel_token=CancelToken())   # as if a run were going
    page.schedule = (2, 10)                                   # evaluate every 2 steps, 10 in all
    assert page.plots.lower.isHidden()                        # no check yet: the losses get all the room
    page.on_event(metric(step=0, exam_correct=2, exam_total=12, exam_logprob=-3.1, retention=1.0, general_known=20,
                         eval_seconds=7.0))
    assert page.check_line.text() == "Before training: exam 2 of 12"
    page.on_event(metric(step=1, loss=2.0, tokens_per_s=900.0, eta_s=5.0))
    assert page.status.text() == "Step 1: loss 2.000 · 900 tokens/s · about 5 s left" and page.phase is None
    page.on_event(metric(step=2, loss=1.0, tokens_per_s=900.0, eta_s=5.0))
    assert page.status.text().startswith("Step 2: loss 1.000. Checking what the model learned (held-out text")
    page.on_event(metric(step=2, eval_loss=1.5))
    assert "Checking what the model learned" in page.status.text()   # the quiet minute has a name …
    page.phase = (page.phase[0], time.monotonic() - 12, page.phase[2])
    page._update_curves()                                            # … and a clock the timer moves
    assert page.status.text().endswith("12 s")
    page.on_event(metric(step=2, exam_correct=6, exam_total=12, exam_logprob=-2.0, retention=0.95, general_known=20,
                         eval_seconds=11.6))
    page._update_curves()
    assert page.phase is None and page.status.text() == "Step 2 checked in 12 s; training on…"
    assert page.check_line.text() == "Last check, step 2: exam 6 of 12 · general knowledge kept 95%"
    xs, ys = page.plots.exam_curve.getData()
    assert list(xs) == [0, 2] and [round(y, 1) for y in ys] == [16.7, 50.0]
    xs, ys = page.plots.kept_curve.getData()
    assert list(xs) == [0, 2] and list(ys) == [100.0, 95.0]
    assert list(page.train_curve.getData()[0]) == [1, 2] and list(page.eval_curve.getData()[1]) == [1.5]
    assert not page.plots.lower.isHidden()
    page.job = None


def test_final_evaluation_shows_progress(page):
    page.job = SimpleNamespace(cancel_token=CancelToken())
    page.progress.setVisible(True)
    page.on_event(metric(step=1, loss=2.0))
    page.on_event(Event("log", "evaluate", "Evaluating run r1"))
    assert page.status.text() == "Evaluating the trained model — Evaluating run r1…" and page.final
    page.on_event(Event("progress", "evaluate", "tuned: general-en (closed)", {"done": 5, "total": 10}))
    assert page.status.text() == ("Evaluating the trained model — Tuned model: general knowledge (English), closed "
                                  "book (5 of 10)…")
    assert (page.progress.value(), page.progress.maximum()) == (5, 10)
    page.job = None


def test_a_finished_run_shows_verdict_warnings_and_checkpoint(qtbot, page):
    project = page.state.project
    run = project.runs_dir / "r1"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("train: {}\n")
    (run / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in [
        {"step": 0, "exam_correct": 2, "exam_total": 12, "retention": 1.0}, {"step": 1, "loss": 2.0},
        {"step": 1, "eval_loss": 1.9}, {"step": 1, "exam_correct": 4, "exam_total": 12, "retention": 0.9}]))
    (run / "log.txt").write_text("12:00:01 warning: Stopped: the exam has not improved for 3 evaluations\n")
    (run / "summary.json").write_text(json.dumps({"best": {"step": 1, "exam_correct": 4, "exam_total": 12,
                                                           "retention": 0.9, "used": True}}))
    page.show_last_run()
    assert page.outcome.verdict.text().startswith("Quick check at step 1: 4 of 12 exam questions right (base model 2).")
    assert "Chat and export use step 1, the best check (exam 4 of 12 · general knowledge kept 90%)." in \
        page.outcome.footnote.text()
    assert page.log.toPlainText() == "12:00:01 ⚠ Stopped: the exam has not improved for 3 evaluations"
    assert not page.outcome_pane.isHidden() and not page.plots.lower.isHidden()

    (run / "summary.json").write_text(json.dumps({"verdict": "Learned 4 of 40 questions about your books (base 2).",
                                                  "warnings": [WARNING], "best": {"step": 1, "used": False}}))
    page.show_last_run()
    assert page.outcome.verdict.text() == "Learned 4 of 40 questions about your books (base 2)."
    warning = page.outcome.warnings[0]
    assert warning.text() == ("⚠ Held-out loss rose from 1.72 to 1.98 while training loss fell to 0.95: the run "
                              "memorised its training text (overfitting).")   # the page is brief …
    assert warning.toolTip() == WARNING                                       # … what to try is a hover away
    assert "chat and export use the last step" in page.outcome.footnote.text()
    shown = []
    page.state.show_results.connect(shown.append)
    page.outcome.footnote.linkActivated.emit("#more")
    assert shown == [run]


def test_verdict_in_russian(qtbot, russian, tmp_path):
    from gui.pages.train_page import TrainPage
    from core.config import FormatConfig

    project = Project.open(tmp_path / "project")
    run = project.runs_dir / "r1"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("train: {}\n")
    (run / "summary.json").write_text(json.dumps({"verdict": "Learned 1 of 21 questions about your books (base 0). "
                                                             "Kept 95% of general answers.", "warnings": [WARNING],
                                                  "best": {"step": 40, "exam_correct": 1, "exam_total": 12,
                                                           "used": True}}))
    state = AppState(project)
    page = TrainPage(state, FormatConfig)
    qtbot.addWidget(page)
    assert page.outcome.verdict.text() == ("Дообученная модель отвечает на 1 из 21 вопроса по вашим книгам (базовая — "
                                           "0). Сохранено 95% общих ответов.")
    assert page.outcome.warnings[0].text().startswith("⚠ Потери на проверке выросли с 1.72 до 1.98")
    assert page.outcome.footnote.text().startswith("Чат и экспорт используют шаг 40")
    assert "Результаты…" in page.outcome.footnote.text()


def test_auto_plan_greys_out_what_it_chooses(page):
    from gui.widgets.train_settings import PLANNED

    form = page.form
    assert page.plan_hint.isHidden() and all(form.editors[name].isEnabled() for name in PLANNED)
    form.editors["plan"].setCurrentText("auto")
    for name in PLANNED:
        assert not form.editors[name].isEnabled() and not form.labels[name].isEnabled()
        assert form.editors[name].toolTip() == "Chosen for your data by the auto plan; see the run's log"
    assert not page.plan_hint.isHidden() and form.editors["batch_size"].isEnabled()
    assert form.labels["plan"].text() == "Training plan"
    form.editors["plan"].setCurrentText("manual")
    assert all(form.editors[name].isEnabled() for name in PLANNED) and page.plan_hint.isHidden()
    assert form.editors["steps"].toolTip().startswith("Optimizer steps")


def test_auto_plan_shown_when_a_project_opens_and_its_steps_followed(qtbot, tmp_path):
    from core.config import FormatConfig, TrainConfig
    from gui.pages.train_page import TrainPage

    project = Project.open(tmp_path / "project")
    project.save_settings(train=TrainConfig(plan="auto"))
    state = AppState(project)
    widget = TrainPage(state, FormatConfig)
    qtbot.addWidget(widget)
    assert not widget.form.editors["lr"].isEnabled() and not widget.plan_hint.isHidden()
    run = project.runs_dir / "r1"
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"planned": {"steps": 200, "eval_every": 25}}))
    widget.job = SimpleNamespace(cancel_token=CancelToken())
    widget.schedule = (0, 60)                        # what the form said before the plan chose
    widget.on_event(Event("log", "train", "", {"run_dir": str(run)}))
    widget.on_event(Event("progress", "train", "step 1/200", {"done": 1, "total": 200}))
    assert widget.progress.maximum() == 200 and widget.progress.value() == 1 and widget.schedule == (25, 200)
    widget.job = None


def test_a_goal_chosen_on_the_format_page_reaches_the_form(page):
    from core.config import FormatConfig
    from core.formats.goals import apply_goal

    page.form.editors["steps"].setValue(77)
    before = page.form.value()
    page.state.goal_chosen.emit("knowledge")
    expected = apply_goal("knowledge", FormatConfig(), before)[1]
    assert page.form.value() == expected and expected.steps == 77 and expected.plan == "auto"
    assert page.state.project.settings("train") == expected and not page.form.editors["steps"].isEnabled()
