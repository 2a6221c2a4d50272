"""Drive the whole GUI path offscreen on the tiny model: drop → train (background) → chat (streamed)."""
from __future__ import annotations

import os
import signal

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDropEvent  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from core.config import EvalConfig, ModelConfig  # noqa: E402
from core.project import Project  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from gui.state import AppState  # noqa: E402

BOOK = "# A small book\n\n" + "\n\n".join(
    f"## Part {part}\n\n" + "\n\n".join(f"The river ran past mill {part}.{i}, and the miller counted the boats."
                                          for i in range(4)) for part in range(8))


def drop(widget, paths) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(event)


@pytest.fixture
def window(qtbot, tmp_path, tiny_model_dir, monkeypatch):
    # a test that fails with a job still running must not hang on "Quit Scriptorium?" when the window closes
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    project = Project.open(tmp_path / "project")
    project.set_model(ModelConfig(str(tiny_model_dir)))
    state = AppState(project)
    win = MainWindow(state)
    qtbot.addWidget(win)
    win.show()
    yield win
    state.jobs.stop_all()


def test_drop_train_chat(qtbot, window, tmp_path, monkeypatch):
    book = tmp_path / "book.md"
    book.write_text(BOOK, encoding="utf-8")
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"\x00\x01\x02binary\x00")

    # 1. Corpus: a real drop event; the bad file is reported, the good one read.
    corpus = window.corpus_page
    drop(corpus, [book, junk])
    qtbot.waitUntil(lambda: corpus.job is None and corpus.table.rowCount() == 2, timeout=30000)
    statuses = {corpus.table.item(r, 0).text(): corpus.table.item(r, 1).text() for r in range(2)}
    assert statuses == {"book.md": "Read", "junk.txt": "Failed"}
    assert "binary data" in corpus.table.item([*statuses].index("junk.txt"), 3).text().lower()

    # 2. Train: runs in a child process, the curve fills in, the adapter is saved.
    page = window.train_page
    window.nav.setCurrentRow(window.pages.index(page))
    page.form.editors["steps"].setValue(6)
    page.form.editors["lr"].setValue(0.01)
    page.form.editors["batch_size"].setValue(2)
    page.form.editors["max_seq_len"].setValue(64)
    page.form.editors["eval_every"].setValue(3)
    page.form.editors["evaluate_at_end"].setChecked(False)   # the full evaluation is core's (tests/core/evaluate)
    page.checks.editors["quick_exam"].setValue(4)
    page.checks.editors["quick_general"].setValue(4)
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    assert not page.start_button.isEnabled()
    qtbot.waitUntil(lambda: not page.is_running(), timeout=120000)
    assert page.child_pid and page.child_pid != os.getpid()
    xs, ys = page.train_curve.getData()
    assert list(xs) == [1, 2, 3, 4, 5, 6] and all(y > 0 for y in ys)
    assert len(page.eval_curve.getData()[0]) >= 1
    exam_steps = list(page.plots.exam_curve.getData()[0])   # the quick exam: the base (step 0), then each evaluation
    assert exam_steps[:1] == [0] and len(exam_steps) >= 2 and page.check_line.text()
    assert page.last_result is not None and (page.last_result.adapter_dir / "adapter_config.json").exists()
    assert "Finished" in page.status.text()

    # 3. Chat: the reply streams into the transcript.
    chat = window.chat_page
    window.nav.setCurrentRow(window.pages.index(chat))
    assert chat.send_button.isEnabled()
    chat.settings.editors["max_new_tokens"].setValue(12)
    chat.mode.setCurrentIndex(2)  # both, side by side
    qtbot.keyClicks(chat.input, "Tell me about the river")
    qtbot.mouseClick(chat.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: chat.job is None, timeout=60000)
    assert chat.columns.isVisible() and not chat.transcript.isVisible()
    base, tuned = chat.base_view.toPlainText().strip(), chat.tuned_view.toPlainText().strip()
    assert base.startswith("You: Tell me about the river") and tuned.startswith("You: Tell me about the river")
    assert len(base) > len("You: Tell me about the river") + 2 and len(tuned) > len("You: Tell me about the river") + 2
    assert base != tuned   # each answer in its own column
    assert len(chat.history) == 2

    # 4. Export: the base is a HF folder; its GGUF is written for the user and the adapter verified.
    export = window.export_page
    window.nav.setCurrentRow(window.pages.index(export))
    assert export.run.count() == 1 and export.export_button.isEnabled()
    qtbot.mouseClick(export.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: export.job is None, timeout=60000)
    assert "PASSED" in export.result.toPlainText(), export.result.toPlainText()
    assert export.export_button.isEnabled() and export.open_button.isEnabled()


