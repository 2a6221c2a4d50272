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
