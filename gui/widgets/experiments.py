"""The Lab page's Experiments tab: the project's experiments (``lab/<name>/results.json``) listed,
the chosen one as a table and a chart, exportable (CSV, PNG), and a new format comparison started
from a small form — the same ``core.lab.experiment.run_experiment`` that ``lab run`` calls.

The chart is built once: two bar series per format — exam questions answered (tuned, with the
base as a thin bar beside it) and general answers kept (per cent) — refreshed with ``setOpts``.
"""
from __future__ import annotations

import json
import shutil

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QGridLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QListWidget, QProgressBar, QPushButton, QSpinBox, QSplitter, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from core.config import FORMATS
from core.events import Event
from gui import theme
from gui.i18n import N_, tr
from gui.messages import tr_message
from gui.state import AppState

EXAM_COLOR, BASE_COLOR, KEPT_COLOR = "#059669", "#a7f3d0", "#7c3aed"
HEADERS = (N_("Format"), N_("Exam: base → tuned"), N_("General answers kept"), N_("Reasoning: base → tuned"),
           N_("Book perplexity: base → tuned"), N_("Minutes"))
OFFERED = {"plain": N_("plain text"), "chat": N_("chat"), "instruction": N_("instructions"),
           "qa": N_("questions and answers"), "knowledge": N_("knowledge recipe")}


