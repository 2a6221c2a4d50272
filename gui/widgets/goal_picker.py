"""What the user wants, asked first on the Format page: three cards, one per goal, with the trade-off.

Each card is a radio button with the goal's name and one line on what it gives and what it costs
(``core.formats.goals.DESCRIPTIONS``, shown through ``tr``). The whole card is clickable; the chosen
one is outlined. ``chosen`` fires only when the user picks a goal; ``set_goal`` (a project opening)
shows one without firing. Under the cards a note explains what the knowledge goal needs to know
about the writer model (the embedded 135M model writes weak restatements and no Russian).
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QFrame, QHBoxLayout, QLabel, QRadioButton, QSizePolicy, QVBoxLayout,
                               QWidget)

from core.formats.goals import DESCRIPTIONS, GOALS
from gui import theme
from gui.i18n import tr

CARD = ("QFrame#goalCard {{ border: 1px solid {border}; border-radius: 6px; background: {background}; }}"
        " QFrame#goalCard QLabel {{ background: transparent; border: none; }}")


def note_style() -> str:
    return (f"QLabel#goalNote {{ background: {theme.color('note')}; border: 1px solid {theme.color('note_border')};"
            f" border-left: 4px solid #2563eb; border-radius: 4px; color: {theme.color('strong')}; padding: 6px 8px; }}")


class GoalCard(QFrame):
    """One goal: its name as a radio button, the trade-off under it; a click anywhere chooses it."""

    def __init__(self, goal: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.goal = goal
        self.setObjectName("goalCard")
        name, tradeoff = DESCRIPTIONS[goal]
        self.radio = QRadioButton(tr(name))
        self.radio.setObjectName(f"goal_{goal}")
        self.radio.setStyleSheet("font-weight: 600;")
        self.about = QLabel(tr(tradeoff))
        self.about.setObjectName(f"goalAbout_{goal}")
        self.about.setWordWrap(True)
        self.about.setStyleSheet(f"color: {theme.color('soft')};")
        # wrapped text takes the width there is instead of setting the window's minimum width
        self.about.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.about.setMinimumWidth(100)
        column = QVBoxLayout(self)
        column.setContentsMargins(8, 6, 8, 8)
        column.setSpacing(2)
        column.addWidget(self.radio)
        column.addWidget(self.about)
        column.addStretch(1)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.mark(False)

    def mark(self, chosen: bool) -> None:
        border, background = ("#2563eb", theme.color("chosen")) if chosen else (theme.color("card_border"), "transparent")
        self.setStyleSheet(CARD.format(border=border, background=background))

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if event.button() == Qt.MouseButton.LeftButton and not self.radio.isChecked():
            self.radio.click()
        super().mousePressEvent(event)


class GoalPicker(QWidget):
    """The three goals side by side and the note for the chosen one."""

    chosen = Signal(str)   # the user picked this goal

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.question = QLabel(tr("What do you want the model to learn from your books?"))
        self.question.setStyleSheet("font-weight: 600;")
        self.question.setWordWrap(True)
        self.cards = {goal: GoalCard(goal) for goal in GOALS}
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        for card in self.cards.values():
            self.group.addButton(card.radio)
            card.radio.toggled.connect(lambda on, card=card: self._toggled(card, on))
        self.note = QLabel()
        self.note.setObjectName("goalNote")
        self.note.setWordWrap(True)
        self.note.setStyleSheet(note_style())
        self.note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.note.setMinimumWidth(120)
        self.note.setVisible(False)
        self._silent = False

        row = QHBoxLayout()
        row.setSpacing(8)
        for card in self.cards.values():
            row.addWidget(card, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.question)
        column.addLayout(row)
        column.addWidget(self.note)

    def goal(self) -> str:
        return next((goal for goal, card in self.cards.items() if card.radio.isChecked()), "custom")

    def set_goal(self, goal: str) -> None:
        """Show ``goal`` as chosen without telling anyone (the settings already say it)."""
        self._silent = True
        try:
            self.cards[goal].radio.setChecked(True)
        finally:
            self._silent = False
        for name, card in self.cards.items():
            card.mark(name == goal)

    def set_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def _toggled(self, card: GoalCard, on: bool) -> None:
        card.mark(on)
        if on and not self._silent:
            self.chosen.emit(card.goal)
