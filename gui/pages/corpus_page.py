"""Corpus page: drop files or folders, see each file's outcome, and what the corpus holds."""
from __future__ import annotations

import json
import time
from pathlib import Path

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QKeySequence
from PySide6.QtWidgets import (QDialog, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QMenu, QMessageBox,
                               QPlainTextEdit, QProgressBar, QPushButton, QSizePolicy, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from core.events import Event
from gui import theme
from gui.i18n import N_, tr
from gui.messages import tr_message
from gui.state import AppState
from gui.widgets.welcome import WelcomePanel

_STATUS = {"ok": (N_("Read"), "good"), "warning": (N_("Read, with warnings"), "warn"),
           "skipped": (N_("Already in corpus"), "grey"), "failed": (N_("Failed"), "error")}
_PATTERNS = "*.txt *.text *.md *.markdown *.html *.htm *.xhtml *.pdf *.epub *.fb2 *.zip *.docx *.odt *.rtf *.mobi " \
            "*.azw3 *.srt"


class CorpusPage(QWidget):
    title = N_("Corpus")

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self.job = None
        self._shown_at = 0.0  # when the table was last filled from files.json
        self.setAcceptDrops(True)

        self.drop_hint = QLabel(tr("Drop books and documents here\n(EPUB, FB2, PDF, DOCX, ODT, RTF, HTML, Markdown, "
                                   "text, .zip archives — or whole folders)"))
        self.drop_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_hint.setWordWrap(True)  # the list of formats must not set the window's minimum width
        self.drop_hint.setObjectName("dropZone")
        self.drop_hint.setMinimumHeight(110)
        self.drop_hint.setStyleSheet(f"#dropZone {{ border: 2px dashed {theme.color('panel_border')}; border-radius: 10px;"
                                     f" color: {theme.color('panel_text')}; font-size: 15px;"
                                     f" background: {theme.color('panel')}; }}")
        add_files = QPushButton(tr("Add files…"))
        add_files.clicked.connect(self.choose_files)
        add_folder = QPushButton(tr("Add folder…"))
        add_folder.clicked.connect(self.choose_folder)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.summary = QLabel()
        # "Reading <a long file name>" must not widen the window: the label takes the room there is
        # (the text is cut, the tooltip has all of it)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels([tr("File"), tr("Status"), tr("Chunks"), tr("Details")])
        for column in (0, 1, 2):  # file names and statuses (longer in Russian) are never cut
            self.table.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        # a long reason wraps onto as many lines as it needs instead of ending in "…"
        self.table.setWordWrap(True)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._menu)
        self.table.doubleClicked.connect(lambda index: self.show_text(index.row()))
        self.table.installEventFilter(self)   # Delete / Backspace on a selected book: remove it
        self.totals = QLabel()
        self.totals.setWordWrap(True)
        self._rows: list[dict] = []
        self._drawn: list[dict] = []   # the files.json rows the table shows now, to redraw only what changed
        self._viewers: list[QDialog] = []

        buttons = QHBoxLayout()
        buttons.addWidget(add_files)
        buttons.addWidget(add_folder)
        buttons.addWidget(self.summary, 1)
        self.welcome = WelcomePanel(state)
        layout = QVBoxLayout(self)
        layout.addWidget(self.welcome)
        layout.addWidget(self.drop_hint)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.totals)
        state.project_changed.connect(lambda _p: self.refresh())
        self.refresh()

    # ---- drag and drop
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths)

    def choose_files(self) -> None:
        name_filter = f"{tr('Books and documents')} ({_PATTERNS});;{tr('All files')} (*)"
        files, _ = QFileDialog.getOpenFileNames(self, tr("Add documents"), "", name_filter)
        if files:
            self.add_paths([Path(f) for f in files])

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, tr("Add a folder of documents"))
        if folder:
            self.add_paths([Path(folder)])

    # ---- the ingest job
    def add_paths(self, paths: list[Path]) -> None:
        if self.job is not None:
            self._say(tr("Still reading the previous files; drop again when done."))
            return
        project = self.state.project

        def job(report, cancel):
            from core.ingest.in_child import ingest_in_child  # the window never holds torch's GIL
            return ingest_in_child(project, paths, report, cancel)

        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self._say(tr("Preparing the tokenizer…"))
        self.job = self.state.jobs.start(job, self.on_event, self.on_done, self.on_failed)

    def _say(self, text: str) -> None:
        self.summary.setText(text)
        self.summary.setToolTip(text)

    def on_event(self, event: Event) -> None:
        if event.kind == "progress" and event.stage == "ingest":
            self.progress.setRange(0, max(event.data.get("total", 0), 1))
            self.progress.setValue(event.data.get("done", 0))
            self._say(tr_message(event.message))
            # files.json gains each outcome as its file is done: show them while the drop goes on
            # (at most twice a second, so a drop of thousands of files does not redraw per file)
            if event.data.get("done", 0) and time.monotonic() - self._shown_at > 0.5:
                self.refresh()
        elif event.kind == "log" and event.stage == "model":
            self._say(tr_message(event.message))

    def on_done(self, result) -> None:
        self.job = None
        self.progress.setVisible(False)
        self._stats = getattr(result, "stats", None)   # measured by the job: the refresh shows them as they are
        self.refresh()
        self._stats = None
        s = result.summary()
        self._say(tr("{read} read, {skipped} already there, {failed} failed", read=s["ingested"],
                                skipped=s["skipped"], failed=s["failed"]))
        self.state.corpus_changed.emit()

    def on_failed(self, message: str) -> None:
        self.job = None
        self.progress.setVisible(False)
        self._say(tr("Could not read the files: {message}", message=tr_message(message)))
        self.refresh()

    def refresh(self) -> None:
        """Show every file the project has seen, newest outcome per file (from corpus/files.json)."""
        self._shown_at = time.monotonic()
        path = self.state.project.corpus_dir / "files.json"
        rows = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
        self._rows = rows
        self.welcome.setVisible(not rows)  # a newcomer's empty project: the welcome and the sample
        if self.job is None:  # (the totals read every book's record: not twice a second during a drop)
            self._show_totals()
        # only rows that changed are redrawn: during a drop of hundreds of files a full refill twice a
        # second held the window up for a noticeable moment per refresh
        if len(self._drawn) > len(rows):
            self._drawn = []
        self.table.setUpdatesEnabled(False)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            if r < len(self._drawn) and self._drawn[r] == row:
                continue
            label, color = _STATUS.get(row["status"], (row["status"], "strong"))
            read = row["status"] in ("ok", "warning")
            # core writes the reason in English (files.json, the CLI); it is translated for display,
            # and the tooltip keeps the original under the translation (what a bug report quotes)
            reason = row["reason"] or ""
            translated = tr_message(reason)
            detail = _without_file_name(translated, reason, row["path"]) if reason else (
                tr("{tokens} tokens, {encoding}", tokens=row.get("tokens", 0),
                   encoding=row.get("encoding") or row.get("format", "")) if read else "")
            cells = [Path(row["path"]).name, tr(label), str(row.get("chunks", 0)) if read else "", detail]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                tip = row["path"] if c == 0 else text
                if c == 3 and translated != reason:
                    tip = f"{text}\n\n{reason}"
                item.setToolTip(tip)
                if c == 1:
                    item.setForeground(QColor(theme.color(color)))
                self.table.setItem(r, c, item)
            self._drawn[r:r + 1] = [row]
        self.table.setUpdatesEnabled(True)

    # ---- what the corpus holds, and taking books out of it
    def eventFilter(self, watched, event) -> bool:
        if watched is self.table and event.type() == QEvent.Type.KeyPress and (
                event.matches(QKeySequence.StandardKey.Delete) or event.key() == Qt.Key.Key_Backspace):
            self.remove_selected()
            return True
        return super().eventFilter(watched, event)

    _stats = None   # totals the finished ingest job measured (None: read them here)

    def _show_totals(self) -> None:
        from core.ingest.store import corpus_stats

        try:
            stats = self._stats or corpus_stats(self.state.project)
        except Exception:  # noqa: BLE001 — a damaged log: the table still shows what it can
            self.totals.clear()
            return
        languages = ", ".join(f"{lang or '?'}" for lang in sorted(stats.get("languages") or {}))
        self.totals.setText(tr("In the corpus — books: {books}, chunks: {chunks}, tokens: {tokens}; languages: {languages}",
                               books=stats["documents"], chunks=stats["chunks"], tokens=stats["tokens"],
                               languages=languages or "—"))

    def _book_of(self, row: int) -> dict | None:
        """The corpus record of the table row's book (None: a file that was not read, or no such row)."""
        from core.ingest.store import complete_documents

        if not 0 <= row < len(self._rows) or not self._rows[row].get("doc_id"):
            return None
        wanted = self._rows[row]["doc_id"]
        return next((d for d in complete_documents(self.state.project) if d.get("id") == wanted), None)

    def _menu(self, point) -> None:
        row = self.table.rowAt(point.y())
        if row < 0:
            return
        self.table.selectRow(row)
        menu = QMenu(self)
        readable = self._book_of(row) is not None   # (one read of the corpus log for both actions)
        view = menu.addAction(tr("Show the cleaned text"))
        view.setEnabled(readable)
        view.triggered.connect(lambda: self.show_text(row))
        remove = menu.addAction(tr("Remove from the corpus"))
        remove.setEnabled(readable and self.job is None)
        remove.triggered.connect(self.remove_selected)
        menu.popup(self.table.viewport().mapToGlobal(point))

    def show_text(self, row: int) -> QDialog | None:
        """The book's text as it will be trained on (after cleaning), in a window of its own."""
        from core.ingest.store import document_text

        record = self._book_of(row)
        if record is None:
            return None
        dialog = QDialog(self)
        dialog.setWindowTitle(tr("Cleaned text: {title}", title=record.get("title") or record.get("id")))
        text = QPlainTextEdit(document_text(record))
        text.setReadOnly(True)
        layout = QVBoxLayout(dialog)
        layout.addWidget(text)
        dialog.resize(720, 560)
        dialog.show()   # not modal: the user can keep working beside it
        self._viewers.append(dialog)
        return dialog

    def remove_selected(self) -> None:
        books = [b for b in (self._book_of(i.row()) for i in self.table.selectionModel().selectedRows()) if b]
        if not books or self.job is not None:
            return
        names = ", ".join(f"“{b.get('title') or b.get('id')}”" for b in books)
        answer = QMessageBox.question(self, tr("Remove from the corpus"),
                                      tr("Remove {names} from the corpus? Runs already trained keep what they learned; "
                                         "you can add the files again.", names=names))
        if answer != QMessageBox.StandardButton.Yes:
            return
        project, ids = self.state.project, [b["id"] for b in books]

        def job(report, cancel):
            from core.ingest.remove import remove_books
            return remove_books(project, ids)

        self._say(tr("Removing {names}…", names=names))
        self.job = self.state.jobs.start(job, None, self._removed, self.on_failed)

    def _removed(self, result: dict) -> None:
        self.job = None
        self.refresh()
        self._say(tr("Removed {names}", names=", ".join(f"“{b['title']}”" for b in result["removed"])))
        self.state.corpus_changed.emit()


def _without_file_name(text: str, reason: str, path: str) -> str:
    """``text`` (the shown ``reason``) without the "book.pdf: " core puts first: the File column says it.

    The prefix is the part of the English reason before a ": " that ends the file's path (a file
    name may hold ": " itself); the translation starts with the same prefix.
    """
    start = 0
    while (colon := reason.find(": ", start)) > 0:
        prefix = reason[:colon]
        if path.endswith(prefix) and text.startswith(prefix + ": "):
            rest = text[colon + 2:]
            return rest[:1].upper() + rest[1:] if rest else text
        start = colon + 1
    return text
