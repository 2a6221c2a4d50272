"""The Russian UI: every string the GUI shows has a translation, and a window built in Russian is Russian.

The catalog check reads the source (ast), not a running window, so strings on rare paths (error
messages, dialogs) are covered too: every literal passed to ``tr``/``translate``/``N_`` under gui/
needs a non-empty Russian entry with the same {placeholders}, and every entry must still be used.
Config labels and help come from core.config at run time, so they are checked from the dataclasses;
the goals' names and trade-offs (core.formats.goals.DESCRIPTIONS, the Format page's cards) likewise.
"""
from __future__ import annotations

import ast
import dataclasses
import json
import re
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QCheckBox, QComboBox, QGroupBox, QLabel, QMessageBox, QPushButton  # noqa: E402

from core.config import STAGES  # noqa: E402
from core.formats.goals import DESCRIPTIONS  # noqa: E402
from core.project import Project  # noqa: E402
from gui import i18n  # noqa: E402
from gui.widgets.config_form import CHOICE_HINTS, label_for  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CATALOG = json.loads((ROOT / "resources" / "i18n" / "ru.json").read_text(encoding="utf-8"))
MARKERS = {"tr", "translate", "N_"}
CYRILLIC = re.compile("[А-Яа-яЁё]")
# Names and identifiers a Russian UI shows as they are (a label made only of these is fine).
KEEP = {"Scriptorium", "LoRA", "QLoRA", "rsLoRA", "DoRA", "Seed", "Top-p", "GGUF", "transformers", "PEFT",
        "llama.cpp", "Ollama", "SmolLM2-135M-Instruct"}


