"""Colours that follow the system's light or dark palette.

Widgets that colour text or panels themselves (muted hints, verdicts, the drop zone, plots) ask
here instead of writing a hex value: with a dark system palette a dark-grey hint on a dark window
was unreadable. Decided from the application palette when the widget is made (the palette is
the system's, or the one the user's desktop sets before the window opens).
"""
from __future__ import annotations

LIGHT = {"muted": "#667085", "soft": "#4b5563", "strong": "#1f2937", "error": "#b3261e", "good": "#1b7f3b",
         "warn": "#a15c00", "grey": "#666666", "nav": "#eef1f6", "panel": "#f7f9fc", "panel_border": "#9aa4b2",
         "panel_text": "#4a5568", "card": "#fbfcfe", "card_border": "#c9d3e0", "note": "#f2f6fc",
         "note_border": "#c7d7f2", "chosen": "#eef4ff", "plot_bg": "#ffffff", "plot_fg": "#333333"}
DARK = {"muted": "#9aa3b2", "soft": "#b4bcc8", "strong": "#e8eaed", "error": "#ff8a80", "good": "#7bd88f",
        "warn": "#ffb74d", "grey": "#a0a0a0", "nav": "#181b20", "panel": "#22262c", "panel_border": "#5b6472",
        "panel_text": "#c9d1dc", "card": "#22262c", "card_border": "#3a414c", "note": "#1e2a3d",
        "note_border": "#34507a", "chosen": "#1e2a3d", "plot_bg": "#15181c", "plot_fg": "#d0d4da"}


def dark() -> bool:
    from PySide6.QtGui import QGuiApplication, QPalette

    app = QGuiApplication.instance()
    if app is None:
        return False
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def color(name: str) -> str:
    return (DARK if dark() else LIGHT)[name]
