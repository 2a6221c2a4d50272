"""The Train page's settings column: the training form, the checks made while training, the plan.

With ``plan = auto`` the settings the plan chooses for the data (``core.train.autoplan``: steps,
epochs, learning rate, rank, alpha, evaluation points) are greyed out, their tooltip says who
chooses them, and a one-line hint sits above the form. A goal chosen on the Format page is laid
over this form (``apply_goal``; the rest of the form is kept) and saved with the project.
"""
from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from core.config import ConfigError, EvalConfig, TrainConfig
from core.formats.goals import apply_goal
from core.project import Project
from gui import theme
from gui.i18n import N_, tr
from gui.widgets.config_form import ConfigForm

FORM_FIELDS = ("plan", "steps", "epochs", "lr", "lora_r", "lora_alpha", "batch_size", "grad_accum", "max_seq_len",
               "packing", "eval_every", "save_every", "early_stop", "exam_patience", "keep_best", "evaluate_at_end",
               "device", "quantization", "precision", "warmup_steps", "lora_dropout", "target_modules", "rslora",
               "dora", "kl_weight", "seed")
# shown at once; the rest wait under "All settings" (a first run needs none of them)
FIRST_FIELDS = ("plan", "steps", "epochs", "lr", "lora_r", "batch_size", "max_seq_len", "eval_every", "evaluate_at_end",
                "keep_best")
CHECK_FIELDS = ("quick_exam", "quick_general", "retention_floor")   # evaluation settings that act while training
PLANNED = ("steps", "epochs", "lr", "lora_r", "lora_alpha", "eval_every")   # what the auto plan chooses
PLANNED_TIP = N_("Chosen for your data by the auto plan; see the run's log")
AUTO_HINT = N_("Auto plan: steps, learning rate, rank and checks are sized to your data when training starts.")


class TrainSettings(QScrollArea):
    """The training form and the checks form in one scrolling column, as wide as its labels need."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = ConfigForm(TrainConfig, FORM_FIELDS)
        self.form.editors["plan"].currentIndexChanged.connect(lambda _i: self.plan_changed(self.form.choice("plan")))
        self.form.arrange(FIRST_FIELDS)
        self.more_button = self.form.more_button("allTrainSettings",
                                                 tr("Precision, LoRA details, saving, early stopping and the rest"))
        self.plan_hint = QLabel(tr(AUTO_HINT))
        self.plan_hint.setObjectName("planHint")
        self.plan_hint.setWordWrap(True)
        self.plan_hint.setStyleSheet(f"color: {theme.color('soft')}; padding: 4px 8px 0 8px;")
        self.plan_hint.setVisible(False)
        self.checks = ConfigForm(EvalConfig, CHECK_FIELDS)
        checks_title = QLabel(tr("Checks while training"))
        checks_title.setStyleSheet("font-weight: 600; padding: 8px 0 0 8px;")
        settings = QWidget()
        column = QVBoxLayout(settings)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.plan_hint)
        column.addWidget(self.form)
        column.addWidget(self.more_button)
        column.addWidget(self.form.more)
        column.addWidget(checks_title)
        column.addWidget(self.checks)
        column.addStretch(1)
        self.setWidget(settings)
        self.setWidgetResizable(True)
        # as wide as the labels need (longer in Russian), so the form never scrolls sideways
        self.setMinimumWidth(max(300, settings.minimumSizeHint().width()
                                 + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()))
        self.setMaximumWidth(max(380, self.minimumWidth()))

    def load(self, project: Project) -> None:
        self.form.set_value(project.settings("train"))
        self.checks.set_value(project.settings("evaluate"))
        self.plan_changed(self.form.choice("plan"))

    def plan_changed(self, plan: str) -> None:
        """The auto plan chooses steps, learning rate, rank …: their fields are greyed out and say so."""
        auto = plan != "manual"   # auto and its presets (quick, thorough) choose these
        helps = {f.name: f.metadata.get("help", "") for f in dataclasses.fields(TrainConfig)}
        for name in PLANNED:
            tip = tr(PLANNED_TIP) if auto else tr(helps[name])
            for widget in (self.form.editors[name], self.form.labels[name]):
                widget.setEnabled(not auto)
                widget.setToolTip(tip)
        self.plan_hint.setVisible(auto)

    def apply_goal(self, goal: str, project: Project) -> TrainConfig:
        """The goal chosen on the Format page, laid over this form (the rest of it kept) and saved."""
        try:
            train = self.form.value()
        except ConfigError:   # a value the user is still typing: start from what was saved
            train = project.settings("train")
        _fmt, train = apply_goal(goal, project.settings("format"), train)
        self.form.set_value(train)
        project.save_settings(train=train)
        return train
