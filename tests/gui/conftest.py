"""GUI test setup: English UI and private Qt settings, whatever the machine's locale and saved choice.

Set at import, before any window is built: ``SCRIPTORIUM_LANG=en`` (tests find widgets by English
text; a Russian system locale must not change that), and QSettings pointed at a temporary folder
(the Language menu test saves a choice; the user's real settings stay untouched). Tests that need
Russian use the ``russian`` fixture, which switches back afterwards.
"""
from __future__ import annotations

import os
import tempfile

import pytest

os.environ["SCRIPTORIUM_LANG"] = "en"

try:
    from PySide6.QtCore import QSettings
except ImportError:  # the GUI tests skip themselves without Qt
    QSettings = None
else:
    _SETTINGS_DIR = tempfile.mkdtemp(prefix="scriptorium-test-qsettings-")
    for _format in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(_format, QSettings.Scope.UserScope, _SETTINGS_DIR)


@pytest.fixture
def russian(monkeypatch):
    """The UI in Russian for one test (widgets built inside it), English again afterwards."""
    from gui import i18n

    monkeypatch.setenv("SCRIPTORIUM_LANG", "ru")
    i18n.set_language(None)
    assert i18n.language() == "ru"
    yield
    i18n.set_language(None)   # the env var is restored after this: the next test decides again ("en")


@pytest.fixture(autouse=True)
def no_modal_dialogs(monkeypatch):
    """No test can block on a modal dialog nobody can click (offscreen, a message box waits for ever —
    a quit confirmation once hung the suite): questions answer Yes, messages are recorded, other
    dialogs are dismissed, file pickers return nothing. A test that wants to see what was said reads
    the list this fixture yields; one that patches a dialog itself overrides this."""
    if QSettings is None:
        yield []
        return
    from PySide6.QtWidgets import QDialog, QFileDialog, QInputDialog, QMessageBox

    said: list[tuple[str, str]] = []

    def message(answer):
        return lambda parent, title, text, *a, **k: said.append((title, text)) or answer

    monkeypatch.setattr(QMessageBox, "question", message(QMessageBox.StandardButton.Yes))
    for name in ("information", "warning", "critical"):
        monkeypatch.setattr(QMessageBox, name, message(QMessageBox.StandardButton.Ok))
    monkeypatch.setattr(QMessageBox, "exec", lambda box: said.append((box.windowTitle(), box.text())) or 0)
    monkeypatch.setattr(QDialog, "exec", lambda dialog: QDialog.DialogCode.Rejected)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: ("", ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([], ""))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: ("", ""))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: "")
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("", False))
    yield said
