"""Train page: settings, Start/Stop, live plots (losses; exam and general knowledge kept) and the log.

Training runs in a background job; its metric events are buffered in the plot widget and a timer
feeds the curves with ``setData`` (the curves are created once), so a fast stream of steps never
floods the GUI thread with redraws. The same timer ticks the seconds of a long quiet phase (the
quick check at an evaluation step, preparing the data), so the page never looks frozen. When a
run ends, its verdict, warnings and the checkpoint chat uses are shown above the plots.

With the auto plan the settings it chooses (steps, epochs, learning rate, rank, alpha, evaluation
points) are greyed out and say so; the progress bar and check schedule follow the plan (run.json's
``planned``). A goal chosen on the Format page is laid over this form too (``AppState.goal_chosen``).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar, QPushButton, QSplitter,
                               QVBoxLayout, QWidget)

from core.config import ConfigError, EvalConfig, FormatConfig, TrainConfig
from core.events import Event
from gui import theme
from gui.evaluation import describe_point, is_quick_point, log_tail, progress_text, run_outcome
from gui.i18n import N_, tr
from gui.messages import tr_message, tr_sentences
from gui.state import AppState
from gui.widgets.memory_estimate import MemoryEstimateButton
from gui.widgets.results_view import VerdictPane
from gui.widgets.train_plot import TrainPlot
from gui.widgets.train_settings import TrainSettings


class TrainPage(QWidget):
    title = N_("Train")

    def __init__(self, state: AppState, format_config: Callable[[], FormatConfig]) -> None:
        super().__init__()
        self.state = state
        self.format_config = format_config
        self.job = None
        self.last_result = None
        self.child_pid: int | None = None
        self.run_dir: Path | None = None        # the run on show (the newest, or the one training)
        self.phase: tuple[str, float, str] | None = None   # (what is going on, since when, kind) between steps
        self.checking = False                    # the run checks exam/general questions at evaluations
        self.schedule = (0, 0)                   # (eval_every, steps) of the run going: when a check comes
        self.final = False                       # the steps are done; the full evaluation runs

        self.settings = scroll = TrainSettings()
        self.form, self.checks, self.plan_hint = self.settings.form, self.settings.checks, self.settings.plan_hint

        self.start_button = QPushButton(tr("Start training"))
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton(tr("Stop"))
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.resume_button = QPushButton(tr("Resume"))
        self.resume_button.setToolTip(tr("Continue the stopped or interrupted run from its last checkpoint, with "
                                         "the settings it was started with"))
        self.resume_button.setEnabled(False)
        self.resume_button.clicked.connect(self.resume)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel(tr("Ready. Training uses the corpus, the format and the base model you chose."))
        self.status.setWordWrap(True)
        self.estimate_button = MemoryEstimateButton(state, self._configs, self.status.setText)
        self.check_line = QLabel()
        self.check_line.setObjectName("checkLine")
        self.check_line.setWordWrap(True)
        self.check_line.setStyleSheet(f"color: {theme.color('soft')};")
        self.check_line.setVisible(False)
        self.outcome_pane = VerdictPane(14)   # the verdict scrolls in a pane of its own: never cut off
        self.outcome = self.outcome_pane.box
        self.outcome.footnote.setToolTip(tr("All the numbers of this run, a full evaluation and the exam"))
        self.outcome.link_clicked.connect(lambda: self.state.show_results.emit(self.run_dir))

        self.plots = TrainPlot()
        self.plot, self.train_curve, self.eval_curve = self.plots.loss, self.plots.train_curve, self.plots.eval_curve
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setMinimumHeight(50)

        self.redraw = QTimer(self)
        self.redraw.setInterval(250)
        self.redraw.timeout.connect(self._update_curves)

        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.resume_button)
        buttons.addWidget(self.estimate_button)
        buttons.addStretch(1)
        self.panes = lower = QSplitter(Qt.Orientation.Vertical)   # the user can drag the panes' borders
        lower.addWidget(self.outcome_pane)
        lower.addWidget(self.plots)
        lower.addWidget(self.log)
        lower.setChildrenCollapsible(False)
        lower.setStretchFactor(0, 0)
        lower.setStretchFactor(1, 4)
        lower.setStretchFactor(2, 1)
        right = QVBoxLayout()
        right.addLayout(buttons)
        right.addWidget(self.progress)   # a row of its own: beside the buttons it set the window's minimum width
        right.addWidget(self.status)
        right.addWidget(self.check_line)
        right.addWidget(lower, 1)
        layout = QHBoxLayout(self)
        layout.addWidget(scroll)
        layout.addLayout(right, 1)
        state.project_changed.connect(lambda _p: self.load_project())
        state.evaluated.connect(self._evaluated)
        state.goal_chosen.connect(lambda goal: self.settings.apply_goal(goal, self.state.project))
        self.load_project()

    def load_project(self) -> None:
        self.settings.load(self.state.project)
        self.plots.set_floor(self.state.project.settings("evaluate").retention_floor)
        self.show_last_run()

    def show_last_run(self) -> None:
        """Reopening a project shows its newest run's curves and verdict, so nothing looks lost."""
        from core.train import read_metrics

        runs = self.state.project.runs()
        self.plots.clear()
        self.run_dir = runs[-1] if runs else None
        self.check_line.setVisible(False)
        if runs:
            metrics = read_metrics(runs[-1])
            for m in metrics:
                self.plots.add(m)
            self.log.clear()
            for line in log_tail(runs[-1] / "log.txt"):
                self.log.appendPlainText(line)
            losses = self.plots.series["loss"][1]
            if losses:
                self.status.setText(tr("Last run {run}: {steps} steps, loss {first:.3f} → {last:.3f}.",
                                       run=runs[-1].name, steps=len(losses), first=losses[0], last=losses[-1]))
        self.show_outcome()
        self._update_curves()
        self._offer_resume()

    def show_outcome(self) -> None:
        """The run's verdict (the full evaluation's, else the quick checks'), warnings and checkpoint used."""
        from core.train import read_metrics

        if self.run_dir is None:
            self._show_outcome("", [], "")
            return
        verdict, warnings, footnote = run_outcome(self.run_dir, read_metrics(self.run_dir))
        self._show_outcome(verdict, warnings, footnote)

    def _show_outcome(self, verdict: str, warnings: list[str], footnote: str) -> None:
        """Fill the verdict pane and give it the height it needs, up to 35% of the column."""
        self.outcome_pane.show_texts(verdict, warnings, footnote, tr("Results…") if verdict or footnote else "")
        self._fit_outcome()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._fit_outcome()   # the first time, the panes learn their real size only now

    def _fit_outcome(self) -> None:
        if self.outcome_pane.isHidden():
            return
        total = sum(self.panes.sizes()) or 500
        top = min(max(self.outcome_pane.needed_height(max(self.panes.width() - 12, 300)), 60), int(total * 0.35))
        log = self.panes.sizes()[2] if self.panes.sizes()[2] > 0 else max(70, total // 6)
        self.panes.setSizes([top, max(total - top - log, 100), log])

    def _evaluated(self, run_dir) -> None:
        if run_dir is not None and self.run_dir is not None and Path(run_dir) == self.run_dir and self.job is None:
            self.show_outcome()

    # ---- job control
    def _configs(self) -> tuple[TrainConfig, FormatConfig, EvalConfig] | None:
        """The settings on the page, or None after telling the user which one is wrong."""
        try:
            return self.form.value(), self.format_config(), self.checks.value(self.state.project.settings("evaluate"))
        except ConfigError as exc:
            self.status.setText(tr("Check the settings: {error}", error=tr_message(str(exc))))
            return None

    def start(self) -> None:
        if (configs := self._configs()) is None:
            return
        train_cfg, fmt_cfg, eval_cfg = configs
        project = self.state.project
        project.save_settings(format=fmt_cfg, train=train_cfg, evaluate=eval_cfg)   # the training child reads them
        self.plots.clear()
        self.plots.set_floor(eval_cfg.retention_floor)
        self._update_curves()
        self.log.clear()
        self._show_outcome("", [], "")
        self.check_line.setVisible(False)
        self._launch(fmt_cfg, train_cfg, train_cfg,
                     tr("Preparing the samples, loading the model and checking what the base model knows…")
                     if eval_cfg.quick_exam or eval_cfg.quick_general
                     else tr("Preparing the samples and loading the model…"))

    def _launch(self, fmt_cfg: FormatConfig, train_cfg: TrainConfig, schedule: TrainConfig, phase: str,
                resume: str | None = None) -> None:
        """Start the training job (a new run, or ``resume``: the run of that name) and set the page
        going; ``schedule``: the settings whose steps and evaluation points the run follows."""
        project = self.state.project

        def job(report, cancel):
            from core.train.runner import run_training

            def started(child) -> None:
                report(Event("log", "train", "", {"child_pid": child.pid}))

            # a child process: a crash or OOM kill there leaves this window alive and responsive;
            # a resumed run's own settings are read by the engine from its config.yaml
            return run_training(project, project.model, fmt_cfg, train_cfg, report, cancel, on_start=started,
                                resume=resume)

        # (a new run on the auto plan has no steps yet: the bar waits, busy, for the plan's count)
        self.progress.setRange(0, schedule.steps if resume is None else max(schedule.steps, 1))
        self.progress.setValue(0)   # before it shows: on a visible bar setValue repaints the page at once
        self.progress.setVisible(True)
        self.checking = self.final = False
        self.schedule = (schedule.eval_every, schedule.steps)
        self._set_phase(phase)
        self.start_button.setEnabled(False)
        self.resume_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.redraw.start()
        self.job = self.state.jobs.start(job, self.on_event, self.on_done, self.on_failed)

    def _offer_resume(self) -> None:
        """Resume is offered for the run on show when it was stopped or cut short and has a checkpoint."""
        from core.train.results import resumable

        why = resumable(self.run_dir) if self.job is None else None
        self.resume_button.setEnabled(bool(why))
        if why == "crashed":
            self.status.setText(self.status.text() + " " + tr("The run {run} ended before it finished; Resume "
                                                               "continues it from its last checkpoint.",
                                                               run=self.run_dir.name))

    def resume(self) -> None:
        from core.config import load_yaml
        from core.train.results import resumable

        if self.job is not None or not resumable(self.run_dir):
            return
        run = self.run_dir.name
        saved = load_yaml(self.run_dir / "config.yaml")["train"]
        self.log.appendPlainText(tr("Resuming {run} from its last checkpoint…", run=run))
        self._launch(self.format_config(), self.state.project.settings("train"), saved,  # (read in the GUI thread)
                     tr("Loading the model and the checkpoint…"), resume=run)

    def stop(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.stop_button.setEnabled(False)
            self._set_phase(tr("Stopping the evaluation; the adapter is saved…") if self.final
                            else tr("Stopping after the current step; the adapter will be saved…"))

    def is_running(self) -> bool:
        return self.job is not None

    # ---- events from the job (GUI thread, via signals)
    def _set_phase(self, text: str | None, kind: str = "") -> None:
        """A stretch without steps: ``text`` shows with the seconds it has lasted (None: it ended). The
        seconds count from the first text of the same ``kind`` (an evaluation's progress keeps its clock)."""
        keep = self.phase is not None and kind and self.phase[2] == kind
        self.phase = (text, self.phase[1] if keep else time.monotonic(), kind) if text else None
        self._tick()

    def _tick(self) -> None:
        if self.phase is not None:
            text, since, _kind = self.phase
            seconds = int(time.monotonic() - since)
            self.status.setText(f"{text} {tr('{seconds} s', seconds=seconds)}" if seconds >= 1 else text)

    def on_event(self, event: Event) -> None:
        data = event.data
        if "child_pid" in data:
            self.child_pid = data["child_pid"]
        elif "run_dir" in data:
            self.run_dir = Path(data["run_dir"])
        if event.kind == "metric":
            self.plots.add(data)
            if is_quick_point(data):
                self._quick_point(data)
            if "loss" in data and "step" in data:
                self._set_phase(None)
                self.status.setText(tr("Step {step}: loss {loss:.3f} · {speed:.0f} tokens/s · about {eta:.0f} s left",
                                       step=data["step"], loss=data["loss"], speed=data.get("tokens_per_s", 0),
                                       eta=data.get("eta_s", 0)))
                if self._check_due(data["step"]):   # the held-out loss, then the quick check: a quiet stretch
                    self._set_phase(tr("Step {step}: loss {loss:.3f}. Checking what the model learned (held-out "
                                       "text, exam and general questions)…", step=data["step"], loss=data["loss"]),
                                    "check")
            if "eval_loss" in data and self._check_due(data["step"]):
                self._set_phase(tr("Step {step}: held-out loss {loss:.3f}. Checking what the model learned (exam and "
                                   "general questions)…", step=data["step"], loss=data["eval_loss"]), "check")
        elif event.kind == "progress":
            if event.stage == "train":
                if data.get("total") and data["total"] != self.progress.maximum():
                    self._adopt_plan(data["total"])
                self.progress.setValue(data.get("done", 0))
            elif event.stage == "evaluate" and self.plots.series["loss"][0]:   # the full evaluation at the end
                self._final_progress(event)
            elif event.message and self.phase is not None:   # the exam or the samples being written
                self._set_phase(tr_message(event.message), event.stage)
        elif event.message:
            prefix = {"warning": "⚠ ", "error": "✖ "}.get(event.kind, "")
            self.log.appendPlainText(prefix + tr_sentences(event.message))
            if event.stage == "evaluate" and self.plots.series["loss"][0] and self.job is not None:
                self.final = True   # the full evaluation began: loading its model, reusing the base's answers …
                self._set_phase(tr("Evaluating the trained model — {what}…", what=tr_sentences(event.message)),
                                "final")

    def _adopt_plan(self, total: int) -> None:
        """The steps the run really takes (the auto plan chose them): the bar and the check schedule follow."""
        self.progress.setRange(0, total)
        every = self.schedule[0]
        try:
            planned = json.loads((self.run_dir / "run.json").read_text(encoding="utf-8")).get("planned") or {}
            every = int(planned.get("eval_every", every))
        except (OSError, ValueError, TypeError, AttributeError):
            pass   # no run.json yet (or unreadable): keep the form's schedule
        self.schedule = (every, total)

    def _final_progress(self, event: Event) -> None:
        total, done = event.data.get("total", 0), event.data.get("done", 0)
        self.final = True
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
        what = progress_text(event.message)
        self._set_phase(tr("Evaluating the trained model — {what} ({done} of {total})…", what=what, done=done,
                           total=total) if total else tr("Evaluating the trained model — {what}…", what=what),
                        "final")

    def _check_due(self, step: int) -> bool:
        """Whether the quick check runs after ``step`` (the engine evaluates every N steps and at the last)."""
        every, steps = self.schedule
        return (self.checking and self.job is not None and not self.job.cancel_token.cancelled
                and ((every and step % every == 0) or step == steps))

    def _quick_point(self, data: dict) -> None:
        self.checking = True
        about = describe_point(data)
        if data.get("step") == 0:
            if about:
                self.check_line.setText(tr("Before training: {about}", about=about))
            self._set_phase(tr("Base model checked; training…"))
        else:
            self._set_phase(None)
            self.status.setText(tr("Step {step} checked in {seconds:.0f} s; training on…", step=data["step"],
                                   seconds=data.get("eval_seconds", 0)))
            self.check_line.setText(tr("Last check, step {step}: {about}", step=data["step"], about=about))
        self.check_line.setVisible(bool(about))

    def _update_curves(self) -> None:
        self.plots.redraw()
        self._tick()

    def _finish(self) -> None:
        self.job = None
        self.phase = None
        self.redraw.stop()
        self._update_curves()
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.progress.setVisible(False)
        self._offer_resume()

    def on_done(self, result) -> None:
        self._finish()
        self.last_result = result
        self.run_dir = Path(result.run_dir)
        first, last = result.first_loss, result.last_loss
        losses = (tr("loss {first:.3f} → {last:.3f}", first=first, last=last) if first is not None
                  else tr("no step completed"))
        # whole sentences per outcome: word order and agreement differ between languages
        if result.cancelled:
            text = tr("Stopped after {steps} steps: {losses}. Adapter saved; try it on the Chat page.",
                      steps=result.steps, losses=losses)
        else:
            text = tr("Finished after {steps} steps: {losses}. Adapter saved; try it on the Chat page.",
                      steps=result.steps, losses=losses)
        self.status.setText(text)
        self.show_outcome()
        self.state.run_finished.emit(result.run_dir)

    def on_failed(self, message: str) -> None:
        self._finish()
        message = tr_message(message)
        self.status.setText(tr("Training failed: {message}", message=message))
        self.log.appendPlainText("✖ " + message)

