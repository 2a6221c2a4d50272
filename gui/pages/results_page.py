"""Results page: did the model learn the user's books, and what did it lose? The numbers and the exam.

Pick a run (or the base model alone); its saved evaluations are listed, the newest shown: the
verdict in large text, the warnings with what to try, and a table of base vs tuned (exam closed
and open book, answer likelihood, general knowledge kept per language, reasoning, perplexity, KL).
A run without a full evaluation shows what its quick checks during training said.

"Evaluate…" asks for the settings (and a checkpoint) and runs ``core.evaluate.evaluate`` in a
background job with a progress bar and Stop; "Score my questions…" does the same on a TSV/JSONL
file of the user's own (a bad file is said at once, naming it). The Exam tab edits the exam.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QMessageBox, QProgressBar, QPushButton, QScrollArea, QSizePolicy, QTabWidget,
                               QVBoxLayout, QWidget)

from core.config import ConfigError, EvalConfig
from core.events import Event
from gui.evaluation import (best_text, evaluation_name, evaluations, progress_text, quick_points, quick_verdict,
                            read_json)
from gui.i18n import N_, tr
from gui.messages import tr_message
from gui.state import AppState
from gui.widgets.config_form import ConfigForm
from gui.widgets.exam_editor import ExamEditor
from gui.widgets.results_view import ResultsView

BASE = "<base>"   # the run combo's entry for the base model alone


class EvaluateDialog(QDialog):
    """What to evaluate (the run's adapter or one of its checkpoints) and the evaluation settings."""

    def __init__(self, config: EvalConfig, checkpoints: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Evaluate"))
        about = QLabel(tr("The exam from your books is answered closed book and open book, then general and "
                          "reasoning questions, by the base model and by the tuned one. The base model's answers "
                          "are kept for next time. This takes a few minutes on a processor."))
        about.setWordWrap(True)
        self.checkpoint = QComboBox()
        self.checkpoint.addItem(tr("Its adapter (what chat and export use)"), None)
        for name in checkpoints:
            self.checkpoint.addItem(tr("Checkpoint {name}", name=name), name)
        self.checkpoint.setEnabled(bool(checkpoints))
        self.form = ConfigForm(EvalConfig)
        self.form.set_value(config)
        scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setMinimumHeight(min(360, self.form.sizeHint().height() + 4))
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b3261e;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(tr("Evaluate"))
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        which = QFormLayout()
        which.addRow(tr("What"), self.checkpoint)
        layout = QVBoxLayout(self)
        layout.addWidget(about)
        layout.addLayout(which)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.config: EvalConfig | None = None
        self.resize(520, 560)

    def _accept(self) -> None:
        try:
            self.config = self.form.value()
        except ConfigError as exc:
            self.error.setText(tr("Check the settings: {error}", error=tr_message(str(exc))))
            return
        self.accept()


class ResultsPage(QWidget):
    title = N_("Results")

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self.job = None
        self.writing = False               # the job writes the exam (not an evaluation)
        self.job_run: Path | None = None   # the run the job evaluates (None: the base model)
        self.fresh: dict | None = None     # the last evaluation of the base model alone (not saved in a run)

        self.run = QComboBox()
        self.run.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.run.setMinimumContentsLength(16)
        self.run.currentIndexChanged.connect(self._run_changed)
        self.shown = QComboBox()
        self.shown.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.shown.setMinimumContentsLength(14)
        self.shown.currentIndexChanged.connect(self._show_selected)
        self.evaluate_button = QPushButton(tr("Evaluate…"))
        self.evaluate_button.setToolTip(tr("Ask the exam, general and reasoning questions: base model vs tuned"))
        self.evaluate_button.clicked.connect(self.evaluate)
        self.questions_button = QPushButton(tr("Score my questions…"))
        self.questions_button.setToolTip(tr("Your own questions from a file: TSV (question, tab, answers with | "
                                            "between them) or JSONL"))
        self.questions_button.clicked.connect(self.score_questions)
        self.stop_button = QPushButton(tr("Stop"))
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status.setVisible(False)

        self.view = ResultsView()
        scroll = QScrollArea()
        scroll.setWidget(self.view)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.exam = ExamEditor()
        self.exam.write_requested.connect(self.write_exam)
        self.tabs = QTabWidget()
        self.tabs.addTab(scroll, tr("Results"))
        self.tabs.addTab(self.exam, tr("Exam"))

        pick = QHBoxLayout()
        pick.addWidget(QLabel(tr("Run")))
        pick.addWidget(self.run, 1)
        pick.addWidget(QLabel(tr("Show")))
        pick.addWidget(self.shown, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.evaluate_button)
        buttons.addWidget(self.questions_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.progress, 3)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(pick)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.tabs, 1)
        state.project_changed.connect(lambda _p: self.load_project())
        state.run_finished.connect(lambda run: self.refresh(run))
        state.show_results.connect(lambda run: self.refresh(run))
        self.load_project()

    # ---- what there is to show
    def load_project(self) -> None:
        self.fresh = None
        self.exam.load(self.state.project)
        self.refresh()

    def floor(self) -> float:
        return self.state.project.settings("evaluate").retention_floor

    def refresh(self, select: Path | str | None = None) -> None:
        """List the runs with an adapter (newest first) and the base model; select ``select`` if given."""
        self.exam.reload_if_clean()
        # while a job runs, the run it evaluates stays selected (its result is shown there)
        wanted = Path(select).name if select and self.job is None else self.run.currentData()
        runs = [r for r in self.state.project.runs() if (r / "adapter" / "adapter_config.json").exists()]
        self.run.blockSignals(True)
        self.run.clear()
        for run in reversed(runs):
            self.run.addItem(run.name, run.name)
        self.run.addItem(tr("Base model alone"), BASE)
        index = self.run.findData(wanted) if wanted else -1
        self.run.setCurrentIndex(index if index >= 0 else 0)
        self.run.blockSignals(False)
        self._run_changed()

    def run_dir(self) -> Path | None:
        name = self.run.currentData()
        return self.state.project.runs_dir / name if name and name != BASE else None

    def _run_changed(self) -> None:
        self.shown.blockSignals(True)
        self.shown.clear()
        run_dir = self.run_dir()
        if run_dir is not None:
            for path in evaluations(run_dir):
                self.shown.addItem(f"{evaluation_name(path)} · {read_json(path).get('evaluated', '')}", str(path))
        elif self.fresh is not None:
            self.shown.addItem(tr("Evaluated just now"), "fresh")
        self.shown.setEnabled(self.shown.count() > 1)
        self.shown.blockSignals(False)
        self._show_selected()
        self._enable()

    def _show_selected(self) -> None:
        key = self.shown.currentData()
        if key == "fresh" and self.fresh is not None:
            self.view.show_summary(self.fresh, self.floor())
        elif key and (summary := read_json(Path(key))).get("exam"):
            self.view.show_summary(summary, self.floor(), self._best_note())
        else:
            self.view.show_empty(self._nothing_yet())

    def _best_note(self) -> str:
        run_dir = self.run_dir()
        return best_text(read_json(run_dir / "summary.json").get("best")) if run_dir is not None else ""

    def _nothing_yet(self) -> str:
        from core.train import read_metrics

        run_dir = self.run_dir()
        how = tr("Evaluate… asks the exam from your books (closed and open book), general and reasoning questions, "
                 "and compares the answers with the base model's.")
        if run_dir is None:
            return tr("The base model alone has not been evaluated in this session.") + "\n\n" + how
        quick = quick_verdict(quick_points(read_metrics(run_dir)))
        said = tr("No full evaluation of run {run} yet.", run=run_dir.name)
        if quick:
            said += "\n\n" + tr("While it trained: {verdict}", verdict=quick)
        return said + "\n\n" + how

    def _enable(self) -> None:
        idle = self.job is None
        self.evaluate_button.setEnabled(idle and self.run.count() > 0)
        self.questions_button.setEnabled(idle and self.run.count() > 0)
        self.stop_button.setEnabled(not idle)
        self.run.setEnabled(idle)

    # ---- evaluations
    def evaluate(self) -> None:
        run_dir = self.run_dir()
        checkpoints = sorted(p.parent.name for p in (run_dir / "checkpoints").glob("step-*/adapter")) \
            if run_dir is not None else []
        dialog = EvaluateDialog(self.state.project.settings("evaluate"), checkpoints, self)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.config is None:
            return
        self.state.project.save_settings(evaluate=dialog.config)
        self.start(dialog.config, checkpoint=dialog.checkpoint.currentData())

    def score_questions(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, tr("Score my questions"), "",
                                              f"{tr('Question files')} (*.tsv *.txt *.jsonl *.json)")
        if path:
            self.score_file(path)

    def score_file(self, path: str) -> bool:
        """Evaluate on the questions in ``path``; a file that cannot be used is said at once, naming it."""
        from core.evaluate.questions import QuestionFileError, load_questions

        try:
            load_questions(path)
        except QuestionFileError as exc:
            QMessageBox.warning(self, tr("Cannot use this file"), tr_message(str(exc)))
            return False
        self.start(self.state.project.settings("evaluate"), questions=path)
        return True

    def start(self, config: EvalConfig, checkpoint: str | None = None, questions: str | None = None) -> None:
        project, run = self.state.project, self.run.currentData()
        base_only = run == BASE

        def job(report, cancel):
            from core.evaluate.in_child import evaluate_in_child  # the window never holds torch's GIL
            return evaluate_in_child(project, None if base_only else run, questions, config, checkpoint, base_only,
                                     report, cancel)

        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self._say(tr("Loading the model…"))
        self.writing, self.job_run = False, self.run_dir()
        self.job = self.state.jobs.start(job, self.on_event, self.on_done, self.on_failed)
        self._enable()

    def stop(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.stop_button.setEnabled(False)
            self._say(tr("Stopping…"))

    def write_exam(self) -> None:
        project, config = self.state.project, self.state.project.settings("evaluate")

        def job(report, cancel):
            from core.evaluate.in_child import ensure_exam_in_child
            return ensure_exam_in_child(project, config, report, cancel)

        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self._say(tr("Writing the exam from your books…"))
        self.exam.write_button.setEnabled(False)
        self.writing = True
        self.job = self.state.jobs.start(job, self.on_event, self.on_exam_written, self.on_failed)
        self._enable()

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet("color: #b3261e;" if error else "")
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def on_event(self, event: Event) -> None:
        if event.kind == "progress":
            total = event.data.get("total", 0)
            self.progress.setRange(0, max(total, 0))
            self.progress.setValue(min(event.data.get("done", 0), max(total, 0)))
            if event.message:
                self._say(progress_text(event.message))
        elif event.kind in ("log", "warning") and event.message:
            self._say(tr_message(event.message))

    def _finish(self) -> None:
        self.job = None
        self.progress.setVisible(False)
        self.exam.write_button.setEnabled(True)
        self._enable()

    def on_done(self, summary: dict) -> None:
        self._finish()
        self._say(tr("Evaluated in {seconds} s.", seconds=round(summary.get("seconds") or 0)))
        run_dir = self.job_run
        if run_dir is None:
            self.fresh = summary
        self.state.evaluated.emit(run_dir)
        self.refresh(run_dir.name if run_dir is not None else BASE)
        self.tabs.setCurrentIndex(0)

    def on_exam_written(self, items) -> None:
        self._finish()
        self._say(tr("The exam has {n} questions.", n=len(items or [])))
        self.exam.reload()

    def on_failed(self, message: str) -> None:
        cancelled = self.job is not None and self.job.cancel_token.cancelled
        self._finish()
        if cancelled:
            self._say(tr("Stopped; nothing was saved."))
        elif self.writing:
            self._say(tr("The exam could not be written: {message}", message=tr_message(message)), error=True)
        else:
            self._say(tr("Evaluation failed: {message}", message=tr_message(message)), error=True)

