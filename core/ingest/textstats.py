"""Text statistics: an OCR-noise score per paragraph and a cheap language guess.

The noise score (0 clean … 1 garbage) adds up signs that a paragraph came out of a bad scan or a
broken text layer rather than from a writer:
- symbol ratio: characters that are neither letters, digits, spaces nor ordinary punctuation;
- broken words: one-letter fragments that are not real one-letter words, and words mixing
  letters with digits ("tbe", "l0ve" style OCR confusions show up as the latter);
- homoglyphs: words mixing Latin and Cyrillic letters (OCR reads "Москва" as "Mocквa");
- letter-spacing: runs of single letters separated by spaces ("т е к с т", "c h a p t e r").
Short paragraphs get a neutral score: a handful of characters says too little.
"""
from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_LETTER_SPACED = re.compile(r"(?:(?<!\S)[^\W\d_](?: |$)){4,}", re.UNICODE)
_ONE_LETTER_OK = set("aAiIoOуУвВиИкКоОсСяЯаАэЭ&") | {"a", "I"}
_PUNCT_OK = set(".,;:!?'\"()[]-–—…«»„“”‘’/%&*#@+=<>$€£№§°_~|{}`^\\")
_SYMBOL_CATS = {"So", "Sk", "Sm", "Co", "Cn", "Cs"}
_STOPWORDS = {
    "en": {"the", "and", "of", "to", "is", "in", "that", "it", "was", "with"},
    "de": {"der", "die", "und", "das", "ist", "nicht", "ein", "mit", "sich", "auf"},
    "fr": {"le", "la", "les", "et", "des", "est", "une", "que", "dans", "pas"},
    "es": {"el", "la", "los", "que", "y", "en", "del", "las", "por", "una"},
    "ru": {"и", "в", "не", "на", "что", "с", "он", "как", "это", "по"},
    "uk": {"і", "та", "не", "на", "що", "як", "це", "від", "він", "до"},
}


def _script(ch: str) -> str:
    if "a" <= ch.lower() <= "z" or "\u00c0" <= ch <= "\u024f":
        return "latin"
    if "\u0400" <= ch <= "\u04ff":
        return "cyrillic"
    return "other"


def noise_score(text: str) -> float:
    """0 (clean prose) … 1 (garbage); see the module docstring for what is counted."""
    if len(text) < 24:
        return 0.0
    chars = [ch for ch in text if not ch.isspace()]
    if not chars:
        return 0.0
    odd = sum(1 for ch in chars if not ch.isalnum() and ch not in _PUNCT_OK
              or unicodedata.category(ch) in _SYMBOL_CATS)
    punct = sum(1 for ch in chars if ch in _PUNCT_OK)
    symbol_ratio = odd / len(chars) + max(0.0, punct / len(chars) - 0.15)
    words = _WORD.findall(text)
    if not words:
        return 1.0
    broken = sum(1 for w in words if len(w) == 1 and w.isalpha() and w not in _ONE_LETTER_OK)
    digit_mix = sum(1 for w in words if any(c.isdigit() for c in w) and any(c.isalpha() for c in w)
                    and not re.fullmatch(r"\d+(st|nd|rd|th|s|px|mm|cm|km|kg|mb|gb|x|е|й|го|я|х)?|[A-Za-z]+\d+", w, re.I))
    mixed = sum(1 for w in words if len(w) > 1 and {"latin", "cyrillic"} <= {_script(c) for c in w})
    spaced = sum(len(m.group(0)) for m in _LETTER_SPACED.finditer(text)) / max(len(text), 1)
    score = (2.0 * symbol_ratio + 1.5 * broken / len(words) + 1.5 * digit_mix / len(words)
             + 4.0 * mixed / len(words) + 1.5 * spaced)
    return round(min(1.0, score), 3)


def guess_language(text: str) -> str:
    """ISO 639-1 code from stop words (en, de, fr, es, ru, uk); '' when unsure."""
    sample = text[:200_000].lower()
    words = _WORD.findall(sample)
    if len(words) < 5:
        return ""
    hits = {lang: sum(1 for w in words if w in stops) for lang, stops in _STOPWORDS.items()}
    if any(ch in sample for ch in "їєґ") and hits["uk"] >= hits["ru"] * 0.5:
        hits["uk"] += hits["ru"]
    lang, best = max(hits.items(), key=lambda kv: kv[1])
    return lang if best >= max(2, len(words) * 0.02) else ""


def script_counts(text: str) -> dict[str, int]:
    """Letters per script (latin / cyrillic / other) — tests and stats use it to spot mojibake."""
    counts = {"latin": 0, "cyrillic": 0, "other": 0}
    for ch in text:
        if ch.isalpha():
            counts[_script(ch)] += 1
    return counts
