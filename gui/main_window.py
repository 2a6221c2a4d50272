"""The main window: the stages as pages (Corpus, Format, Model, Train, Chat) in a side list."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMainWindow,
                               QMessageBox, QStackedWidget, QTextBrowser, QVBoxLayout, QWidget)

from core import __version__
from core.demo import MANUAL
from gui.pages.chat_page import ChatPage
from gui.pages.corpus_page import CorpusPage
from gui.pages.export_page import ExportPage
from gui.pages.format_page import FormatPage
from gui.pages.model_page import ModelPage
from gui.pages.train_page import TrainPage
from gui.state import AppState

HINTS = {"Corpus": "your books and documents", "Format": "how the model sees them", "Model": "the base model",
         "Train": "train a LoRA adapter", "Chat": "talk to the result", "Export": "GGUF for llama.cpp and Ollama"}


class MainWindow(QMainWindow):
    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self.resize(1100, 720)
        self.corpus_page = CorpusPage(state)
        self.format_page = FormatPage(state)
        self.model_page = ModelPage(state)
        self.train_page = TrainPage(state, self.format_page.config)
        self.chat_page = ChatPage(state)
        self.export_page = ExportPage(state)
        self.pages = [self.corpus_page, self.format_page, self.model_page, self.train_page, self.chat_page,
                      self.export_page]

        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.setFixedWidth(210)
        self.nav.setIconSize(QSize(0, 0))
        self.nav.setStyleSheet("#nav { border: none; background: #eef1f6; font-size: 14px; padding-top: 8px; }"
                               "#nav::item { padding: 10px 12px; border-radius: 6px; margin: 2px 6px; }"
                               "#nav::item:selected { background: #2563eb; color: white; }")
        self.stack = QStackedWidget()
        for number, page in enumerate(self.pages, 1):
            item = QListWidgetItem(f"{number}   {page.title}")
            item.setToolTip(HINTS[page.title])
            item.setSizeHint(QSize(190, 44))
            self.nav.addItem(item)
            self.stack.addWidget(page)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.nav.setCurrentRow(0)

        self.heading = QLabel()
        self.heading.setStyleSheet("font-size: 18px; font-weight: 600; padding: 6px 4px;")
        self.stack.currentChanged.connect(self._show_heading)
        self._show_heading(0)
        right = QVBoxLayout()
        right.addWidget(self.heading)
        right.addWidget(self.stack, 1)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 8, 0)
        layout.addWidget(self.nav)
        layout.addLayout(right, 1)
        self.setCentralWidget(central)
        self._menus()
        state.project_changed.connect(lambda _p: self._update_title())
        self._update_title()

    def _show_heading(self, index: int) -> None:
        title = self.pages[index].title
        self.heading.setText(f"{title} <span style='font-size:13px; font-weight:400; color:#667085'>"
                             f"— {HINTS[title]}</span>")

    def _menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for text, shortcut, slot in (("&New project…", QKeySequence.StandardKey.New, self.new_project),
                                     ("&Open project…", QKeySequence.StandardKey.Open, self.open_project),
                                     ("&Quit", QKeySequence.StandardKey.Quit, self.close)):
            action = QAction(text, self)
            action.setShortcut(shortcut)
            action.triggered.connect(slot)
            file_menu.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        manual = QAction("User &manual", self)
        manual.triggered.connect(self.show_manual)
        help_menu.addAction(manual)
        about = QAction("&About Scriptorium", self)
        about.triggered.connect(lambda: QMessageBox.about(
            self, "About Scriptorium", f"Scriptorium {__version__}\nYour books → a tuned local language model."))
        help_menu.addAction(about)

    def _update_title(self) -> None:
        self.setWindowTitle(f"Scriptorium — {self.state.project.root.name}")
        self.statusBar().showMessage(f"Project folder: {self.state.project.root}")

    def _busy(self) -> bool:
        if self.state.jobs.running():
            QMessageBox.information(self, "Busy", "Wait for the running job to finish (or stop it) first.")
            return True
        return False

    def new_project(self) -> None:
        if self._busy():
            return
        folder = QFileDialog.getExistingDirectory(self, "Choose an empty folder for the new project")
        if folder:
            self.state.open_project(folder)

    def open_project(self) -> None:
        if self._busy():
            return
        folder = QFileDialog.getExistingDirectory(self, "Open a project folder")
        if folder:
            self.state.open_project(folder)

    def show_manual(self) -> None:
        viewer = QTextBrowser()
        viewer.setMarkdown(MANUAL.read_text(encoding="utf-8"))
        viewer.setWindowTitle("Scriptorium user manual")
        viewer.resize(720, 640)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        viewer.show()
        self._manual = viewer

    def closeEvent(self, event) -> None:
        if self.state.jobs.running():
            answer = QMessageBox.question(self, "Quit Scriptorium?",
                                          "A job is still running. Stop it and quit? A training run saves its adapter.")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self.state.jobs.stop_all()
        event.accept()
