"""Train page: settings, Start/Stop, a live loss plot and the run's log.

Training runs in a background job; its metric events are buffered here and a timer feeds the
two curves with ``setData`` (the curves are created once), so a fast stream of steps never
floods the GUI thread with redraws.
"""
from __future__ import annotations

from typing import Callable

import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar, QPushButton, QScrollArea,
                               QVBoxLayout, QWidget)

from core.config import ConfigError, FormatConfig, TrainConfig
from core.events import Event
from gui.i18n import N_, tr
from gui.messages import tr_message
from gui.state import AppState
from gui.widgets.config_form import ConfigForm

FORM_FIELDS = ("steps", "epochs", "lr", "lora_r", "lora_alpha", "batch_size", "grad_accum", "max_seq_len", "packing",
               "eval_every", "save_every", "early_stop", "device", "quantization", "precision", "warmup_steps",
               "lora_dropout", "target_modules", "rslora", "dora", "seed")


class TrainPage(QWidget):
    title = N_("Train")

    def __init__(self, state: AppState, format_config: Callable[[], FormatConfig]) -> None:
        super().__init__()
        self.state = state
        self.format_config = format_config
        self.job = None
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.eval_steps: list[int] = []
        self.eval_losses: list[float] = []
        self.last_result = None
        self.child_pid: int | None = None

        self.form = ConfigForm(TrainConfig, FORM_FIELDS)
        scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        # as wide as the labels need (longer in Russian), so the form never scrolls sideways
        scroll.setMinimumWidth(max(300, self.form.minimumSizeHint().width()
                                   + scroll.verticalScrollBar().sizeHint().width() + 2 * scroll.frameWidth()))
        scroll.setMaximumWidth(max(380, scroll.minimumWidth()))

        self.start_button = QPushButton(tr("Start training"))
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton(tr("Stop"))
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.estimate_button = QPushButton(tr("Estimate memory"))
        self.estimate_button.setToolTip(tr("Train 2 steps with these settings in the background and measure peak "
                                           "memory"))
        self.estimate_button.clicked.connect(self.estimate)
        self.progress = QProgressBar()
        self.status = QLabel(tr("Ready. Training uses the corpus, the format and the base model you chose."))
        self.status.setWordWrap(True)

        pg.setConfigOptions(antialias=True, background="w", foreground="#333")
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", tr("step"))
        self.plot.setLabel("left", tr("loss"))
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.addLegend(offset=(-10, 10))
        self.train_curve = self.plot.plot([], [], pen=pg.mkPen("#2563eb", width=2), name=tr("training loss"))
        self.eval_curve = self.plot.plot([], [], pen=pg.mkPen("#dc2626", width=2), symbol="o", symbolSize=7,
                                         symbolBrush="#dc2626", name=tr("held-out (eval) loss"))
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setMaximumHeight(130)

        self.redraw = QTimer(self)
        self.redraw.setInterval(250)
        self.redraw.timeout.connect(self._update_curves)

        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.estimate_button)
        buttons.addWidget(self.progress, 1)
        right = QVBoxLayout()
        right.addLayout(buttons)
        right.addWidget(self.status)
        right.addWidget(self.plot, 1)
        right.addWidget(self.log)
        layout = QHBoxLayout(self)
        layout.addWidget(scroll)
        layout.addLayout(right, 1)
        state.project_changed.connect(lambda _p: self.load_project())
        self.load_project()

    def load_project(self) -> None:
        self.form.set_value(self.state.project.settings("train"))
        self.show_last_run()

    def show_last_run(self) -> None:
        """Reopening a project shows its newest run's curves, so nothing looks lost."""
        from core.train import read_metrics

        runs = self.state.project.runs()
        for series in (self.steps, self.losses, self.eval_steps, self.eval_losses):
            series.clear()
        if runs:
            for m in read_metrics(runs[-1]):
                if "loss" in m:
                    self.steps.append(m["step"])
                    self.losses.append(m["loss"])
                if "eval_loss" in m:
                    self.eval_steps.append(m["step"])
                    self.eval_losses.append(m["eval_loss"])
            if self.losses:
                self.status.setText(tr("Last run {run}: {steps} steps, loss {first:.3f} → {last:.3f}.",
                                       run=runs[-1].name, steps=len(self.losses), first=self.losses[0],
                                       last=self.losses[-1]))
        self._update_curves()

    # ---- job control
    def _configs(self) -> tuple[TrainConfig, FormatConfig] | None:
        """The settings on the page, or None after telling the user which one is wrong."""
        try:
            return self.form.value(), self.format_config()
        except ConfigError as exc:
            self.status.setText(tr("Check the settings: {error}", error=tr_message(str(exc))))
            return None

    def start(self) -> None:
        if (configs := self._configs()) is None:
            return
        train_cfg, fmt_cfg = configs
        project = self.state.project
        project.save_settings(format=fmt_cfg, train=train_cfg)

        def job(report, cancel):
            from core.train.runner import run_training

            def started(child) -> None:
                report(Event("log", "train", "", {"child_pid": child.pid}))

            # a child process: a crash or OOM kill there leaves this window alive and responsive
            return run_training(project, project.model, fmt_cfg, train_cfg, report, cancel, on_start=started)

        for series in (self.steps, self.losses, self.eval_steps, self.eval_losses):
            series.clear()
        self._update_curves()
        self.log.clear()
        self.progress.setRange(0, train_cfg.steps)
        self.progress.setValue(0)
        self.status.setText(tr("Loading the model…"))
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.redraw.start()
        self.job = self.state.jobs.start(job, self.on_event, self.on_done, self.on_failed)

    def estimate(self) -> None:
        if (configs := self._configs()) is None:
            return
        train_cfg, fmt_cfg = configs
        project = self.state.project

        def job(report, cancel):
            from core.train.memory import estimate
            return estimate(project, project.model, fmt_cfg, train_cfg, None, cancel)

        self.estimate_button.setEnabled(False)
        self.status.setText(tr("Measuring memory with a 2-step dry run…"))
        self.state.jobs.start(job, None, self.on_estimate, self.on_estimate_failed)

    def on_estimate(self, result: dict) -> None:
        self.estimate_button.setEnabled(True)
        self.status.setText(tr("Peak memory measured here: {measured} GB. On an NVIDIA GPU with QLoRA, about "
                               "{gpu} GB.", measured=result["measured_peak_rss_gb"],
                               gpu=result["gpu_qlora_estimate_gb"]))

    def on_estimate_failed(self, message: str) -> None:
        self.estimate_button.setEnabled(True)
        self.status.setText(tr("Could not estimate memory: {message}", message=tr_message(message)))

    def stop(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.stop_button.setEnabled(False)
            self.status.setText(tr("Stopping after the current step; the adapter will be saved…"))

    def is_running(self) -> bool:
        return self.job is not None

    # ---- events from the job (GUI thread, via signals)
    def on_event(self, event: Event) -> None:
        if "child_pid" in event.data:
            self.child_pid = event.data["child_pid"]
        elif event.kind == "metric":
            if "loss" in event.data and "step" in event.data:
                self.steps.append(event.data["step"])
                self.losses.append(event.data["loss"])
                eta = event.data.get("eta_s", 0)
                self.status.setText(tr("Step {step}: loss {loss:.3f} · {speed:.0f} tokens/s · about {eta:.0f} s left",
                                       step=event.data["step"], loss=event.data["loss"],
                                       speed=event.data.get("tokens_per_s", 0), eta=eta))
            if "eval_loss" in event.data:
                self.eval_steps.append(event.data["step"])
                self.eval_losses.append(event.data["eval_loss"])
        elif event.kind == "progress":
            self.progress.setValue(event.data.get("done", 0))
        elif event.message:
            prefix = {"warning": "⚠ ", "error": "✖ "}.get(event.kind, "")
            self.log.appendPlainText(prefix + tr_message(event.message))

    def _update_curves(self) -> None:
        self.train_curve.setData(self.steps, self.losses)
        self.eval_curve.setData(self.eval_steps, self.eval_losses)

    def _finish(self) -> None:
        self.job = None
        self.redraw.stop()
        self._update_curves()
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def on_done(self, result) -> None:
        self._finish()
        self.last_result = result
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
        self.state.run_finished.emit(result.run_dir)

    def on_failed(self, message: str) -> None:
        self._finish()
        message = tr_message(message)
        self.status.setText(tr("Training failed: {message}", message=message))
        self.log.appendPlainText("✖ " + message)
