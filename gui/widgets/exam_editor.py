"""The exam as a table the user edits: questions, accepted answers, where each came from.

One row per ``core.evaluate.questions.Question`` of ``exam/exam.jsonl``: the question and its
accepted answers (any one counts; ``|`` between them) are editable; the book and chapter (the
sentence it was written from in the tooltip) and its origin are shown. Add, delete, import a TSV
or JSONL file, save (``core.evaluate.exam.save_exam``, which also writes exam.tsv) or revert.
An edited exam is the one every later evaluation and training run uses (the base model's answers
are asked again: they are cached per exam). Writing an exam from scratch (the base model asks)
is the Results page's job; this widget offers it through ``write_requested``.
"""
from __future__ import annotations

import dataclasses
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QMessageBox,
                               QPushButton, QSizePolicy, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from gui.i18n import N_, tr
from gui.messages import tr_message

ORIGINS = {"model": N_("written by the model"), "cloze": N_("fill in the blank"), "user": N_("you"),
           "file": N_("imported")}
QUESTION, ANSWERS, SOURCE, ORIGIN = range(4)
READ_ONLY = QColor("#667085")


class ExamEditor(QWidget):
    write_requested = Signal()   # the user asks for an exam written from the books (none yet)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = None
        self.dirty = False
        self._filling = False
        self.table = QTableWidget(0, 4)
        self.table.setObjectName("examTable")
        self.table.setHorizontalHeaderLabels([tr("Question"), tr("Accepted answers"), tr("Book / chapter"),
                                              tr("From")])
        self.table.horizontalHeaderItem(ANSWERS).setToolTip(tr("Any one of them counts; put | between them"))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QUESTION, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(ANSWERS, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(SOURCE, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(ORIGIN, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setColumnWidth(ANSWERS, 170)
        self.table.setColumnWidth(SOURCE, 130)
        self.table.setWordWrap(True)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed
                                   | QAbstractItemView.EditTrigger.AnyKeyPressed)
        self.table.itemChanged.connect(self._changed)

        self.add_button = QPushButton(tr("Add"))
        self.add_button.clicked.connect(self.add_row)
        self.delete_button = QPushButton(tr("Delete"))
        self.delete_button.clicked.connect(self.delete_rows)
        self.import_button = QPushButton(tr("Import…"))
        self.import_button.setToolTip(tr("Add questions from a file: TSV (question, tab, answers with | between "
                                         "them) or JSONL"))
        self.import_button.clicked.connect(self.choose_import)
        self.save_button = QPushButton(tr("Save"))
        self.save_button.clicked.connect(self.save)
        self.revert_button = QPushButton(tr("Revert"))
        self.revert_button.clicked.connect(self.reload)
        self.write_button = QPushButton(tr("Write it from my books"))
        self.write_button.setToolTip(tr("The base model writes questions from every book and chapter (fill-in-the-"
                                        "blank where it cannot)"))
        self.write_button.clicked.connect(self.write_requested.emit)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.delete_button, self.import_button, self.save_button, self.revert_button,
                       self.write_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)

    # ---- reading and showing
    def load(self, project) -> None:
        self.project = project
        self.reload()

    def reload(self) -> None:
        from core.evaluate.exam import exam_meta, load_exam
        from core.evaluate.questions import QuestionFileError

        self._filling = True
        self.table.setRowCount(0)
        problem = ""
        try:
            items = load_exam(self.project) if self.project is not None else []
        except QuestionFileError as exc:   # a hand-edited exam.jsonl that no longer reads
            items, problem = [], tr_message(str(exc))
        for item in items:
            self._append(item)
        self._filling = False
        written = bool(exam_meta(self.project)) if self.project is not None else False
        self.write_button.setVisible(not items and not written and not problem)
        self._set_dirty(False)
        if problem:
            self.status.setText(tr("The exam file cannot be read: {problem}", problem=problem))

    def reload_if_clean(self) -> None:
        """Show the exam on disk again (a job may have written it) unless the user has unsaved edits."""
        if not self.dirty:
            self.reload()

    def _append(self, item) -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        question = QTableWidgetItem(item.question)
        question.setData(Qt.ItemDataRole.UserRole, item)
        self.table.setItem(row, QUESTION, question)
        self.table.setItem(row, ANSWERS, QTableWidgetItem(" | ".join(item.answers)))
        source = QTableWidgetItem(" — ".join(x for x in (item.title, item.chapter) if x))
        if item.sentence:
            source.setToolTip(tr("Written from: {sentence}", sentence=item.sentence))
        origin = QTableWidgetItem(tr(ORIGINS[item.origin]) if item.origin in ORIGINS else item.origin)
        for cell in (source, origin):
            cell.setFlags(cell.flags() & ~Qt.ItemFlag.ItemIsEditable)
            cell.setForeground(READ_ONLY)
        self.table.setItem(row, SOURCE, source)
        self.table.setItem(row, ORIGIN, origin)
        return row

    def _counts(self) -> str:
        origins = [self._item(r).origin for r in range(self.table.rowCount())]
        n = len(origins)
        if not n:
            return tr("No exam yet. It is written from your books before the first training run or evaluation; "
                      "you can also add questions yourself.")
        return tr("{n} questions: {model} written by the model, {cloze} fill-in-the-blank, {other} added or "
                  "imported.", n=n, model=origins.count("model"), cloze=origins.count("cloze"),
                  other=n - origins.count("model") - origins.count("cloze"))

    def _set_dirty(self, dirty: bool) -> None:
        self.dirty = dirty
        self.save_button.setEnabled(dirty)
        self.revert_button.setEnabled(dirty)
        state = tr("Unsaved changes.") if dirty else ""
        self.status.setText(" ".join(x for x in (self._counts(), state) if x))

    def _changed(self, _cell) -> None:
        if not self._filling:
            self._set_dirty(True)

    def _item(self, row: int):
        from core.evaluate.questions import Question

        cell = self.table.item(row, QUESTION)
        item = cell.data(Qt.ItemDataRole.UserRole) if cell is not None else None
        return item if item is not None else Question("", [], origin="user")

    # ---- editing
    def add_row(self) -> None:
        from core.evaluate.questions import Question

        self._filling = True
        row = self._append(Question("", [], kind="exam", origin="user"))
        self._filling = False
        self._set_dirty(True)
        self.table.setCurrentCell(row, QUESTION)
        self.table.editItem(self.table.item(row, QUESTION))

    def delete_rows(self) -> None:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()}, reverse=True)
        if not rows and self.table.currentRow() >= 0:
            rows = [self.table.currentRow()]
        for row in rows:
            self.table.removeRow(row)
        if rows:
            self._set_dirty(True)

    def choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, tr("Import questions"), "",
                                              f"{tr('Question files')} (*.tsv *.txt *.jsonl *.json)")
        if path:
            self.import_file(path)

    def import_file(self, path: str) -> int:
        """Append the questions of a TSV/JSONL file; a bad file is said, naming it. Returns how many."""
        from core.evaluate.questions import QuestionFileError, load_questions

        try:
            items = load_questions(path, kind="exam")
        except QuestionFileError as exc:
            QMessageBox.warning(self, tr("Cannot import the questions"), tr_message(str(exc)))
            return 0
        self._filling = True
        for item in items:
            self._append(dataclasses.replace(item, id="", kind="exam", origin="file"))
        self._filling = False
        self._set_dirty(True)
        return len(items)

    def items(self) -> list:
        """The table as Question items (edits applied; book, chapter and sentence kept)."""
        from core.evaluate.questions import split_answers

        out, ids = [], set()
        for row in range(self.table.rowCount()):
            item = self._item(row)
            question = (self.table.item(row, QUESTION).text() if self.table.item(row, QUESTION) else "").strip()
            answers = split_answers(self.table.item(row, ANSWERS).text() if self.table.item(row, ANSWERS) else "")
            out.append(dataclasses.replace(item, question=question, answers=answers, kind="exam"))
            ids.add(item.id)
        number = 1
        for item in out:   # new rows get ids no other item has
            if not item.id:
                while f"exam-{number}" in ids:
                    number += 1
                item.id = f"exam-{number}"
                ids.add(item.id)
        return out

    def save(self) -> bool:
        """Write the exam (after checking every row has a question and an answer)."""
        from core.evaluate.exam import exam_meta, save_exam

        items = self.items()
        for row, item in enumerate(items):
            if not item.question or not item.answers:
                self.table.selectRow(row)
                QMessageBox.warning(self, tr("Cannot save the exam"),
                                    tr("Row {row} needs a question and at least one accepted answer.", row=row + 1))
                return False
        meta = exam_meta(self.project) or {"version": 1}
        meta["edited"] = time.strftime("%Y-%m-%d %H:%M:%S")
        save_exam(self.project, items, meta)
        self.reload()
        return True
