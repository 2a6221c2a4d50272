"""Serve panel (Export page): the tuned model as an OpenAI-compatible endpoint on this computer.

The server is `python main.py serve … --json` in a child process (QProcess): the window stays
responsive while llama.cpp answers other programs, and a crash of the server never takes the
app down. The panel shows the address, the project's API key and a curl line to copy; Stop (or
closing the app) ends the process. The child announces its address as one JSON line on stdout.
"""
from __future__ import annotations

import json

from PySide6.QtCore import QProcess, QProcessEnvironment
from PySide6.QtWidgets import (QApplication, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton,
                               QSpinBox, QVBoxLayout)

from gui.i18n import tr


class ServePanel(QGroupBox):
    def __init__(self, state, current_run) -> None:
        super().__init__(tr("Serve (OpenAI-compatible API on this computer)"))
        self.state, self.current_run = state, current_run
        self.process: QProcess | None = None
        self.url = ""
        self._out = b""
        self.port = QSpinBox()
        self.port.setRange(1024, 65535)
        self.port.setValue(8765)
        self.button = QPushButton(tr("Start serving"))
        self.button.clicked.connect(self.toggle)
        self.status = QLabel(tr("Other programs (chat clients, editors, scripts) can use the tuned model through "
                                "its address and key."))
        self.status.setWordWrap(True)
        self.key = QLineEdit()
        self.key.setReadOnly(True)
        self.curl = QPlainTextEdit()
        self.curl.setReadOnly(True)
        self.curl.setMaximumHeight(70)
        copy = QPushButton(tr("Copy"))
        copy.clicked.connect(lambda: QApplication.clipboard().setText(self.curl.toPlainText()))
        row = QHBoxLayout()
        row.addWidget(QLabel(tr("Port")))
        row.addWidget(self.port)
        row.addWidget(self.button)
        row.addStretch(1)
        key_row = QHBoxLayout()
        key_row.addWidget(QLabel(tr("API key")))
        key_row.addWidget(self.key, 1)
        key_row.addWidget(copy)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addLayout(key_row)
        layout.addWidget(self.curl)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.NotRunning

    def toggle(self) -> None:
        self.stop() if self.running else self.start()

    def start(self) -> None:
        from core.serve import api_key

        project = self.state.project
        self.key.setText(api_key(project))
        args = ["serve", "--project", str(project.root), "--port", str(self.port.value()), "--json", "--quiet"]
        run = self.current_run()
        if run:
            args += ["--run", run]
        self.process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        self.process.setProcessEnvironment(env)
        self.process.readyReadStandardOutput.connect(self._read)
        self.process.finished.connect(self._finished)
        self._out, self.url = b"", ""
        from core.program import command
        self.process.start(*command(*args))
        self.button.setText(tr("Stop serving"))
        self.status.setText(tr("Starting the server (exporting the adapter first if needed)…"))

    def _read(self) -> None:
        self._out += bytes(self.process.readAllStandardOutput())
        for line in self._out.decode("utf-8", "replace").splitlines():
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if data.get("event") == "serving" and not self.url:
                from core.serve.server import curl_line
                self.url = data["url"]
                models = ", ".join(data.get("models", []))
                self.status.setText(tr("Serving at {url} — models: {models}. Every request needs the key below.",
                                       url=self.url, models=models))
                self.curl.setPlainText(curl_line(self.url, self.key.text(), data["models"][0]))

    def _finished(self, code: int, _status) -> None:
        error = bytes(self.process.readAllStandardError()).decode("utf-8", "replace").strip() if self.process else ""
        self.button.setText(tr("Start serving"))
        if code not in (0, 15, -15) and not self._stopping:
            last = next((line for line in reversed(error.splitlines()) if line.startswith("error:")),
                        error.splitlines()[-1] if error else "")
            self.status.setText(tr("The server stopped: {message}", message=last or code))
        else:
            self.status.setText(tr("Not serving."))
        self.url = ""
        self._stopping = False

    _stopping = False

    def stop(self, wait_ms: int = 5000) -> None:
        if not self.running:
            return
        self._stopping = True
        self.process.terminate()
        if not self.process.waitForFinished(wait_ms):
            self.process.kill()
            self.process.waitForFinished(2000)
