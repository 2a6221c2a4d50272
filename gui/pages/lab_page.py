"""Lab page: which samples and books teach (data scoring), and merged adapters.

Two panes, each a form generated from its config dataclass and a button that runs the same core
job the CLI runs (``lab score``, ``lab merge``) in the background:

- Data scoring: a format's training samples scored by a small model — the books ranked in a table
  (samples, mean perplexity, mean IFD) and the IFD histogram as a bar chart (created once,
  refreshed with ``setOpts``); with a top-X% or an IFD band it writes the selection that the Format
  page's "Train on a selection" field (``train --select``) trains on.
- Merge adapters: tick two or more runs, pick a method (linear, cat, svd, TIES, DARE, SLERP); the
  merged adapter becomes a run of its own, evaluated when asked, for Chat, Results and Export.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QProgressBar, QPushButton, QSplitter, QTabWidget, QTableWidget,
                               QTableWidgetItem, QTextBrowser, QVBoxLayout, QWidget)

from core.config import FORMATS, MergeConfig, ScoreConfig
from core.events import Event
from gui import theme
from gui.i18n import N_, tr
from gui.messages import tr_message
from gui.state import AppState
from gui.widgets.config_form import ConfigForm
from gui.widgets.experiments import ExperimentsPane

BAR_COLOR = "#2563eb"


class LabPage(QWidget):
    title = N_("Lab")

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self.score_job = self.merge_job = None
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._scoring_pane())
        splitter.addWidget(self._merge_pane())
        splitter.setSizes([620, 420])
        self.tabs = QTabWidget()
        self.tabs.addTab(splitter, tr("Samples and adapters"))
        self.experiments = ExperimentsPane(state)
        self.tabs.addTab(self.experiments, tr("Experiments"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        state.project_changed.connect(lambda _p: self.refresh())
        state.run_finished.connect(lambda _r: self.refresh())
        self.refresh()

    # ------------------------------------------------------------------ panes
    def _scoring_pane(self) -> QWidget:
        box = QGroupBox(tr("Which samples and books teach"))
        self.format = QComboBox()
        self.score_form = ConfigForm(ScoreConfig)
        scorer = self.score_form.findChild(QLineEdit, "field_scorer")
        if scorer is not None:
            scorer.setPlaceholderText(tr("the project's base model"))
        self.score_button = QPushButton(tr("Score samples"))
        self.score_button.clicked.connect(self.start_scoring)
        self.score_progress = QProgressBar()
        self.score_progress.setVisible(False)
        self.books = QTableWidget(0, 4)
        self.books.setHorizontalHeaderLabels([tr("Book"), tr("Samples"), tr("Mean perplexity"), tr("Mean IFD")])
        self.books.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            self.books.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.books.verticalHeader().setVisible(False)
        self.chart = pg.PlotWidget()
        self.chart.setBackground(theme.color("plot_bg"))
        self.chart.setLabel("bottom", tr("IFD (instruction-following difficulty)"))
        self.chart.setLabel("left", tr("samples"))
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.07, brush=BAR_COLOR)
        self.chart.addItem(self.bars)
        self.chart.setMinimumHeight(160)
        self.score_note = QLabel(tr("IFD near 1: the prompt hardly helps write the answer — hard to follow, these "
                                    "teach most. Above 1: prompt and answer do not fit. Low: the prompt gives the "
                                    "answer away."))
        self.score_note.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(QLabel(tr("Samples of the format")))
        row.addWidget(self.format, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.score_button)
        buttons.addWidget(self.score_progress, 1)
        layout = QVBoxLayout(box)
        layout.addLayout(row)
        layout.addWidget(self.score_form)
        layout.addLayout(buttons)
        layout.addWidget(self.books, 1)
        layout.addWidget(self.chart, 1)
        layout.addWidget(self.score_note)
        return box

    def _merge_pane(self) -> QWidget:
        box = QGroupBox(tr("Merge adapters"))
        self.runs = QListWidget()
        self.merge_form = ConfigForm(MergeConfig)
        self.evaluate = QCheckBox(tr("Evaluate the merged adapter"))
        self.merge_button = QPushButton(tr("Merge"))
        self.merge_button.clicked.connect(self.start_merge)
        self.merge_progress = QProgressBar()
        self.merge_progress.setVisible(False)
        self.merge_result = QTextBrowser()
        # the what-to-do line as a wrapped label: a placeholder in the box ran off its right edge (Russian)
        merge_hint = QLabel(tr("Tick two or more runs of one base model. The merged adapter "
                               "becomes a run of its own: chat with it, see its results, export it."))
        merge_hint.setWordWrap(True)
        merge_hint.setStyleSheet(f"color: {theme.color('soft')};")
        buttons = QHBoxLayout()
        buttons.addWidget(self.merge_button)
        buttons.addWidget(self.merge_progress, 1)
        layout = QVBoxLayout(box)
        layout.addWidget(QLabel(tr("Runs with an adapter")))
        layout.addWidget(self.runs, 1)
        layout.addWidget(self.merge_form)
        layout.addWidget(self.evaluate)
        layout.addLayout(buttons)
        layout.addWidget(merge_hint)
        layout.addWidget(self.merge_result, 1)
        return box

    def refresh(self) -> None:
        project = self.state.project
        built = [f for f in FORMATS if (project.dataset_dir(f) / "samples.jsonl").exists()]
        current = self.format.currentText()
        self.format.clear()
        self.format.addItems(built)
        if current in built:
            self.format.setCurrentText(current)
        self.score_form.set_value(project.settings("score"))
        self.score_button.setEnabled(bool(built) and self.score_job is None)
        self.score_button.setToolTip("" if built else tr("Build a format's samples first (Format page)"))
        self.runs.clear()
        for run in reversed([r.name for r in project.runs() if (r / "adapter" / "adapter_config.json").exists()]):
            item = QListWidgetItem(run)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.runs.addItem(item)
        self.merge_form.set_value(project.settings("merge"))
        self.merge_button.setEnabled(self.runs.count() >= 2 and self.merge_job is None)

    # ------------------------------------------------------------------ scoring
    def start_scoring(self) -> None:
        project, fmt = self.state.project, self.format.currentText()
        config = self.score_form.value()
        project.save_settings(score=config)

        def job(report, cancel):
            from core.lab.score_job import score_dataset
            return score_dataset(project, fmt, config, report, cancel)

        self.score_button.setEnabled(False)
        self.score_progress.setVisible(True)
        self.score_progress.setRange(0, 0)
        self.score_job = self.state.jobs.start(job, self._score_event, self.show_scores, self._score_failed)

    def _score_event(self, event: Event) -> None:
        if event.kind == "progress":
            self.score_progress.setRange(0, max(event.data.get("total", 0), 1))
            self.score_progress.setValue(event.data.get("done", 0))

    def show_scores(self, summary: dict) -> None:
        self.score_job = None
        self.score_progress.setVisible(False)
        self.books.setRowCount(len(summary["books"]))
        for row, book in enumerate(summary["books"]):
            ifd = f"{book['mean_ifd']:.3f}" if book["mean_ifd"] is not None else "—"
            for col, text in enumerate((book["title"], str(book["samples"]), f"{book['mean_ppl']:.2f}", ifd)):
                item = QTableWidgetItem(text)
                if col:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.books.setItem(row, col, item)
        hist = summary["histograms"]["ifd"]
        if hist["counts"]:
            edges = hist["edges"]
            centers = [(a + b) / 2 for a, b in zip(edges, edges[1:])]
            self.bars.setOpts(x=centers, height=hist["counts"], width=(edges[1] - edges[0]) * 0.9)
        note = tr("{n} samples scored in {seconds} s.", n=summary["samples"], seconds=summary["seconds"])
        if summary.get("selection"):
            note += " " + tr("Kept {kept} of {n}: put {path} into \"Train on a selection\" on the Format page to "
                             "train on them.",
                             kept=summary["kept"], n=summary["samples"], path=summary["selection"])
        self.score_note.setText(note)
        self.refresh()

    def _score_failed(self, message: str) -> None:
        self.score_job = None
        self.score_progress.setVisible(False)
        self.score_note.setText(tr("Scoring failed: {message}", message=tr_message(message)))
        self.refresh()

    # ------------------------------------------------------------------ merging
    def checked_runs(self) -> list[str]:
        return [self.runs.item(i).text() for i in range(self.runs.count())
                if self.runs.item(i).checkState() == Qt.CheckState.Checked]

    def start_merge(self) -> None:
        project, runs, config = self.state.project, self.checked_runs(), self.merge_form.value()
        if len(runs) < 2:
            self.merge_result.setPlainText(tr("Tick at least two runs to merge."))
            return
        project.save_settings(merge=config)
        evaluate = self.evaluate.isChecked()

        def job(report, cancel):
            from core.lab.merge import merge_runs
            summary = merge_runs(project, runs, config.method, config.weight_list(), config.density, report, cancel)
            if evaluate:
                from core.evaluate.in_child import evaluate_in_child
                summary["verdict"] = evaluate_in_child(project, summary["run"], None, project.settings("evaluate"),
                                                       report=report, cancel=cancel).get("verdict")
            return summary

        self.merge_button.setEnabled(False)
        self.merge_progress.setVisible(True)
        self.merge_progress.setRange(0, 0)
        self.merge_result.setPlainText(tr("Merging…"))
        self.merge_job = self.state.jobs.start(job, self._merge_event, self._merged, self._merge_failed)

    def _merge_event(self, event: Event) -> None:
        if event.kind == "progress":
            self.merge_progress.setRange(0, max(event.data.get("total", 0), 1))
            self.merge_progress.setValue(event.data.get("done", 0))
        elif event.kind in ("warning", "error") and event.message:
            self.merge_result.append(tr_message(event.message))

    def _merged(self, summary: dict) -> None:
        self.merge_job = None
        self.merge_progress.setVisible(False)
        text = tr("Merged {runs} ({method}) into run {run}.", runs=", ".join(summary["runs"]),
                  method=summary["method"], run=summary["run"])
        if summary.get("verdict"):
            text += "\n" + tr_message(summary["verdict"])
        self.merge_result.setPlainText(text)
        self.state.run_finished.emit(self.state.project.run_dir(summary["run"]))

    def _merge_failed(self, message: str) -> None:
        self.merge_job = None
        self.merge_progress.setVisible(False)
        self.merge_result.setPlainText(tr("Merge failed: {message}", message=tr_message(message)))
        self.refresh()
