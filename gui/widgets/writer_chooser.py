"""The writer model chooser: a path (empty: the base model), a Choose… menu, and what is wrong with it.

Bound to ``FormatConfig.writer`` through ConfigForm (it has ``text``/``setText`` like a line
edit). The menu offers a .gguf file, a Hugging Face model folder, or the base model; a path that
does not exist, a file that is not .gguf or a folder without config.json is named in a red line
under the field as soon as it is chosen or typed (``problem()``; the Format page also refuses
to preview or build with it).
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QLineEdit, QMenu, QPushButton, QVBoxLayout, QWidget

from gui.format_fields import writer_problem
from gui.i18n import tr


class WriterChooser(QWidget):
    """A line edit for the writer model with a Choose… menu and an inline problem line."""

    changed = Signal(str)   # the text after an edit or a choice

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit()
        self.edit.setObjectName("writerPath")
        self.edit.setPlaceholderText(tr("Same as the base model"))
        self.edit.editingFinished.connect(self._edited)
        self.choose = QPushButton(tr("Choose…"))
        self.choose.setObjectName("writerChoose")
        menu = QMenu(self.choose)
        menu.addAction(tr("A GGUF file…"), self.choose_file)
        menu.addAction(tr("A Hugging Face model folder…"), self.choose_folder)
        menu.addSeparator()
        menu.addAction(tr("Same as the base model"), self.use_base)
        self.choose.setMenu(menu)
        self.error = QLabel()
        self.error.setObjectName("writerProblem")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b3261e;")
        self.error.setVisible(False)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.choose)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addLayout(row)
        column.addWidget(self.error)

    # ---- the line edit's interface, for ConfigForm
    def text(self) -> str:
        return self.edit.text().strip()

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name: ConfigForm calls it like a QLineEdit's)
        self.edit.setText(text)
        self.check()

    def setToolTip(self, text: str) -> None:  # noqa: N802
        super().setToolTip(text)
        self.edit.setToolTip(text)

    # ---- choosing
    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, tr("Choose the writer model (GGUF)"), "",
                                              f"{tr('GGUF models')} (*.gguf)")
        if path:
            self._set(path)

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, tr("Choose the writer model (Hugging Face folder)"))
        if path:
            self._set(path)

    def use_base(self) -> None:
        self._set("")

    def _set(self, text: str) -> None:
        self.setText(text)
        self.changed.emit(self.text())

    def _edited(self) -> None:
        self.check()
        self.changed.emit(self.text())

    # ---- checking
    def problem(self) -> str:
        """What is wrong with the writer model as given ('' when nothing is)."""
        return writer_problem(self.text())

    def check(self) -> str:
        """Show (or clear) the problem under the field; returns it."""
        problem = self.problem()
        self.error.setText(problem)
        self.error.setVisible(bool(problem))
        return problem