def test_chat_without_run_says_what_to_do(window):
    assert not window.chat_page.send_button.isEnabled()
    assert "Train page" in window.chat_page.run_label.text()


def test_train_with_empty_corpus_fails_cleanly(qtbot, window):
    page = window.train_page
    page.form.editors["steps"].setValue(2)
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.is_running(), timeout=60000)
    assert "corpus is empty" in page.status.text()
    assert page.start_button.isEnabled()


def test_killed_training_process_shows_error_and_window_stays_usable(qtbot, window, tmp_path):
    book = tmp_path / "book.md"
    book.write_text(BOOK, encoding="utf-8")
    window.corpus_page.add_paths([book])
    qtbot.waitUntil(lambda: window.corpus_page.job is None, timeout=30000)
    page = window.train_page
    page.form.editors["steps"].setValue(100000)
    page.form.editors["max_seq_len"].setValue(64)
    page.form.editors["save_every"].setValue(1)
    window.state.project.save_settings(evaluate=EvalConfig(exam_questions=0))   # no exam, no checks: steps at once
    for name in ("quick_exam", "quick_general"):
        page.checks.editors[name].setValue(0)
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.child_pid is not None and len(page.plots.series["loss"][0]) >= 2, timeout=120000)
    os.kill(page.child_pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: not page.is_running(), timeout=60000)
    assert "killed by SIGKILL" in page.status.text() and "checkpoint" in page.status.text()
    assert page.start_button.isEnabled()
    window.nav.setCurrentRow(0)  # the window still responds
    assert window.stack.currentIndex() == 0


def test_closing_mid_job_asks_stops_the_job_and_closes(qtbot, window, monkeypatch):
    """The quit question is asked (answered here: no dialog is ever left open in tests), the job is
    cancelled and its thread ends within the deadline, and the window closes: nothing can hang here."""
    import time

    asked, started = [], []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda parent, title, *a, **k: asked.append(title) or QMessageBox.StandardButton.Yes)

    def job(report, cancel):
        started.append(True)
        deadline = time.monotonic() + 30
        while not cancel.cancelled and time.monotonic() < deadline:
            time.sleep(0.01)
        return "stopped"

    running = window.state.jobs.start(job)
    qtbot.waitUntil(lambda: bool(started), timeout=5000)
    begun = time.monotonic()
    assert window.close()
    assert time.monotonic() - begun < 10 and not running.is_running()
    assert asked == ["Quit Scriptorium?"]


def test_new_project_takes_a_typed_name(window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    target = tmp_path / "Brand new project"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.new_project()
    assert window.state.project.root == target and (target / "project.yaml").exists()

    busy = tmp_path / "full"
    busy.mkdir()
    (busy / "notes.txt").write_text("not a project", encoding="utf-8")
    said = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(busy), ""))
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: said.append(text))
    window.new_project()
    assert window.state.project.root == target and said and "other files" in said[0]


def test_stop_then_resume_continues_the_same_run(qtbot, window, tmp_path):
    """Stop saves a checkpoint; Resume (enabled only then) continues that run to its planned steps."""
    import json

    from core.train import read_metrics

    book = tmp_path / "book.md"
    book.write_text(BOOK, encoding="utf-8")
    drop(window.corpus_page, [book])
    qtbot.waitUntil(lambda: window.corpus_page.job is None and window.corpus_page.table.rowCount() == 1,
                    timeout=30000)
    page = window.train_page
    assert not page.resume_button.isEnabled()
    steps = 60   # many more than it takes to press Stop: the tiny model trains a step in milliseconds
    for name, value in (("steps", steps), ("batch_size", 2), ("max_seq_len", 64), ("eval_every", 0),
                        ("save_every", 2)):
        page.form.editors[name].setValue(value)
    page.form.editors["evaluate_at_end"].setChecked(False)
    page.checks.editors["quick_exam"].setValue(0)
    page.checks.editors["quick_general"].setValue(0)
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.progress.value() >= 2 or not page.is_running(), timeout=120000)
    qtbot.mouseClick(page.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.is_running(), timeout=120000)
    run = page.run_dir
    stopped_at = json.loads((run / "summary.json").read_text())["steps"]
    assert "Stopped" in page.status.text() and stopped_at < steps
    assert page.resume_button.isEnabled()

    qtbot.mouseClick(page.resume_button, Qt.MouseButton.LeftButton)
    assert not page.resume_button.isEnabled() and not page.start_button.isEnabled()
    qtbot.waitUntil(lambda: not page.is_running(), timeout=120000)
    assert page.run_dir == run and len(window.state.project.runs()) == 1   # the same run, not a new one
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == steps and not summary["cancelled"], page.status.text()
    assert max(m["step"] for m in read_metrics(run) if "loss" in m) == steps
    assert "Finished" in page.status.text() and not page.resume_button.isEnabled()
