"""Export page: a run's adapter as GGUF for llama.cpp / Ollama, with the verification shown."""
from __future__ import annotations

import html

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QTextBrowser, QVBoxLayout, QWidget)

from core.events import Event
from core.export.gguf_merge import QUANT_TYPES
from gui import theme
from gui.i18n import N_, tr
from gui.messages import tr_message
from gui.state import AppState
from gui.widgets.serve_panel import ServePanel

KINDS = [(N_("Adapter (small file next to the base model)"), "adapter"),
         (N_("Merged model (one standalone file)"), "merged"), (N_("Both"), "both")]


class ExportPage(QWidget):
    title = N_("Export")

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self.job = None
        self.run = QComboBox()
        self.kind = QComboBox()
        for label, key in KINDS:
            self.kind.addItem(tr(label), key)
        self.quant = QComboBox()
        self.quant.addItems(["Q8_0", "Q4_K_M", "Q5_K_M", "Q6_K", "f16"])
        self.quant.setToolTip(tr("Quantization of the merged file: smaller files, slightly different answers. "
                                 "All: {types}", types=", ".join(QUANT_TYPES)))
        self.base_gguf = QLineEdit()
        self.base_gguf.setPlaceholderText(tr("optional: the base model as a .gguf file (a Hugging Face folder base is converted for you)"))
        browse = QPushButton(tr("Browse…"))
        browse.clicked.connect(self._browse_base)
        self.base_row = QHBoxLayout()
        self.base_row.addWidget(self.base_gguf, 1)
        self.base_row.addWidget(browse)
        self.verify = QCheckBox(tr("Verify: compare llama.cpp with the trained model, token by token"))
        self.verify.setChecked(True)
        self.export_button = QPushButton(tr("Export GGUF"))
        self.export_button.clicked.connect(self.start)
        self.open_button = QPushButton(tr("Open folder"))
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self.open_folder)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.result = QTextBrowser()
        self.result.setPlaceholderText(tr("The exported files, the Ollama command and the verification appear "
                                          "here."))

        form = QFormLayout()
        form.addRow(tr("Run"), self.run)
        form.addRow(tr("What to export"), self.kind)
        form.addRow(tr("Merged file quantization"), self.quant)
        form.addRow(tr("Base GGUF"), self.base_row)
        form.addRow(self.verify)   # the whole row: beside the labels the long (Russian) text widened the window
        buttons = QHBoxLayout()
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.progress, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(QLabel(tr("Result")))
        layout.addWidget(self.result, 1)
        self.serve = ServePanel(state, lambda: self.run.currentText() or None)
        layout.addWidget(self.serve)
        state.run_finished.connect(lambda _run: self.refresh())
        state.project_changed.connect(lambda _p: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        self.run.clear()
        runs = [r.name for r in self.state.project.runs() if (r / "adapter" / "adapter_config.json").exists()]
        for name in reversed(runs):
            self.run.addItem(name)
        self.export_button.setEnabled(bool(runs) and self.job is None)
        none_yet = tr("No trained adapter yet: train one on the Train page first.")
        if not runs:
            self.result.setPlainText(none_yet)
        elif self.result.toPlainText() == none_yet:  # a run has finished since: the message is stale
            self.result.clear()

    def start(self) -> None:
        project, run = self.state.project, self.run.currentText()
        kind, quant, verify = self.kind.currentData(), self.quant.currentText(), self.verify.isChecked()
        base = self.base_gguf.text().strip() or None

        def job(report, cancel):
            from core.export import export_run
            return export_run(project, run, kind, quant, base_gguf=base, verify=verify, report=report, cancel=cancel)

        self.export_button.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.result.setPlainText(tr("Exporting…"))
        self.job = self.state.jobs.start(job, self.on_event, self.on_done, self.on_failed)

    def on_event(self, event: Event) -> None:
        if event.kind == "progress":
            self.progress.setRange(0, max(event.data.get("total", 0), 1))
            self.progress.setValue(event.data.get("done", 0))
        elif event.message:
            self.result.append(tr_message(event.message))

    def on_done(self, summary: dict) -> None:
        self.job = None
        self.progress.setVisible(False)
        self.folder = summary["folder"]
        self.open_button.setEnabled(True)
        lines = [f"<p><b>{tr('Folder:')}</b> {summary['folder']}</p>"]
        if "adapter" in summary:
            about = tr("adapter.gguf ({size:.1f} MB) for the base {base}", size=summary["adapter"]["bytes"] / 1e6,
                       base=summary["base_gguf"])
            lines.append(f"<p><b>{tr('Adapter:')}</b> {about}"
                         "<br>Ollama: <code>ollama create my-model -f Modelfile</code></p>")
        if "merged" in summary:
            size = tr("{size:.1f} MB", size=summary["merged"]["bytes"] / 1e6)
            lines.append(f"<p><b>{tr('Merged:')}</b> {summary['merged']['path']} ({size})"
                         "<br>Ollama: <code>ollama create my-model -f Modelfile.merged</code></p>")
        check = summary.get("verification")
        if check:  # core's sentences, translated for display
            color = theme.color("good" if check["passed"] is not False else "error")
            lines.append(f"<p style='color:{color}'><b>{tr('Verification:')}</b> "
                         f"{html.escape(tr_message(check['summary']))}</p>")
        self.result.setHtml("".join(lines))
        self.refresh()

    def on_failed(self, message: str) -> None:
        self.job = None
        self.progress.setVisible(False)
        self.result.append(tr("Export failed: {message}", message=tr_message(message)))
        self.refresh()

    def _browse_base(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, tr("Choose the base model as GGUF"), "",
                                              f"{tr('GGUF models')} (*.gguf)")
        if path:
            self.base_gguf.setText(path)

    def open_folder(self) -> None:
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(self.folder)):
            # no file manager answered (a bare desktop, a server session): say where it is instead
            QApplication.clipboard().setText(str(self.folder))
            self.result.append(tr("No file manager opened the folder. It is {path} (copied to the clipboard).",
                                   path=self.folder))
