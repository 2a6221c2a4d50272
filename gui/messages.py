"""Core's messages in the UI language: ``tr_message(text)`` for text the GUI shows but core wrote.

core/ stays English (the CLI and the logs print it), yet its sentences reach the window verbatim:
per-file outcome reasons and warnings on the Corpus page, errors of jobs (``Job.failed``), progress
and log lines. They are translated here, on the way to the screen, from
``resources/i18n/messages.<lang>.json`` — sections of ``"English pattern": "translation"``:

- a pattern without fields is an exact message (``"PASSED."``);
- a pattern with ``{fields}`` is a template: the English is compiled once to a regular expression
  (literal text matches itself, a field matches the shortest text that lets the rest match) and
  the translation is filled in with what the fields matched. A field may say what it matches:

  ``{n:int}``   digits (a count; the translation can agree with it: ``{n:файл|файла|файлов}``)
  ``{x:num}``   a number, also with a fraction, ``nan`` or ``inf``
  ``{x:msg}``   any text, itself translated (a nested message: an error inside an error)
  ``{x:msgs}``  ``;``-separated messages, each translated (at least one must be known)
  ``{x:list}``  the same, ``,``-separated
  ``{x}``       any text, kept as it is (file names, paths, numbers with units)

  A field used twice must match the same text both times. ``{{`` and ``}}`` are literal braces.

Templates are tried most specific first (most literal text), so ``{name}: the file is empty`` wins
over ``{name}: {warnings:msgs}``. Text nothing matches is returned unchanged — English is better
than a garbled sentence — and nothing here raises. English UI: every text is returned as it is.
"""
from __future__ import annotations

import json
import logging
import math
import re
import string
from dataclasses import dataclass, field
from functools import lru_cache

from gui import i18n

log = logging.getLogger(__name__)

FIELD_KINDS = {
    "": r".+?",
    "int": r"-?\d+",
    "num": r"[-+]?(?:\d+(?:\.\d+)?|nan|inf)",
    "msg": r".+?",
    "msgs": r".+?",
    "list": r".+?",
}
SEPARATORS = {"msgs": "; ", "list": ", "}
MAX_LENGTH = 4000     # longer text (a traceback pasted into an error) is looked up exactly only
MAX_DEPTH = 6         # nested messages deeper than this stay as they are


@dataclass
class Template:
    """One English pattern compiled to a regex, with the translation it turns into."""

    english: str
    translated: str
    regex: re.Pattern
    kinds: dict[str, str] = field(default_factory=dict)    # field name → kind ("" int num msg msgs list)
    literal: int = 0                                       # characters of literal text (specificity)


@dataclass
class Catalog:
    exact: dict[str, str]
    templates: list[Template]


def fields(pattern: str) -> list[tuple[str, str]]:
    """(name, spec) of each {field} in ``pattern``, in order (``string.Formatter`` syntax)."""
    return [(name, spec or "") for _, name, spec, _ in string.Formatter().parse(pattern) if name is not None]


def compile_template(english: str, translated: str) -> Template:
    """``english`` as a full-match regex; ValueError for an unknown field kind or an empty field name."""
    parts, kinds, literal = [], {}, 0
    for text, name, spec, _ in string.Formatter().parse(english):
        parts.append(re.escape(text))
        literal += len(text)
        if name is None:
            continue
        spec = spec or ""
        if not name.isidentifier() or spec not in FIELD_KINDS:
            raise ValueError(f"bad field {{{name}:{spec}}} in {english!r}")
        if name in kinds:
            parts.append(f"(?P={name})")
        else:
            kinds[name] = spec
            parts.append(f"(?P<{name}>{FIELD_KINDS[spec]})")
    return Template(english, translated, re.compile("".join(parts), re.DOTALL), kinds, literal)


