"""The guided flow a new user walks, end to end, on the tiny model (issue 14's acceptance test).

Project page (a new project by name) → Books (a real QDropEvent) → Goal ("Write like my books")
and a plan preset → Model (a local folder, through the Model page) → Train N steps (the plot holds
N points, the speed and learning-rate panels fill) → Stop → Resume (the same run reaches N) →
Results (the verdict of the evaluation at the end) → Chat (base and tuned stream into their own
columns; the conversation is saved) → Export (GGUF verified).
"""
from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from core.project import Project  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from gui.state import AppState  # noqa: E402
from tests.gui.test_main_window import BOOK, drop  # noqa: E402

STEPS = 60   # many more than it takes to press Stop: the tiny model trains a step in milliseconds


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    state = AppState(Project.open(tmp_path / "start"))
    win = MainWindow(state)
    qtbot.addWidget(win)
    win.show()
    yield win
    state.jobs.stop_all()


def go(window, page) -> None:
    window.nav.setCurrentRow(window.pages.index(page))
    assert window.stack.currentIndex() == window.pages.index(page)


def test_guided_flow_end_to_end(qtbot, window, tmp_path, tiny_model_dir):
    from core.chat.conversations import list_conversations
    from core.train import read_metrics

    # 1. Project: a new one, by name and place
    go(window, window.project_page)
    window.project_page.location.setText(str(tmp_path))
    window.project_page.name.setText("Guided")
    qtbot.mouseClick(window.project_page.create_button, Qt.MouseButton.LeftButton)
    project = window.state.project
    assert project.root == tmp_path / "Guided" and "Guided" in window.windowTitle()

    # 2. Model: a local folder, chosen on the Model page
    model = window.model_page
    go(window, model)
    model.kind.setCurrentIndex(model.kind.findData("hf_dir"))
    model.location.setText(str(tiny_model_dir))
    qtbot.mouseClick(model.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: project.model.source == str(tiny_model_dir), timeout=30000)

    # 3. Books: a real drop
    book = tmp_path / "book.md"
    book.write_text(BOOK, encoding="utf-8")
    go(window, window.corpus_page)
    drop(window.corpus_page, [book])
    qtbot.waitUntil(lambda: window.corpus_page.job is None and window.corpus_page.table.rowCount() == 1, timeout=30000)
    assert window.corpus_page.table.item(0, 1).text() == "Read" and "books: 1" in window.corpus_page.totals.text()

    # 4. Goal: "Write like my books"; the Train page takes its preset
    go(window, window.format_page)
    window.format_page.goals.cards["style"].radio.click()
    assert window.format_page.goals.goal() == "style"
    train = window.train_page
    go(window, train)
    plan = train.form.editors["plan"]
    plan.setCurrentIndex(plan.findText("quick"))          # a preset: the plan line says so
    assert plan.currentText() == "quick" and train.settings.plan_hint.isVisible()
    plan.setCurrentIndex(plan.findText("manual"))         # exact steps for the test: Stop must land mid-run
    for name, value in (("steps", STEPS), ("batch_size", 2), ("max_seq_len", 64), ("eval_every", 0),
                        ("save_every", 2), ("lr", 0.01)):
        train.form.editors[name].setValue(value)
    train.checks.editors["quick_exam"].setValue(0)
    train.checks.editors["quick_general"].setValue(0)
    project.save_settings(evaluate=project.settings("evaluate").__class__(
        exam_questions=4, general_items=3, reasoning_items=2, languages="en", step_by_step=False, answer_tokens=8))

    # 5. Train → Stop → Resume: the same run reaches STEPS, the plots hold every step
    qtbot.mouseClick(train.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: train.progress.value() >= 2 or not train.is_running(), timeout=120000)
    qtbot.mouseClick(train.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not train.is_running(), timeout=120000)
    run = train.run_dir
    assert json.loads((run / "summary.json").read_text())["steps"] < STEPS and train.resume_button.isEnabled()
    qtbot.mouseClick(train.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not train.is_running(), timeout=300000)
    assert train.run_dir == run and len(project.runs()) == 1
    assert max(m["step"] for m in read_metrics(run) if "loss" in m) == STEPS
    train._update_curves()
    xs = list(train.train_curve.getData()[0])
    assert xs == list(range(1, STEPS + 1))                # N points, one per step, resumed ones included
    assert len(train.plots.rate_curve.getData()[0]) == STEPS and not train.plots.bottom.isHidden()

    # 6. Results: the evaluation at the end, in plain words
    results = window.results_page
    go(window, results)
    results.refresh(run.name)
    qtbot.waitUntil(lambda: bool(results.view.box.verdict.text()), timeout=60000)
    assert "questions about your books" in results.view.box.verdict.text()

    # 7. Chat: base and tuned side by side, each streaming into its column; saved with the project
    chat = window.chat_page
    go(window, chat)
    chat.settings.editors["max_new_tokens"].setValue(8)
    chat.mode.setCurrentIndex(2)
    qtbot.keyClicks(chat.input, "Tell me about the river")
    qtbot.mouseClick(chat.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: chat.job is None, timeout=60000)
    base, tuned = chat.base_view.toPlainText(), chat.tuned_view.toPlainText()
    assert "Tell me about the river" in base and "Tell me about the river" in tuned and base != tuned
    saved = list_conversations(project)
    assert saved and set(saved[0].turns[0].answers) == {"base", "tuned"}

    # 8. Export: GGUF written and verified against PEFT
    export = window.export_page
    go(window, export)
    qtbot.waitUntil(lambda: export.export_button.isEnabled(), timeout=10000)
    qtbot.mouseClick(export.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: export.job is None, timeout=120000)
    assert "PASSED" in export.result.toPlainText(), export.result.toPlainText()

    # … and the Project page now shows what the project holds
    go(window, window.project_page)
    assert "books: 1" in window.project_page.current.text() and "runs: 1" in window.project_page.current.text()