def gui_literals() -> dict[str, str]:
    """Every string literal marked for translation under gui/, with the file it is in."""
    found = {}
    for path in sorted((ROOT / "gui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in MARKERS:
                found.setdefault(node.args[0].value, str(path.relative_to(ROOT)))
    return found


def config_texts() -> set[str]:
    """The labels and help texts config forms show (every stage: a form for any of them needs no new work),
    and the goals' names and trade-offs the Format page shows."""
    texts = {text for pair in DESCRIPTIONS.values() for text in pair}
    for cls in STAGES.values():
        for f in dataclasses.fields(cls):
            texts.add(label_for(f.name))
            if f.metadata.get("help"):
                texts.add(f.metadata["help"])
    return texts


def english_only(text: str) -> bool:
    """Latin words and no Cyrillic, unless it is only names, identifiers (Q4_K_M, f16), numbers or paths."""
    plain = re.sub(r"<[^>]+>", " ", text)
    if CYRILLIC.search(plain) or not re.search("[A-Za-z]", plain):
        return False
    words = [w for w in re.findall(r"[\w./\\-]+", plain) if re.search("[A-Za-z]", w)]
    return any(w not in KEEP and not re.search(r"[\d_/\\]", w) for w in words)


# ---------------------------------------------------------------- the catalog
def test_marked_strings_are_found():
    literals = gui_literals()
    assert len(literals) > 150 and "Start training" in literals and "Corpus" in literals


@pytest.mark.parametrize("source", sorted(gui_literals()))
def test_gui_string_has_russian(source):
    russian = CATALOG.get(source, "")
    assert russian.strip(), f"no Russian for {source!r} ({gui_literals()[source]})"
    assert i18n.placeholders(russian) == i18n.placeholders(source), f"placeholders differ: {source!r} → {russian!r}"


def test_config_labels_and_help_have_russian():
    missing = sorted(t for t in config_texts() if not CATALOG.get(t, "").strip())
    assert not missing, f"config texts without Russian (add them to resources/i18n/ru.json): {missing}"
    for text in config_texts():
        assert i18n.placeholders(CATALOG[text]) == i18n.placeholders(text), text


def test_choice_hints_are_marked():
    hints = {hint for per_field in CHOICE_HINTS.values() for hint in per_field.values()}
    assert hints <= set(gui_literals())


def test_no_stale_entries():
    stale = sorted(set(CATALOG) - set(gui_literals()) - config_texts())
    assert not stale, f"ru.json entries no longer used: {stale}"


def test_russian_manual_has_the_same_sections():
    def outline(path: Path) -> list[str]:
        return [line.split(" ", 1)[0] for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")]

    assert outline(ROOT / "resources" / "i18n" / "manual.ru.md") == outline(ROOT / "resources" / "manual.md")


# ---------------------------------------------------------------- lookup and language choice
def test_lookup_formats_and_agrees_with_numbers():
    text = "{samples} samples · {tokens} tokens"
    assert i18n.translate(text, "en", samples=3, tokens=40) == "3 samples · 40 tokens"
    assert i18n.translate(text, "ru", samples=1, tokens=2) == "1 пример · 2 токена"
    assert i18n.translate(text, "ru", samples=5, tokens=21) == "5 примеров · 21 токен"
    assert i18n.translate(text, "ru", samples=12, tokens=104) == "12 примеров · 104 токена"
    assert i18n.translate("Not in the catalog {x}", "ru", x=1) == "Not in the catalog 1"
    assert i18n.translate("Check the settings: {error}", "ru") == "Проверьте настройки: {error}"  # no fmt: as is


def test_language_order_env_then_saved_then_system(monkeypatch):
    monkeypatch.setattr(i18n, "system_language", lambda: "ru")
    monkeypatch.delenv("SCRIPTORIUM_LANG")
    i18n.save_language("en")
    assert i18n.resolve_language() == "en"            # the saved choice beats the system locale
    monkeypatch.setenv("SCRIPTORIUM_LANG", "ru")
    assert i18n.resolve_language() == "ru"            # the environment beats the saved choice
    i18n._settings().remove(i18n.SETTINGS_KEY)
    monkeypatch.delenv("SCRIPTORIUM_LANG")
    assert i18n.resolve_language() == "ru"            # nothing set: the system locale


# ---------------------------------------------------------------- windows
@pytest.fixture
def make_window(qtbot, tmp_path):
    from gui.main_window import MainWindow
    from gui.state import AppState

    states = []

    def make():
        state = AppState(Project.open(tmp_path / "project"))
        states.append(state)
        window = MainWindow(state)
        qtbot.addWidget(window)
        window.show()
        return window

    yield make
    for state in states:
        state.jobs.stop_all()


def test_window_in_russian(russian, make_window):
    window = make_window()
    nav = [window.nav.item(i).text() for i in range(window.nav.count())]
    assert nav == ["1   Проект", "2   Корпус", "3   Формат", "4   Модель", "5   Обучение", "6   Результаты", "7   Чат",
                   "8   Экспорт", "9   Лаборатория"]
    assert all(CYRILLIC.search(window.nav.item(i).toolTip()) for i in range(window.nav.count()))
    assert [a.text() for a in window.menuBar().actions()] == ["&Файл", "Language / Язык", "&Справка"]
    english = []
    for index, page in enumerate(window.pages):
        window.nav.setCurrentRow(index)
        assert CYRILLIC.search(window.heading.text())
        for button in page.findChildren(QPushButton):
            assert CYRILLIC.search(button.text()), f"button {button.text()!r} on {page.title}"
        for widget in [w for kind in (QLabel, QCheckBox, QGroupBox) for w in page.findChildren(kind)]:
            text = widget.title() if isinstance(widget, QGroupBox) else widget.text()
            english += [f"{page.title}: {text!r}"] if english_only(text) else []
        for box in page.findChildren(QComboBox):
            if box.objectName().startswith("field_"):
                continue  # config choices are identifiers saved in the project (plain, qa, bf16 …)
            english += [f"{page.title}: {box.itemText(i)!r}" for i in range(box.count())
                        if english_only(box.itemText(i))]
    assert not english, f"English-only texts in the Russian window: {english}"
    plot = window.train_page.plot
    assert plot.getAxis("bottom").labelText == "шаг" and plot.getAxis("left").labelText == "потери"
    assert window.train_page.form.findChild(QLabel, "label_lr").text() == "Скорость обучения"
    assert "Отвечает" in [label.text() for label in window.chat_page.findChildren(QLabel)]


def test_window_in_english_by_default(make_window):
    window = make_window()
    assert window.nav.item(0).text() == "1   Project" and window.nav.item(1).text() == "2   Corpus"
    assert window.train_page.start_button.text() == "Start training"
    assert window.menuBar().actions()[0].text() == "&File"


def test_language_menu_saves_choice_and_asks_before_restarting(make_window, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box.text()) or 0)
    monkeypatch.delenv("SCRIPTORIUM_LANG")
    i18n.set_language("en")
    window = make_window()
    restarts = []
    monkeypatch.setattr(window, "restart", lambda: restarts.append(1))
    window.language_actions["ru"].trigger()
    assert i18n.saved_language() == "ru" and window.language_actions["ru"].isChecked()
    assert i18n.language() == "en"          # this window stays whole: the change applies on restart
    assert len(shown) == 1 and "перезапуска" in shown[0] and not restarts   # said in the chosen language
    window.language_actions["en"].trigger()  # back to the running language: nothing to restart
    assert i18n.saved_language() == "en" and len(shown) == 1


def test_language_menu_says_when_the_environment_decides(make_window, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box.text()) or 0)
    window = make_window()                   # SCRIPTORIUM_LANG=en from conftest
    window.language_actions["ru"].trigger()
    assert i18n.saved_language() == "ru" and "SCRIPTORIUM_LANG=en" in shown[-1]
    i18n.save_language("en")