class ExperimentsPane(QWidget):
    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self.job = None
        self.results: dict | None = None
        self.names = QListWidget()
        self.names.currentTextChanged.connect(self.show_experiment)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels([tr(h) for h in HEADERS])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.chart = pg.PlotWidget()
        self.chart.setBackground(theme.color("plot_bg"))
        self.chart.setLabel("left", tr("per cent"))
        self.chart.addLegend(offset=(10, 5))
        self.exam_base = pg.BarGraphItem(x=[], height=[], width=0.12, brush=BASE_COLOR, name=tr("exam, base model"))
        self.exam_bars = pg.BarGraphItem(x=[], height=[], width=0.25, brush=EXAM_COLOR, name=tr("exam, tuned"))
        self.kept_bars = pg.BarGraphItem(x=[], height=[], width=0.25, brush=KEPT_COLOR,
                                         name=tr("general answers kept"))
        for item in (self.exam_base, self.exam_bars, self.kept_bars):
            self.chart.addItem(item)
        self.chart.setMinimumHeight(180)
        self.chart.setYRange(0, 135, padding=0)  # (room above 100 % for the legend)
        self.chart.setMouseEnabled(x=False, y=False)
        self.csv_button = QPushButton(tr("Export CSV…"))
        self.csv_button.clicked.connect(self.export_csv)
        self.png_button = QPushButton(tr("Export chart as PNG…"))
        self.png_button.clicked.connect(self.export_png)
        exports = QHBoxLayout()
        exports.addWidget(self.csv_button)
        exports.addWidget(self.png_button)
        exports.addStretch(1)
        shown = QVBoxLayout()
        shown.addWidget(self.table, 1)
        shown.addWidget(self.chart, 1)
        shown.addLayout(exports)
        left, right = QWidget(), QWidget()
        listing = QVBoxLayout(left)
        listing.setContentsMargins(0, 0, 0, 0)
        listing.addWidget(QLabel(tr("Experiments in this project")))
        listing.addWidget(self.names, 1)
        listing.addWidget(self._new_form())
        shown.setContentsMargins(0, 0, 0, 0)
        right.setLayout(shown)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        left.setMaximumWidth(400)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        state.project_changed.connect(lambda _p: self.refresh())
        self.refresh()

    def _new_form(self) -> QWidget:
        box = QGroupBox(tr("New format comparison"))
        self.name = QLineEdit()
        self.name.setPlaceholderText(tr("a name, e.g. formats-1"))
        self.checks = {}
        grid = QGridLayout()
        for i, (fmt, label) in enumerate(OFFERED.items()):
            self.checks[fmt] = QCheckBox(tr(label))   # (the format's name is in the tooltip: the label must fit)
            self.checks[fmt].setToolTip(tr("Format: {name}", name=fmt))
            self.checks[fmt].setChecked(fmt in ("plain", "chat", "qa", "knowledge"))
            grid.addWidget(self.checks[fmt], i // 2, i % 2)
        self.scratch = QCheckBox(tr("Also a model trained from scratch"))
        self.scratch.setToolTip(tr("A random model with the base model's tokenizer and about as many weights as the "
                                   "LoRA, trained on the first ticked format with the same steps"))
        self.steps = QSpinBox()
        self.steps.setRange(1, 100000)
        self.steps.setValue(40)
        self.start_button = QPushButton(tr("Run the comparison"))
        self.start_button.clicked.connect(self.start)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel(tr("Each format is trained with the same number of steps (the same tokens), then "
                                "evaluated. Stopped or crashed: run it again to go on."))
        self.status.setWordWrap(True)
        layout = QVBoxLayout(box)
        layout.addWidget(self.name)
        layout.addLayout(grid)
        layout.addWidget(self.scratch)
        steps = QHBoxLayout()
        steps.addWidget(QLabel(tr("Steps per format")))
        steps.addWidget(self.steps)
        layout.addLayout(steps)
        layout.addWidget(self.start_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        return box

    def refresh(self) -> None:
        folder = self.state.project.root / "lab"
        names = sorted(p.parent.name for p in folder.glob("*/results.json")) if folder.exists() else []
        current = self.names.currentItem().text() if self.names.currentItem() else None
        self.names.blockSignals(True)
        self.names.clear()
        self.names.addItems(names)
        self.names.blockSignals(False)
        if names:
            self.names.setCurrentRow(names.index(current) if current in names else len(names) - 1)
            self.show_experiment(self.names.currentItem().text())
        self.csv_button.setEnabled(bool(names))
        self.png_button.setEnabled(bool(names))

    def show_experiment(self, name: str) -> None:
        path = self.state.project.root / "lab" / name / "results.json"
        try:
            self.results = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        rows = self.results["rows"]
        if self.results.get("finding"):  # leave one book out: which book the model needed most
            self.status.setText(tr_message(self.results["finding"]))
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            cells = (row["format"], f"{_n(row['exam_base'])} → {_n(row['exam_tuned'])} / {_n(row['exam_items'])}",
                     _pct(row["retention"]), f"{_n(row['reasoning_base'])} → {_n(row['reasoning_tuned'])}",
                     f"{_f(row['book_ppl_base'])} → {_f(row['book_ppl_tuned'])}", f"{row['minutes']:.1f}")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment((Qt.AlignmentFlag.AlignLeft if c == 0 else Qt.AlignmentFlag.AlignRight)
                                      | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        xs = list(range(len(rows)))
        share = [100 * (row["exam_tuned"] or 0) / row["exam_items"] if row.get("exam_items") else 0 for row in rows]
        base = [100 * (row["exam_base"] or 0) / row["exam_items"] if row.get("exam_items") else 0 for row in rows]
        self.exam_bars.setOpts(x=[x - 0.15 for x in xs], height=share)
        self.exam_base.setOpts(x=[x - 0.34 for x in xs], height=base)
        self.kept_bars.setOpts(x=[x + 0.15 for x in xs], height=[100 * (row["retention"] or 0) for row in rows])
        self.chart.getAxis("bottom").setTicks([[(x, row["format"]) for x, row in zip(xs, rows)]])

    def export_csv(self) -> None:
        if not self.results:
            return
        path, _ = QFileDialog.getSaveFileName(self, tr("Save the table as CSV"), f"{self.results['name']}.csv",
                                              "CSV (*.csv)")
        if path:
            shutil.copyfile(self.results["csv"], path)

    def export_png(self, path: str | None = None) -> None:
        import pyqtgraph.exporters

        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, tr("Save the chart as PNG"),
                                                  f"{(self.results or {}).get('name', 'chart')}.png", "PNG (*.png)")
        if path:
            pyqtgraph.exporters.ImageExporter(self.chart.plotItem).export(path)

    def start(self) -> None:
        formats = [fmt for fmt, box in self.checks.items() if box.isChecked()]
        name = self.name.text().strip() or f"formats-{len(list((self.state.project.root / 'lab').glob('*'))) + 1}"
        if len(formats) < 2:
            self.status.setText(tr("Tick at least two formats to compare."))
            return
        project = self.state.project
        recipe = {"name": name, "kind": "formats", "formats": formats, "train": {"steps": self.steps.value()},
                  "scratch": self.scratch.isChecked()}

        def job(report, cancel):
            from core.lab.experiment import run_experiment
            return run_experiment(project, recipe, report, cancel)

        self.start_button.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.status.setText(tr("Running {name}…", name=name))
        self.job = self.state.jobs.start(job, self._event, self._done, self._failed)

    def _event(self, event: Event) -> None:
        if event.kind == "progress":
            self.progress.setRange(0, max(event.data.get("total", 0), 1))
            self.progress.setValue(event.data.get("done", 0))
        elif event.kind == "log" and event.stage == "lab" and event.message:
            self.status.setText(tr_message(event.message))

    def _done(self, results: dict) -> None:
        self.job = None
        self.progress.setVisible(False)
        self.start_button.setEnabled(True)
        self.status.setText(tr("Done: {name}", name=results["name"]))
        self.refresh()

    def _failed(self, message: str) -> None:
        self.job = None
        self.progress.setVisible(False)
        self.start_button.setEnabled(True)
        self.status.setText(tr("The experiment stopped: {message}", message=tr_message(message)))


def _n(value) -> str:
    return "—" if value is None else str(value)


def _f(value) -> str:
    return "—" if value is None else f"{value:.2f}"


def _pct(value) -> str:
    return "—" if value is None else f"{value:.0%}"
