"""The Train page's "Estimate memory" button: a 2-step dry run in the background, peak memory told.

The dry run (``core.train.memory.estimate``) trains two steps with the settings on the page and
measures the peak resident memory here, plus what QLoRA would need on an NVIDIA GPU. It runs as a
background job; the result (or the reason it failed) is said through the page's status line.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QPushButton

from gui.i18n import tr
from gui.messages import tr_message
from gui.state import AppState


class MemoryEstimateButton(QPushButton):
    """``configs()`` gives (train, format, evaluate) settings or None (it has told the user why);
    ``say(text)`` shows a line of status."""

    def __init__(self, state: AppState, configs: Callable[[], tuple | None], say: Callable[[str], None]) -> None:
        super().__init__(tr("Estimate memory"))
        self.state, self.configs, self.say = state, configs, say
        self.setToolTip(tr("Train 2 steps with these settings in the background and measure peak memory"))
        self.clicked.connect(self.estimate)

    def estimate(self) -> None:
        if (configs := self.configs()) is None:
            return
        train_cfg, fmt_cfg, _checks = configs
        project = self.state.project

        def job(report, cancel):
            from core.train.memory import estimate
            return estimate(project, project.model, fmt_cfg, train_cfg, None, cancel)

        self.setEnabled(False)
        self.say(tr("Measuring memory with a 2-step dry run…"))
        self.state.jobs.start(job, None, self.on_estimate, self.on_failed)

    def on_estimate(self, result: dict) -> None:
        self.setEnabled(True)
        self.say(tr("Peak memory measured here: {measured} GB. On an NVIDIA GPU with QLoRA, about {gpu} GB.",
                    measured=result["measured_peak_rss_gb"], gpu=result["gpu_qlora_estimate_gb"]))

    def on_failed(self, message: str) -> None:
        self.setEnabled(True)
        self.say(tr("Could not estimate memory: {message}", message=tr_message(message)))
