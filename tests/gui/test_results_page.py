"""The Results page: an evaluation summary rendered as verdict, warnings and table; evaluations run in a job.

No model is loaded: summaries are written by hand (the shape ``core.evaluate.evaluate`` returns) and
``core.evaluate.evaluate`` is replaced by a fake that reports progress like the real one.
"""
from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QMessageBox  # noqa: E402

from core.events import Cancelled, Event  # noqa: E402
from core.project import Project  # noqa: E402
from gui.messages import is_known, translate_message, translate_sentences  # noqa: E402
from gui.state import AppState  # noqa: E402
from gui.widgets.results_view import ResultsView  # noqa: E402

CYRILLIC = re.compile("[А-Яа-яЁё]")
VERDICT = ("Learned 14 of 40 questions about your books (base 2; with look-up 25). Kept 86% of general answers. "
           "Reasoning 43 → 41 of 100.")
WARNING = ("Kept only 86% of the general answers the base model knew (below 90%): the model is forgetting. Try the "
           "best checkpoint, fewer steps or a lower learning rate, or the knowledge format (goal “Know the facts in "
           "my books”) with replay.")


def summary(**changes) -> dict:
    data = {
        "exam": {"set": "exam", "items": 40, "closed": {"base": [2, 40], "tuned": [14, 40]},
                 "open": {"base": [21, 40], "tuned": [25, 40]}, "logprob": {"base": -3.12, "tuned": -1.87, "gain": 1.25},
                 "training": {"note": "38 of 40 exam passages were in the training text (the whole book is meant to "
                                      "be known); no exam question or its answer sentence was trained on as a "
                                      "question–answer pair."}},
        "general": {"en": {"base": [64, 100], "tuned": [58, 100], "kept": 55, "known": 64, "retention": 0.8594}},
        "retention": 0.8594,
        "reasoning": {"en": {"direct": {"base": [31, 50], "tuned": [29, 50]},
                             "cot": {"base": [12, 50], "tuned": [12, 50]}}},
        "perplexity": {"en": {"base": 12.31, "tuned": 13.02}}, "kl": 0.0412,
        "loss": {"train_first": 3.4, "train_last": 0.95, "eval_first": 3.1, "eval_best": 1.72, "eval_last": 1.98},
        "verdict": VERDICT, "warnings": [WARNING], "target": "run r1", "backend": "transformers", "seconds": 95.2,
        "evaluated": "2025-05-01 12:40:00"}
    data.update(changes)
    return data


def make_run(project: Project, name: str = "r1", evaluation: dict | None = None, metrics: list[dict] = ()) -> None:
    run = project.runs_dir / name
    (run / "adapter").mkdir(parents=True)
    (run / "adapter" / "adapter_config.json").write_text("{}")
    (run / "config.yaml").write_text("train: {}\n")
    (run / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metrics))
    if evaluation is not None:
        (run / "evaluation.json").write_text(json.dumps(evaluation))


@pytest.fixture
def page(qtbot, tmp_path):
    from gui.pages.results_page import ResultsPage

    project = Project.open(tmp_path / "project")
    make_run(project, "r1", summary())
    make_run(project, "r2", metrics=[{"step": 0, "exam_correct": 1, "exam_total": 12, "retention": 1.0},
                                     {"step": 10, "loss": 2.0}, {"step": 10, "exam_correct": 5, "exam_total": 12,
                                                                 "retention": 0.95}])
    state = AppState(project)
    widget = ResultsPage(state)
    qtbot.addWidget(widget)
    yield widget
    state.jobs.stop_all()


# ---------------------------------------------------------------- rendering a summary
def test_view_renders_a_summary(qtbot):
    view = ResultsView()
    qtbot.addWidget(view)
    view.show_summary(summary())
    rows = {view.cell(r, 0): [view.cell(r, c) for c in (1, 2, 3)] for r in range(view.table.rowCount())}
    assert rows["Your books: exam, closed book"] == ["2 of 40", "14 of 40", "+12"]
    assert rows["…open book (looked up in your books)"] == ["21 of 40", "25 of 40", "+4"]
    assert rows["…likelihood of the right answers"] == ["-3.12", "-1.87", "+1.25"]
    assert rows["General knowledge, English"] == ["64 of 100", "58 of 100", "kept 86%"]
    assert rows["Reasoning, English, step by step"] == ["12 of 50", "12 of 50", "+0"]
    assert rows["Perplexity on general text, English"][2] == "+0.71"
    assert rows["Drift from the base model (KL per token)"] == ["—", "0.0412", ""]
    assert rows["Held-out loss (first → best → last)"][1:] == ["3.100 → 1.720 → 1.980", ""]
    kept = view.table.item(list(rows).index("General knowledge, English"), 3)
    assert kept.foreground().color().name() == "#b3261e"            # below the floor: red
    assert "still answers 55" in kept.toolTip()
    assert view.box.verdict.text() == VERDICT and view.box.warning_texts() == [WARNING]
    assert view.header.text().startswith("run r1 · evaluated 2025-05-01 12:40:00 · 95 s")
    assert "38 of 40 exam passages" in view.note.text()


