"""An evaluation shown to a person: the verdict in large text, the warnings set apart, the numbers.

``VerdictBox`` (also on the Train page, smaller): the verdict sentence, each warning in its own
amber box (what went wrong and what to try), and a grey footnote (which checkpoint is used), which
may end in a link (``link_clicked``).
``ResultsView``: a VerdictBox above a table of base vs tuned (``gui.evaluation.result_rows``) and
the note on what the exam was trained on. Both only render what they are given; reading files
and running evaluations is the Results page's job.
"""
from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QScrollArea, QSizePolicy, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from gui import theme
from gui.evaluation import Row, header_text, note_text, result_rows, verdict_text, warning_texts
from gui.i18n import tr
from gui.messages import SENTENCE_BREAK

GOOD, BAD = "#1b7f3b", "#b3261e"
WARNING_STYLE = ("QLabel#warning { background: #fff4e5; border: 1px solid #f3c27a; border-left: 4px solid #d97706;"
                 " border-radius: 4px; color: #6b3a00; padding: 6px 8px; }")


def _label(object_name: str, style: str = "", rich: bool = False) -> QLabel:
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    label.setObjectName(object_name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction if rich
                                  else Qt.TextInteractionFlag.TextSelectableByMouse)
    # wrapped text takes the width there is instead of setting the window's minimum width
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setMinimumWidth(120)
    if style:
        label.setStyleSheet(style)
    return label


class VerdictBox(QWidget):
    """Verdict, warnings, footnote; hidden while all three are empty. ``brief``: each warning shows its
    first sentence (what went wrong) and has the rest (what to try) in its tooltip."""

    link_clicked = Signal()

    def __init__(self, verdict_px: int = 17, brief: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.brief = brief
        self.verdict = _label("verdict", f"font-size: {verdict_px}px; font-weight: 600; color: {theme.color('strong')};")
        self.warnings: list[QLabel] = []
        self.footnote = _label("footnote", f"color: {theme.color('soft')};", rich=True)
        self.footnote.linkActivated.connect(lambda _href: self.link_clicked.emit())
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 2, 0, 2)
        self.layout_.setSpacing(6)
        self.layout_.addWidget(self.verdict)
        self.layout_.addWidget(self.footnote)
        self.setVisible(False)

    def show_texts(self, verdict: str, warnings: list[str], footnote: str = "", link: str = "") -> None:
        self.verdict.setText(verdict)
        self.verdict.setVisible(bool(verdict))
        for label in self.warnings:
            self.layout_.removeWidget(label)
            label.deleteLater()
        self.warnings = []
        for number, text in enumerate(warnings):
            label = _label("warning", WARNING_STYLE)
            label.setProperty("full", text)
            shown = SENTENCE_BREAK.split(text, maxsplit=1)[0] if self.brief else text
            label.setText(f"⚠ {shown}")
            if shown != text:
                label.setToolTip(text)
            self.layout_.insertWidget(1 + number, label)
            self.warnings.append(label)
        parts = [html.escape(footnote)] if footnote else []
        if link:
            parts.append(f"<a href='#more'>{html.escape(link)}</a>")
        self.footnote.setText(" &nbsp;".join(parts))
        self.footnote.setVisible(bool(parts))
        self.setVisible(bool(verdict or warnings or parts))

    def warning_texts(self) -> list[str]:
        return [label.property("full") for label in self.warnings]


class VerdictPane(QScrollArea):
    """A brief VerdictBox that scrolls: in a small window (or in Russian) it is never cut off, and
    whoever holds it decides its height (``needed_height`` says what it would like)."""

    def __init__(self, verdict_px: int = 14, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = VerdictBox(verdict_px, brief=True)
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 4, 0)
        column.addWidget(self.box)
        column.addStretch(1)
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setMinimumHeight(40)
        self.setVisible(False)

    def show_texts(self, verdict: str, warnings: list[str], footnote: str = "", link: str = "") -> None:
        self.box.show_texts(verdict, warnings, footnote, link)
        self.setVisible(bool(verdict or warnings or footnote))

    def needed_height(self, width: int) -> int:
        content = self.widget()
        return content.heightForWidth(width) if content.hasHeightForWidth() else content.sizeHint().height()


class ResultsView(QWidget):
    """One evaluation summary (``core.evaluate.evaluate``'s dict) as header, verdict, table and notes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.header = _label("header", f"color: {theme.color('muted')};")
        self.box = VerdictBox(19)
        self.table = QTableWidget(0, 4)
        self.table.setObjectName("resultsTable")
        self.table.setHorizontalHeaderLabels([tr("What"), tr("Base model"), tr("Tuned"), tr("Change")])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(True)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setAlternatingRowColors(True)
        self.note = _label("note", f"color: {theme.color('muted')};")
        self.empty = _label("empty", f"color: {theme.color('soft')}; font-size: 14px;")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(8)
        layout.addWidget(self.empty)
        layout.addWidget(self.header)
        layout.addWidget(self.box)
        layout.addWidget(self.table)
        layout.addWidget(self.note)
        layout.addStretch(1)
        self.rows: list[Row] = []
        self.show_empty("")

    def show_empty(self, text: str) -> None:
        """No evaluation to show: ``text`` says why and what to do."""
        self.rows = []
        self.empty.setText(text)
        self.empty.setVisible(bool(text))
        for widget in (self.header, self.box, self.table, self.note):
            widget.setVisible(False)

    def show_summary(self, summary: dict, floor: float = 0.9, extra_note: str = "") -> None:
        self.empty.setVisible(False)
        self.header.setText(header_text(summary))
        self.header.setVisible(True)
        self.box.show_texts(verdict_text(summary), warning_texts(summary))
        self.rows = result_rows(summary, floor)
        self.table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            for c, text in enumerate((row.label, row.base, row.tuned, row.change)):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if row.tip:
                    item.setToolTip(row.tip)
                if c == 3 and row.good is not None:
                    item.setForeground(QColor(GOOD if row.good else BAD))
                self.table.setItem(r, c, item)
        self.table.setVisible(bool(self.rows))
        self._fit_table()
        note = " ".join(x for x in (note_text(summary), extra_note) if x)
        self.note.setText(note)
        self.note.setVisible(bool(note))

    def _fit_table(self) -> None:
        """As tall as its rows: the page scrolls, the table never does."""
        self.table.resizeRowsToContents()
        height = self.table.horizontalHeader().sizeHint().height() + 2 * self.table.frameWidth()
        height += sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        self.table.setFixedHeight(height + 2)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.rows:
            self._fit_table()

    def cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item else ""
