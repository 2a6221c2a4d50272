"""The GUI's translations: ``tr("English text", **fmt)`` gives the text in the UI language.

English source strings are the keys; ``resources/i18n/<lang>.json`` maps them to the translation
(a missing entry falls back to English, so a new string never breaks the window). Lookup is plain
Python; Qt is imported only to read the saved choice, the system locale and Qt's own dialog
translations, and only when those are asked for.

The language is, in this order: ``SCRIPTORIUM_LANG`` (``ru`` or ``en``), the choice saved from the
Language menu (QSettings, the same organisation/application names ``gui.app`` gives Qt), the system
locale. It is decided once per process: the window is built in one language (switching asks for a
restart), so no window is ever half translated.

Placeholders are ``str.format`` fields with the same names in both languages. A field may carry
plural forms instead of a format spec — ``{steps:шаг|шага|шагов}`` (Russian: one, few, many;
English: one, other) — so a translation can agree with a number without code knowing the rules.
Strings stored in module constants are marked with ``N_`` (the gettext convention): the mark
returns the text unchanged, the tests collect it, and ``tr`` translates it where it is shown.
"""
from __future__ import annotations

import json
import logging
import os
import string
from functools import lru_cache
from pathlib import Path

import resources

LANGUAGES = {"en": "English", "ru": "Русский"}
ENV_VAR = "SCRIPTORIUM_LANG"
SETTINGS_KEY = "ui/language"
ORGANIZATION = APPLICATION = "Scriptorium"   # as gui.app names the app for QSettings
CATALOG_DIR = Path(resources.__file__).resolve().parent / "i18n"

_language: str | None = None
log = logging.getLogger(__name__)


def N_(text: str) -> str:
    """Mark ``text`` for translation where it is defined; ``tr`` translates it where it is shown."""
    return text


# ---------------------------------------------------------------- which language
def language() -> str:
    """The UI language of this process ("en" or "ru"), decided on first use."""
    global _language
    if _language is None:
        _language = resolve_language()
    return _language


def set_language(lang: str | None) -> None:
    """Use ``lang`` from now on (None: decide again on next use). Widgets already built keep their text."""
    global _language
    if lang is not None and lang not in LANGUAGES:
        raise ValueError(f"unknown UI language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    _language = lang


def resolve_language() -> str:
    env = os.environ.get(ENV_VAR, "").strip().lower()
    if env in LANGUAGES:
        return env
    return saved_language() or system_language()


def _settings():
    from PySide6.QtCore import QSettings

    return QSettings(ORGANIZATION, APPLICATION)


def private_settings(folder: str) -> None:
    """This process's QSettings live in ``folder``: a bench or the screenshot tool opens windows on
    throw-away projects, which must not become the user's last or recent projects."""
    from PySide6.QtCore import QSettings

    for kind in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(kind, QSettings.Scope.UserScope, folder)


def saved_language() -> str | None:
    """The choice saved from the Language menu, if any (None also where Qt is missing)."""
    try:
        value = _settings().value(SETTINGS_KEY)
    except ImportError:
        return None
    return value if value in LANGUAGES else None


def save_language(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown UI language {lang!r}")
    settings = _settings()
    settings.setValue(SETTINGS_KEY, lang)
    settings.sync()


def system_language() -> str:
    try:
        from PySide6.QtCore import QLocale

        name = QLocale.system().name()
    except ImportError:   # headless tools without Qt: the POSIX locale variables say the same
        name = os.environ.get("LC_ALL") or os.environ.get("LC_MESSAGES") or os.environ.get("LANG") or ""
    return "ru" if name.lower().startswith("ru") else "en"


# ---------------------------------------------------------------- lookup
@lru_cache(maxsize=None)
def catalog(lang: str) -> dict[str, str]:
    """English → ``lang`` strings ({} for English, or when the file is missing or broken)."""
    if lang == "en":
        return {}
    path = CATALOG_DIR / f"{lang}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # an untranslated window beats no window
        log.warning("UI translations %s not loaded: %s", path, exc)
        return {}


def plural_form(lang: str, n: float, forms: list[str]) -> str:
    """The form of a noun for ``n``: Russian one/few/many (1 шаг, 2 шага, 5 шагов), English one/other."""
    if lang == "ru" and len(forms) == 3:
        if n != int(n):
            return forms[1]   # fractions take the genitive singular: 2,5 шага
        n = abs(int(n))
        if n % 10 == 1 and n % 100 != 11:
            return forms[0]
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            return forms[1]
        return forms[2]
    return forms[0] if n == 1 else forms[-1]


class _Formatter(string.Formatter):
    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang

    def format_field(self, value, format_spec: str) -> str:
        if "|" in format_spec and isinstance(value, (int, float)):
            return plural_form(self.lang, value, format_spec.split("|"))
        return super().format_field(value, format_spec)


def translate(text: str, lang: str, **fmt) -> str:
    """``text`` in ``lang`` with ``fmt`` filled in; a broken translation falls back to English."""
    translated = catalog(lang).get(text) or text
    if not fmt:
        return translated
    try:
        return _Formatter(lang).format(translated, **fmt)
    except (KeyError, IndexError, ValueError) as exc:
        log.warning("translation of %r does not format: %s", text, exc)
        return _Formatter("en").format(text, **fmt)


def tr(text: str, **fmt) -> str:
    """``text`` in the UI language, with ``fmt`` filled into its {placeholders}."""
    return translate(text, language(), **fmt)


def placeholders(text: str) -> set[str]:
    """Names of the {fields} in ``text`` (the tests check a translation keeps the same ones)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


# ---------------------------------------------------------------- Qt's own strings
def install_qt_translations(app) -> None:
    """Qt's dialogs and standard buttons (Cancel, Yes, file dialogs, context menus) in the UI language."""
    from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator

    lang = language()
    if lang == "en":
        return
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    for name in ("qtbase",):
        translator = QTranslator(app)   # parented: it must live as long as the app
        if translator.load(QLocale(lang), name, "_", folder):
            app.installTranslator(translator)
        else:
            log.info("no Qt translation %s_%s in %s", name, lang, folder)


__all__ = ["LANGUAGES", "N_", "install_qt_translations", "language", "save_language", "set_language", "tr",
           "translate"]