def test_view_of_the_base_model_alone_and_of_nothing(qtbot):
    view = ResultsView()
    qtbot.addWidget(view)
    base = summary(exam={"set": "user", "items": 3, "closed": {"base": [1, 3], "tuned": None},
                         "open": {"base": None, "tuned": None}, "logprob": {"base": -2.0, "tuned": None, "gain": None}},
                   general={}, reasoning={}, perplexity={"en": {"base": 12.0}}, kl=None, loss={}, warnings=[],
                   verdict="The base model answers 1 of 3 questions about your books.", target="base model smol")
    view.show_summary(base)
    assert [view.cell(0, c) for c in range(4)] == ["Your questions, closed book", "1 of 3", "—", ""]
    assert view.table.rowCount() == 3 and not view.box.warnings
    assert view.header.text().startswith("base model smol")
    view.show_empty("Nothing yet")
    assert view.empty.text() == "Nothing yet" and view.table.isHidden()


def test_view_in_russian(qtbot, russian):
    view = ResultsView()
    qtbot.addWidget(view)
    view.show_summary(summary())
    assert view.box.verdict.text() == ("Дообученная модель отвечает на 14 из 40 вопросов по вашим книгам (базовая — 2; "
                                       "с поиском по книгам — 25). Сохранено 86% общих ответов. Рассуждение: 43 → 41 "
                                       "из 100.")
    assert view.box.warning_texts()[0].startswith("Сохранено лишь 86% общих ответов")
    assert view.cell(0, 0) == "Ваши книги: экзамен по памяти" and view.cell(0, 2) == "14 из 40"
    assert view.header.text().startswith("обучение r1 · оценено")
    assert CYRILLIC.search(view.note.text())


# ---------------------------------------------------------------- the page
def test_page_shows_the_newest_evaluation_or_what_training_said(page):
    assert [page.run.itemData(i) for i in range(page.run.count())] == ["r2", "r1", "<base>"]
    assert "No full evaluation of run r2 yet" in page.view.empty.text()
    assert "5 of 12 exam questions right (base model 1)" in page.view.empty.text()
    page.run.setCurrentIndex(1)
    assert page.view.box.verdict.text() == VERDICT and page.shown.count() == 1
    page.run.setCurrentIndex(2)
    assert "has not been evaluated" in page.view.empty.text()


def test_show_results_opens_the_page_on_that_run(qtbot, tmp_path):
    from gui.main_window import MainWindow

    project = Project.open(tmp_path / "project")
    make_run(project, "r1", summary())
    make_run(project, "r2")
    state = AppState(project)
    window = MainWindow(state)
    qtbot.addWidget(window)
    state.show_results.emit(project.runs_dir / "r1")
    assert window.stack.currentWidget().widget() is window.results_page
    assert window.results_page.run.currentData() == "r1"
    assert window.results_page.view.box.verdict.text() == VERDICT