@lru_cache(maxsize=None)
def catalog(lang: str) -> Catalog:
    """The messages of ``lang`` (empty for English, or when the file is missing or broken)."""
    if lang == "en":
        return Catalog({}, [])
    path = i18n.CATALOG_DIR / f"messages.{lang}.json"
    try:
        sections = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:   # untranslated messages beat no window
        log.warning("message translations %s not loaded: %s", path, exc)
        return Catalog({}, [])
    exact, templates = {}, []
    for entries in sections.values():
        if not isinstance(entries, dict):
            continue    # "about" notes for translators
        for english, translated in entries.items():
            if not fields(english):
                exact[english.replace("{{", "{").replace("}}", "}")] = translated
                continue
            try:
                templates.append(compile_template(english, translated))
            except (ValueError, re.error) as exc:
                log.warning("message template %r skipped: %s", english, exc)
    templates.sort(key=lambda t: -t.literal)   # stable: equally specific ones keep file order
    return Catalog(exact, templates)


# ---------------------------------------------------------------- lookup
def translate_message(text: str, lang: str) -> str:
    """``text`` (a message core wrote) in ``lang``; unchanged if no entry matches it."""
    if lang == "en" or not isinstance(text, str) or not text:
        return text
    try:
        return _lookup(text, lang, 0)[0]
    except Exception:   # noqa: BLE001 — a translation bug must never cost the user the message
        log.exception("translating message %r failed", text)
        return text


def tr_message(text: str) -> str:
    """``text`` from core in the UI language (unchanged where the catalog does not know it)."""
    return translate_message(text, i18n.language())


SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-ZА-ЯЁ])")


def translate_sentences(text: str, lang: str) -> str:
    """Like ``translate_message`` for text core builds from several sentences (a verdict): the whole
    text when the catalog knows it, else each sentence on its own (unknown ones stay English)."""
    if lang == "en" or not isinstance(text, str) or not text.strip():
        return text
    whole = translate_message(text, lang)
    if whole != text:
        return whole
    return " ".join(translate_message(part, lang) for part in SENTENCE_BREAK.split(text.strip()))


def tr_sentences(text: str) -> str:
    """``text`` of several sentences from core in the UI language (see ``translate_sentences``)."""
    return translate_sentences(text, i18n.language())


def is_known(text: str, lang: str = "ru") -> bool:
    """Whether the catalog of ``lang`` translates ``text`` (tests and coverage checks)."""
    return _lookup(text, lang, 0)[1]


@lru_cache(maxsize=8192)
def _lookup(text: str, lang: str, depth: int) -> tuple[str, bool]:
    """(translation, known) for ``text``; results are cached (a corpus table repeats itself)."""
    cat = catalog(lang)
    stripped = text.strip()
    if stripped in cat.exact:
        return text.replace(stripped, cat.exact[stripped], 1), True
    if depth > MAX_DEPTH or len(text) > MAX_LENGTH:
        return text, False
    for template in cat.templates:
        match = template.regex.fullmatch(stripped)
        if match is None:
            continue
        values = _values(template, match, lang, depth)
        if values is None:
            continue
        filled = _fill(template.translated, values, lang)
        if filled is not None:
            return text.replace(stripped, filled, 1), True
    return text, False


def _values(template: Template, match: re.Match, lang: str, depth: int) -> dict[str, str] | None:
    """The matched fields, nested messages translated; None when a list field holds nothing known."""
    values = {}
    for name, kind in template.kinds.items():
        value = match.group(name)
        if kind == "msg":
            value = _lookup(value, lang, depth + 1)[0]
        elif kind in SEPARATORS:
            pieces = [_lookup(piece, lang, depth + 1) for piece in value.split(SEPARATORS[kind])]
            if not any(known for _, known in pieces):
                return None
            value = SEPARATORS[kind].join(piece for piece, _ in pieces)
        values[name] = value
    return values


def _fill(translated: str, values: dict[str, str], lang: str) -> str | None:
    """The translation with ``values`` filled in; None if it names a field the English lacks or a
    plural field holds no number."""
    out = []
    for text, name, spec, _ in string.Formatter().parse(translated):
        out.append(text)
        if name is None:
            continue
        if name not in values:
            return None
        if spec and "|" in spec:
            try:
                number = float(values[name].replace(",", "."))
            except ValueError:
                return None
            if not math.isfinite(number):
                return None
            out.append(i18n.plural_form(lang, number, spec.split("|")))
        else:
            out.append(values[name])
    return "".join(out)


__all__ = ["Template", "catalog", "compile_template", "fields", "is_known", "tr_message", "tr_sentences",
           "translate_message", "translate_sentences"]
