"""The main window: the stages as pages (Corpus, Format, Model, Train, Results, Chat, Export, Lab) in a side list.

Text is translated once, as the window is built (gui.i18n); the Language menu saves a choice and
offers a restart rather than re-translating live, so a window is never half in one language.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QProcess, QProcessEnvironment, QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QApplication, QFileDialog, QFrame, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QMainWindow, QMessageBox, QScrollArea, QStackedWidget, QTextBrowser, QVBoxLayout, QWidget)

from core import __version__
from core.child import set_background_priority
from core.demo import MANUAL
from core.project import ProjectError
from gui import i18n, theme
from gui.i18n import N_, tr
from gui.messages import tr_message
from gui.pages.chat_page import ChatPage
from gui.pages.corpus_page import CorpusPage
from gui.pages.export_page import ExportPage
from gui.pages.format_page import FormatPage
from gui.pages.lab_page import LabPage
from gui.pages.model_page import ModelPage
from gui.pages.project_page import ProjectPage
from gui.pages.results_page import ResultsPage
from gui.pages.train_page import TrainPage
from gui.state import AppState

HINTS = {"Project": N_("new, open, recent projects"), "Corpus": N_("your books and documents"), "Format": N_("how the model sees them"),
         "Model": N_("the base model"), "Train": N_("train a LoRA adapter"),
         "Results": N_("what it learned, what it lost"), "Chat": N_("talk to the result"),
         "Export": N_("GGUF for llama.cpp and Ollama"), "Lab": N_("which data teaches; merged adapters")}
MANUAL_RU = i18n.CATALOG_DIR / "manual.ru.md"


class MainWindow(QMainWindow):
    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self.resize(1100, 720)
        set_background_priority(10)  # training, evaluating, reading: children yield the CPU to the window
        self.project_page = ProjectPage(state)
        self.corpus_page = CorpusPage(state)
        self.format_page = FormatPage(state)
        self.model_page = ModelPage(state)
        self.train_page = TrainPage(state, self.format_page.config)
        self.results_page = ResultsPage(state)
        self.chat_page = ChatPage(state)
        self.export_page = ExportPage(state)
        self.lab_page = LabPage(state)
        self.pages = [self.project_page, self.corpus_page, self.format_page, self.model_page, self.train_page, self.results_page,
                      self.chat_page, self.export_page, self.lab_page]

        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.setFixedWidth(210)
        self.nav.setIconSize(QSize(0, 0))
        self.nav.setStyleSheet(f"#nav {{ border: none; background: {theme.color('nav')}; font-size: 14px; "
                               "padding-top: 8px; }"
                               "#nav::item { padding: 10px 12px; border-radius: 6px; margin: 2px 6px; }"
                               "#nav::item:selected { background: #2563eb; color: white; }")
        self.stack = QStackedWidget()
        for number, page in enumerate(self.pages, 1):
            item = QListWidgetItem(f"{number}   {tr(page.title)}")
            item.setToolTip(tr(HINTS[page.title]))
            item.setSizeHint(QSize(190, 44))
            self.nav.addItem(item)
            # each page scrolls when the window is smaller than the page's natural size (a laptop
            # at 900×600, long Russian labels) instead of forcing the window wider or taller
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setWidget(page)
            self.stack.addWidget(scroll)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        # an empty project opens on its books (the welcome and the sample project are there); one
        # with books on the Project page: what it holds, and the way to the others
        self.nav.setCurrentRow(self.pages.index(self.project_page if self._has_books() else self.corpus_page))

        self.heading = QLabel()
        self.heading.setStyleSheet("font-size: 18px; font-weight: 600; padding: 6px 4px;")
        self.stack.currentChanged.connect(self._show_heading)
        self._show_heading(self.stack.currentIndex())
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
        self._gpu_hint()
        state.project_changed.connect(lambda _p: self._update_title())
        state.show_results.connect(lambda _run: self.nav.setCurrentRow(self.pages.index(self.results_page)))
        self._update_title()

    def _has_books(self) -> bool:
        return (self.state.project.corpus_dir / "chunks.jsonl").exists()

    def _show_heading(self, index: int) -> None:
        title = self.pages[index].title
        self.heading.setText(f"{tr(title)} <span style='font-size:13px; font-weight:400; color:{theme.color('muted')}'>"
                             f"— {tr(HINTS[title])}</span>")

    def _menus(self) -> None:
        file_menu = self.menuBar().addMenu(tr("&File"))
        for text, shortcut, slot in ((tr("&New project…"), QKeySequence.StandardKey.New, self.new_project),
                                     (tr("&Open project…"), QKeySequence.StandardKey.Open, self.open_project),
                                     (tr("&Quit"), QKeySequence.StandardKey.Quit, self.close)):
            action = QAction(text, self)
            action.setShortcut(shortcut)
            action.triggered.connect(slot)
            file_menu.addAction(action)
        self._language_menu()
        help_menu = self.menuBar().addMenu(tr("&Help"))
        manual = QAction(tr("User &manual"), self)
        manual.triggered.connect(self.show_manual)
        help_menu.addAction(manual)
        about = QAction(tr("&About Scriptorium"), self)
        about.triggered.connect(lambda: QMessageBox.about(
            self, tr("About Scriptorium"),
            tr("Scriptorium {version}\nYour books → a tuned local language model.", version=__version__)))
        help_menu.addAction(about)

    def _language_menu(self) -> None:
        # Both languages in the title and each language in its own words: findable by someone who
        # cannot read the current one.
        menu = self.menuBar().addMenu("Language / Язык")
        menu.setObjectName("languageMenu")
        group = QActionGroup(self)
        chosen = i18n.saved_language() or i18n.language()
        self.language_actions: dict[str, QAction] = {}
        for code, name in i18n.LANGUAGES.items():
            action = QAction(name, self, checkable=True, checked=code == chosen)
            action.setObjectName(f"language_{code}")
            action.triggered.connect(lambda _checked=False, code=code: self.choose_language(code))
            group.addAction(action)
            menu.addAction(action)
            self.language_actions[code] = action

    def choose_language(self, lang: str) -> None:
        """Save the UI language; it applies from the next start (offered right away when idle)."""
        i18n.save_language(lang)
        forced = os.environ.get(i18n.ENV_VAR, "").strip().lower()
        forced = forced if forced in i18n.LANGUAGES else ""
        if forced == lang or (not forced and lang == i18n.language()):
            return
        # Told in the chosen language: that is the one the user reads best.
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Information)
        box.setWindowTitle(i18n.translate("Language", lang))
        restart = None
        if forced:
            box.setText(i18n.translate("Saved. The environment variable {var}={value} is set, and it takes "
                                       "precedence: unset it to use this choice.", lang, var=i18n.ENV_VAR,
                                       value=forced))
        else:
            box.setText(i18n.translate("The new language applies after Scriptorium restarts.", lang))
            restart = box.addButton(i18n.translate("Restart now", lang), QMessageBox.ButtonRole.AcceptRole)
            box.addButton(i18n.translate("Later", lang), QMessageBox.ButtonRole.RejectRole)
        box.exec()
        clicked = box.clickedButton()
        box.deleteLater()
        if restart is not None and clicked is restart:
            self.restart()

    def restart(self) -> None:
        """Start a new app on the open project, then quit (close() asks first if a job is running)."""
        if not self.close():
            return
        from core.program import frozen
        process = QProcess()
        process.setProgram(sys.executable)
        process.setArguments(sys.argv[1:] if frozen() else sys.argv)  # a bundle is its own interpreter
        env = QProcessEnvironment.systemEnvironment()
        env.insert("SCRIPTORIUM_PROJECT", str(self.state.project.root))
        process.setProcessEnvironment(env)
        process.startDetached()
        QApplication.quit()

    def _gpu_hint(self) -> None:
        """An NVIDIA GPU this CPU build of torch cannot use: a lasting note in the status bar (details on hover)."""
        from core.firstrun import gpu_hint

        hint = gpu_hint()
        if hint:
            note = QLabel(tr("GPU found: get the CUDA build to train faster"))
            note.setToolTip(tr_message(hint))
            note.setStyleSheet(f"color: {theme.color('warn')};")
            self.statusBar().addPermanentWidget(note)
            self.gpu_note = note

    def _update_title(self) -> None:
        self.setWindowTitle(f"Scriptorium — {self.state.project.root.name}")
        self.statusBar().showMessage(tr("Project folder: {path}", path=self.state.project.root))

    def _busy(self) -> bool:
        if self.state.jobs.running():
            QMessageBox.information(self, tr("Busy"), tr("Wait for the running job to finish (or stop it) first."))
            return True
        return False

    def new_project(self) -> None:
        if self._busy():
            return
        # a save dialog: the user types the new project's name where it should go (a folder picker
        # only takes folders that exist, and said "Directory not found" to a typed new name)
        folder, _ = QFileDialog.getSaveFileName(self, tr("New project: its place and name"),
                                                str(self.state.project.root.parent / tr("New project")))
        if folder:
            if Path(folder).exists() and any(Path(folder).iterdir()) and not (Path(folder) / "project.yaml").exists():
                QMessageBox.warning(self, tr("Cannot open the project"),
                                    tr("{path} is a folder with other files in it; choose a new name",
                                       path=folder))
                return
            self._open(folder)

    def open_project(self) -> None:
        if self._busy():
            return
        folder = QFileDialog.getExistingDirectory(self, tr("Open a project folder"))
        if folder:
            self._open(folder)

    def _open(self, folder: str) -> None:
        """Open (or create) the project in ``folder``; a folder that cannot be one is said, not raised."""
        try:
            self.state.open_project(folder)
        except (ProjectError, OSError) as exc:
            QMessageBox.warning(self, tr("Cannot open the project"), tr_message(str(exc)))

    def show_manual(self) -> None:
        viewer = QTextBrowser()
        # resources/manual.md stays English (it is also the demo's training text); the Russian
        # manual lives with the translations.
        manual = MANUAL_RU if i18n.language() == "ru" and MANUAL_RU.exists() else MANUAL
        viewer.setMarkdown(manual.read_text(encoding="utf-8"))
        viewer.setWindowTitle(tr("Scriptorium user manual"))
        viewer.resize(720, 640)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        viewer.show()
        self._manual = viewer

    def closeEvent(self, event) -> None:
        if self.state.jobs.running():
            answer = QMessageBox.question(self, tr("Quit Scriptorium?"),
                                          tr("A job is still running. Stop it and quit? A training run saves its "
                                             "adapter."))
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self.state.jobs.stop_all()
        self.export_page.serve.stop()  # the server is the app's child: it ends with the window
        event.accept()