def test_evaluate_runs_in_a_job_with_progress(qtbot, page, monkeypatch):
    import core.evaluate.in_child

    seen = {}

    def fake_evaluate(project, run, questions, config, checkpoint, base_only, report, cancel):
        seen.update(run=run, questions=questions, checkpoint=checkpoint, base_only=base_only)
        for done in range(0, 4):
            report(Event("progress", "evaluate", "tuned: general-en (closed)", {"done": done, "total": 4}))
        result = summary(target=f"run {run}", verdict="Learned 20 of 40 questions about your books (base 2).")
        (project.runs_dir / run / "evaluation.json").write_text(json.dumps(result))
        return result

    monkeypatch.setattr(core.evaluate.in_child, "evaluate_in_child", fake_evaluate)
    events = []
    page.state.evaluated.connect(events.append)
    page.run.setCurrentIndex(0)
    page.start(page.state.project.settings("evaluate"), checkpoint="step-000010")
    assert not page.evaluate_button.isEnabled() and page.stop_button.isEnabled()
    qtbot.waitUntil(lambda: page.job is None, timeout=10000)
    assert seen == {"run": "r2", "questions": None, "checkpoint": "step-000010", "base_only": False}
    assert page.view.box.verdict.text() == "Learned 20 of 40 questions about your books (base 2)."
    assert events and events[0].name == "r2" and page.evaluate_button.isEnabled()
    assert page.progress.isHidden() and "Evaluated in 95 s" in page.status.text()
    from gui.evaluation import progress_text
    assert progress_text("tuned: general-en (closed)") == "Tuned model: general knowledge (English), closed book"
    assert progress_text("base: exam (open)") == "Base model: exam from your books, open book"


def test_evaluation_can_be_stopped(qtbot, page, monkeypatch):
    import core.evaluate.in_child

    def slow_evaluate(project, run, questions, config, checkpoint, base_only, report, cancel):
        while not cancel.cancelled:
            report(Event("progress", "evaluate", "base: exam (closed)", {"done": 1, "total": 9}))
            cancel._event.wait(0.05)
        raise Cancelled()

    monkeypatch.setattr(core.evaluate.in_child, "evaluate_in_child", slow_evaluate)
    page.run.setCurrentIndex(2)   # the base model alone
    page.start(page.state.project.settings("evaluate"))
    qtbot.waitUntil(lambda: page.progress.maximum() == 9, timeout=5000)
    page.stop()
    qtbot.waitUntil(lambda: page.job is None, timeout=5000)
    assert page.status.text() == "Stopped; nothing was saved." and page.evaluate_button.isEnabled()


def test_score_my_questions_says_what_is_wrong_with_a_file(page, tmp_path, monkeypatch):
    said = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: said.append((title, text)))
    bad = tmp_path / "my questions.tsv"
    bad.write_text("What colour was the ink?\n", encoding="utf-8")
    assert not page.score_file(str(bad)) and page.job is None
    assert said[0][0] == "Cannot use this file"
    assert said[0][1].startswith(f"{bad}, line 1: expected 'question<TAB>answer1|answer2'")
    assert not page.score_file(str(tmp_path / "missing.tsv"))
    assert said[1][1] == f"{tmp_path / 'missing.tsv'}: no such question file"


def test_score_my_questions_in_russian_names_the_file(qtbot, russian, tmp_path, monkeypatch):
    from gui.pages.results_page import ResultsPage

    said = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: said.append(text))
    state = AppState(Project.open(tmp_path / "project"))
    page = ResultsPage(state)
    qtbot.addWidget(page)
    empty = tmp_path / "вопросы.jsonl"
    empty.write_text('{"question": "Кто?"}\n', encoding="utf-8")
    assert not page.score_file(str(empty))
    assert said == [f"{empty}, строка 1: нужен вопрос и хотя бы один ответ"]


def test_evaluate_dialog_checks_the_settings(qtbot):
    from PySide6.QtWidgets import QDialog

    from core.config import EvalConfig
    from gui.pages.results_page import EvaluateDialog

    dialog = EvaluateDialog(EvalConfig(exam_questions=10), ["step-000010", "step-000020"])
    qtbot.addWidget(dialog)
    assert [dialog.checkpoint.itemData(i) for i in range(3)] == [None, "step-000010", "step-000020"]
    assert dialog.form.editors["exam_questions"].value() == 10
    dialog.form.editors["languages"].setText("fr")
    dialog._accept()
    assert dialog.config is None and dialog.error.text().startswith("Check the settings: languages:")
    dialog.form.editors["languages"].setText("en,ru")
    dialog._accept()
    assert dialog.config.languages == "en,ru" and dialog.result() == QDialog.DialogCode.Accepted


