"""Project page, the first step: the open project at a glance, a new one, and the recent ones.

New project: a name and a place (the folder is created; a folder with other files is refused with
a message). Open: any project folder. Recent projects (QSettings, newest first) each show their
books, runs and best result (``core.overview``, small files only, so the list fills at once);
double-click or "Open" switches to one — everything else (plots, results, chats) is read from the
project folder by the pages, so reopening restores it. A folder that is gone says so and can be
removed from the list.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QMessageBox, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from core.project import ProjectError
from gui import theme
from gui.i18n import N_, tr
from gui.messages import tr_message, tr_sentences
from gui.state import AppState, forget_project, recent_projects

COLUMNS = (N_("Project"), N_("Books"), N_("Runs"), N_("Best result"), N_("Folder"))


class ProjectPage(QWidget):
    title = N_("Project")

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self.current = QLabel()
        self.current.setWordWrap(True)
        self.current.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.name = QLineEdit()
        self.name.setPlaceholderText(tr("e.g. My novels"))
        self.name.returnPressed.connect(self.create)
        self.location = QLineEdit(str(state.project.root.parent))
        browse = QPushButton(tr("Choose…"))
        browse.clicked.connect(self.choose_location)
        where = QHBoxLayout()
        where.addWidget(self.location, 1)
        where.addWidget(browse)
        self.create_button = QPushButton(tr("Create project"))
        self.create_button.clicked.connect(self.create)
        new_form = QFormLayout()
        new_form.addRow(tr("Name"), self.name)
        new_form.addRow(tr("Location"), where)
        new_form.addRow("", self.create_button)
        new_box = QGroupBox(tr("New project"))
        new_box.setLayout(new_form)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([tr(c) for c in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.cellDoubleClicked.connect(lambda row, _col: self.open_row(row))
        self.open_button = QPushButton(tr("Open"))
        self.open_button.clicked.connect(lambda: self.open_row(self.table.currentRow()))
        self.forget_button = QPushButton(tr("Remove from list"))
        self.forget_button.setToolTip(tr("Only the list entry goes; the project folder stays on disk"))
        self.forget_button.clicked.connect(self.forget_row)
        browse_open = QPushButton(tr("Open another project…"))
        browse_open.clicked.connect(self.open_other)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.forget_button)
        buttons.addStretch(1)
        buttons.addWidget(browse_open)
        recent = QVBoxLayout()
        recent.addWidget(self.table, 1)
        recent.addLayout(buttons)
        recent_box = QGroupBox(tr("Recent projects"))
        recent_box.setLayout(recent)

        layout = QVBoxLayout(self)
        layout.addWidget(self.current)
        layout.addWidget(new_box)
        layout.addWidget(recent_box, 1)
        # refreshed when shown: the overview reads every book's record, work the window need not do
        # at the end of each drop or run while another page is in front
        state.project_changed.connect(lambda _p: self.refresh_later())
        state.corpus_changed.connect(self.refresh_later)
        state.run_finished.connect(lambda _run: self.refresh_later())
        self.stale = False
        self.refresh()

    def refresh_later(self) -> None:
        if self.isVisible():
            self.refresh()
        else:
            self.stale = True

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.stale:
            self.refresh()

    def refresh(self) -> None:
        self.stale = False
        from core.overview import overview

        here = overview(self.state.project.root)
        self.current.setText(
            f"<span style='font-size:15px'><b>{_html(here.name)}</b></span><br>"
            f"<span style='color:{theme.color('muted')}'>{_html(here.folder)}</span><br>"
            + _summary(here))
        self.rows = [overview(p) for p in recent_projects()]
        self.table.setRowCount(len(self.rows))
        for row, view in enumerate(self.rows):
            cells = (view.name, str(view.books) if view.exists else "—", str(view.runs) if view.exists else "—",
                     _first_sentence(tr_sentences(view.best)) if view.exists else tr_message(view.problem), view.folder)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if not view.exists:
                    item.setForeground(_muted())
                self.table.setItem(row, col, item)
        current = next((i for i, v in enumerate(self.rows) if Path(v.folder) == self.state.project.root), -1)
        self.table.selectRow(current) if current >= 0 else self.table.clearSelection()

    def choose_location(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, tr("Where the new project goes"), self.location.text())
        if folder:
            self.location.setText(folder)

    def create(self) -> None:
        name = self.name.text().strip()
        if not name or any(c in name for c in '/\\:*?"<>|') or name in (".", ".."):
            QMessageBox.warning(self, tr("New project"), tr("Type a name for the project (no / \\ : * ? \" < > |)."))
            return
        folder = Path(self.location.text().strip() or str(self.state.project.root.parent)).expanduser() / name
        if folder.exists() and any(folder.iterdir()) and not (folder / "project.yaml").exists():
            QMessageBox.warning(self, tr("Cannot open the project"),
                                tr("{path} is a folder with other files in it; choose a new name", path=folder))
            return
        if self._open(folder):
            self.name.clear()

    def open_other(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, tr("Open a project folder"))
        if folder:
            self._open(Path(folder))

    def open_row(self, row: int) -> None:
        if not 0 <= row < len(self.rows):
            return
        view = self.rows[row]
        if not view.exists:
            QMessageBox.warning(self, tr("Cannot open the project"),
                                tr("{path}: {problem}", path=view.folder, problem=tr_message(view.problem)))
            return
        self._open(Path(view.folder))

    def forget_row(self) -> None:
        row = self.table.currentRow()
        if 0 <= row < len(self.rows) and Path(self.rows[row].folder) != self.state.project.root:
            forget_project(self.rows[row].folder)
            self.refresh()

    def _open(self, folder: Path) -> bool:
        if self.state.jobs.running():
            QMessageBox.information(self, tr("Busy"), tr("Wait for the running job to finish (or stop it) first."))
            return False
        try:
            self.state.open_project(folder)
        except (ProjectError, OSError) as exc:
            QMessageBox.warning(self, tr("Cannot open the project"), tr_message(str(exc)))
            return False
        return True


def _summary(view) -> str:
    if view.problem:
        return tr_message(view.problem)
    parts = [tr("books: {n}", n=view.books), tr("tokens: {n}", n=f"{view.tokens:,}"),
             tr("runs: {n}", n=view.runs)]
    if view.languages:
        parts.append(tr("languages: {languages}", languages=", ".join(view.languages)))
    line = " · ".join(parts)
    if view.best:
        line += "<br>" + tr("Latest result: {result}", result=_html(tr_sentences(view.best)))
    return line


def _first_sentence(text: str) -> str:
    return text.split(". ")[0].rstrip(".") + "." if text else ""


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _muted():
    from PySide6.QtGui import QColor
    return QColor(theme.color("muted"))