def test_evaluate_button_asks_then_runs_on_the_checkpoint(qtbot, page, monkeypatch):
    import core.evaluate.in_child
    from gui.pages.results_page import EvaluateDialog

    (page.state.project.runs_dir / "r1" / "checkpoints" / "step-000010" / "adapter").mkdir(parents=True)

    def answer(dialog):
        dialog.form.editors["general_items"].setValue(7)
        dialog.checkpoint.setCurrentIndex(1)
        dialog._accept()
        return dialog.result()

    seen = {}

    def fake_evaluate(project, run, questions, config, checkpoint, base_only, report, cancel):
        seen.update(run=run, checkpoint=checkpoint, general=config.general_items)
        return summary()

    monkeypatch.setattr(EvaluateDialog, "exec", answer)
    monkeypatch.setattr(core.evaluate.in_child, "evaluate_in_child", fake_evaluate)
    page.run.setCurrentIndex(1)
    page.evaluate_button.click()
    qtbot.waitUntil(lambda: page.job is None, timeout=10000)
    assert seen == {"run": "r1", "checkpoint": "step-000010", "general": 7}
    assert page.state.project.settings("evaluate").general_items == 7


# ---------------------------------------------------------------- core's words in Russian (made by core itself)
def russian_of(english: str, *kept: str) -> str:
    russian = translate_message(english, "ru")
    assert is_known(english) and CYRILLIC.search(russian), f"no translation for {english!r}"
    for part in kept:
        assert part in russian, f"{part!r} lost: {english!r} → {russian!r}"
    return russian
def _summary(tuned=(14, 40), base=(2, 40), opened=(25, 40), retention=0.86, gain=0.01, general_base=(64, 100)):
    return {"exam": {"closed": {"base": list(base) if base else None, "tuned": list(tuned) if tuned else None},
                     "open": {"base": [21, 40], "tuned": list(opened) if opened else None},
                     "logprob": {"gain": gain}},
            "retention": retention, "general": {"en": {"base": list(general_base)}},
            "reasoning": {"en": {"direct": {"base": [31, 50], "tuned": [29, 50]}}}}


@pytest.mark.parametrize("summary, expected", [
    (_summary(), ["отвечает на 14 из 40 вопросов", "с поиском по книгам — 25", "Сохранено 86%", "31 → 29 из 50"]),
    (_summary(tuned=(1, 21), base=None, opened=None), ["на 1 из 21 вопроса", "базовая не оценивалась"]),
    (_summary(tuned=None, opened=None), ["Базовая модель отвечает на 2 из 40", "Рассуждение: 31 → 29 из 50"]),
])
def test_verdicts_in_russian(summary, expected):
    from core.evaluate.verdict import verdict

    english = verdict(summary)
    russian = translate_sentences(english, "ru")
    assert not re.search("[A-Za-z]{3,}", russian), f"{english!r} → {russian!r}"
    for part in expected:
        assert part in russian, f"{part!r} not in {russian!r}"


def test_evaluation_warnings_and_checks_in_russian():
    from core.evaluate.verdict import warnings
    from core.train.watch import Watch

    trend = {"train_first": 3.0, "train_last": 0.9, "eval_best": 1.7, "eval_last": 2.1}
    found = warnings(_summary(tuned=(2, 40), general_base=(0, 100)), 0.9, trend)
    assert len(found) == 4
    names = {"knowledge", "replay", "Qwen", "Gemma", "GGUF"}   # a format, a setting, models: kept as they are
    for warning in found:
        russian = russian_of(warning)
        assert not [w for w in re.findall("[A-Za-z]{4,}", russian) if w not in names], russian
    step = Watch._describe(None, "Step 40", {"exam_total": 12, "exam_correct": 7, "retention": 0.9})
    assert translate_message(step, "ru") == "Шаг 40: экзамен 7 из 12, сохранено общих знаний 90%"
    before = Watch._describe(None, "Before training", {"exam_total": 12, "exam_correct": 2})
    assert translate_message(before, "ru") == "До обучения: экзамен 2 из 12"


def test_question_file_errors_in_russian(tmp_path):
    from core.evaluate.questions import QuestionFileError, load_questions

    cases = [("missing.tsv", None, "такого файла"), ("bad.tsv", "no tab here\n", "строка 1: ожидается"),
             ("empty.tsv", "# nothing\n", "нет ни одного вопроса"), ("bad.jsonl", "{oops\n", "это не запись")]
    for name, content, expected in cases:
        if content is not None:
            (tmp_path / name).write_text(content, encoding="utf-8")
        with pytest.raises(QuestionFileError) as caught:
            load_questions(tmp_path / name)
        assert expected in russian_of(str(caught.value), str(tmp_path / name))
