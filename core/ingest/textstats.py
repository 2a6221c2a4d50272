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

# Combining marks are not \w to the regex engine, yet they are half of every word in Hindi, Thai,
# Tamil …: they count as letters (the Brahmic and Southeast Asian blocks whole, and the combining
# diacritics), or those books would read as broken words and odd symbols.
_MARKS = ("\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"
          "\u0900-\u0dff\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u1ab0-\u1aff\u1dc0-\u1dff"
          "\u20d0-\u20ff\ufe20-\ufe2f")
_WORD = re.compile(f"(?:[^\\W_]|[{_MARKS}])+(?:['’](?:[^\\W_]|[{_MARKS}])+)*", re.UNICODE)  # "Elizabeth’s": one
_LETTER_SPACED = re.compile(r"(?:(?<!\S)[^\W\d_](?: |$)){4,}", re.UNICODE)
_ONE_LETTER_OK = set("aAiIoOуУвВиИкКоОсСяЯаАэЭ&") | {"a", "I"}
_PUNCT_OK = set(".,;:!?'\"()[]-–—…«»„“”‘’/%&*#@+=<>$€£№§°_~|{}`^\\")
_MARK = re.compile(f"[{_MARKS}]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
# Letters with digits that are ordinary writing: 1st, 20th, 3D, 5px, MP3, 10-й …
_OK_MIXED = re.compile(r"\d+(?:st|nd|rd|th|s|d|px|pt|mm|cm|km|kg|g|mb|gb|kb|x|k|m|h|min|е|й|го|я|х|ти|м)|"
                       r"[A-Za-z]{1,12}\d{1,4}|\d{1,3}[A-Za-z]", re.I)
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


_ODD = re.compile("[^\\w\\s" + _MARKS + re.escape("".join(sorted(_PUNCT_OK))) + "]|[\uE000-\uF8FF\uFFFD]",
                  re.UNICODE)
_PUNCT = re.compile("[" + re.escape("".join(sorted(_PUNCT_OK))) + "]")
_SPACE = re.compile(r"\s+")
_TABLE_RULE = re.compile(r"\||[-=:+]{3,}")
_INITIAL = re.compile(r"(?<![^\W_])[A-Z\u0410-\u042f\u0401]\.")  # "M. Waldman", "R.W.": initials, not broken words
_SAMPLE = 4_000  # a paragraph's noise shows in its first pages; long ones are scored on a sample


# What could raise the score, as patterns that each start with a rarer character class; a
# paragraph none of them hits scores 0 without being counted.
_PUNCT_CLASS = re.escape("".join(sorted(_PUNCT_OK)))
_LOWER_CONSONANT = "b-df-hj-np-xz\u0433\u0434\u0435\u0437\u0439\u043b-\u043d\u043f\u0440\u0442\u0444-\u044e"
_UPPER_CONSONANT = "B-DF-HJ-NP-XZ\u0413\u0414\u0415\u0417\u0419\u041b-\u041d\u041f\u0420\u0422\u0424-\u042e"
_SUSPECTS = (
    # a lone consonant as a word; a capital followed by a full stop is an initial ("M. Waldman")
    re.compile(f"[ \\n](?:[{_LOWER_CONSONANT}][ ,.;:!?\\n]|[{_UPPER_CONSONANT}][ ,;:!?\\n])"),
    re.compile(r"[0-9](?:(?<=[^\W\d_][0-9])|(?=[^\W\d_])(?!(?:st|nd|rd|th|s|d)\b))"),  # letters mixed with digits
    re.compile("[" + _PUNCT_CLASS + "]{4,}"),                            # runs of punctuation
)
_GATE_SAMPLE = 1_000_000
_MIXED_SCRIPT = re.compile(r"[\u0400-\u04ff](?<=[A-Za-z][\u0400-\u04ff])|[\u0400-\u04ff](?=[A-Za-z])")


def suspicious(text: str) -> bool:
    """Cheap pre-check: could ``noise_score(text)`` be above 0 at all?"""
    return bool(suspicious_indices([text]))


def prepare(paragraphs: list[str]) -> tuple[list[str], str, list[int]]:
    """(samples, joined, starts): each paragraph's first ``_SAMPLE`` characters ('' under 16),
    joined by blank lines into one text for whole-text regex passes, and where each one starts
    in it. The noise and junk pre-checks share it."""
    from itertools import accumulate

    parts = [p[:_SAMPLE] if len(p) >= 16 else "" for p in paragraphs]
    starts = list(accumulate(map((3).__add__, map(len, parts[:-1])), initial=0)) if parts else []
    # (the closing line break goes onto the last part: adding it to the joined text would copy it)
    return parts, "\n\n\n".join(parts[:-1] + [parts[-1] + "\n"] if parts else ["\n"]), starts


def suspicious_indices(paragraphs: list[str], chars: set[str] | None = None, prepared=None) -> set[int]:
    """Indices of the paragraphs whose noise score may be above 0 (over-inclusive: ``noise_score``
    decides), found with a few regex passes over all of them at once. ``chars``: the paragraphs'
    distinct characters, when the caller has them already; ``prepared``: ``prepare(paragraphs)``."""
    import bisect

    parts, joined, starts = prepared or prepare(paragraphs)
    distinct = chars if chars is not None else set(joined)
    patterns = list(_SUSPECTS)
    if len(joined) > 2 * _GATE_SAMPLE:
        # Broken one-letter words, letters mixed with digits and punctuation runs come from bad
        # scans, which show them on every page: when the first megabyte and 64 windows spread over
        # the rest have none, those scans are skipped for the rest of a long text (a few MB and up;
        # a normal book is always scanned whole).
        patterns = [p for p in _SUSPECTS if _seen_in_sample(p, joined)]
    # Odd symbols: the distinct characters are few, so test those once and search only for the odd
    # ones found (a negated class would test every character of the book).
    odd = {ch for ch in distinct if not (ch.isalnum() or ch.isspace() or ch in _PUNCT_OK or _MARK.match(ch))
           or "\ue000" <= ch <= "\uf8ff" or ch == "\ufffd"}
    if odd:
        patterns.append(re.compile("[" + re.escape("".join(sorted(odd))) + "]"))
    if any("\u0400" <= ch <= "\u04ff" for ch in distinct) and any(ch.isascii() and ch.isalpha() for ch in distinct):
        patterns.append(_MIXED_SCRIPT)
    hits: set[int] = set()
    for pattern in patterns:
        for m in pattern.finditer(joined):
            hits.add(bisect.bisect_right(starts, m.start()) - 1)
    return {i for i in hits if len(parts[i]) >= 24}


def _seen_in_sample(pattern: re.Pattern, text: str) -> bool:
    """Does ``pattern`` occur in ``text``'s first ``_GATE_SAMPLE`` characters or in one of 64
    windows spread over the rest (a quarter of that in all)?"""
    if pattern.search(text, 0, _GATE_SAMPLE):
        return True
    step, width = max((len(text) - _GATE_SAMPLE) // 64, 1), _GATE_SAMPLE // 256
    return any(pattern.search(text, start, start + width) for start in range(_GATE_SAMPLE, len(text), step))


def noise_score(text: str) -> float:
    """0 (clean prose) … 1 (garbage); see the module docstring for what is counted."""
    if len(text) < 24:
        return 0.0
    text = _TABLE_RULE.sub(" ", text[:_SAMPLE])  # table borders are layout, not noise
    visible = len(text) - sum(len(m) for m in _SPACE.findall(text))
    if not visible:
        return 0.0
    symbol_ratio = len(_ODD.findall(text)) / visible + max(0.0, len(_PUNCT.findall(text)) / visible - 0.15)
    words = _WORD.findall(_INITIAL.sub(" ", text) if "." in text else text)
    if not words:
        return 1.0
    broken = sum(1 for w in words if len(w) == 1 and w.isalpha() and w not in _ONE_LETTER_OK)
    digit_mix = sum(1 for w in words if not w.isalpha() and not w.isdigit() and any(c.isdigit() for c in w)
                    and not _OK_MIXED.fullmatch(w))  # (a word with combining marks is not isalpha)
    mixed = sum(1 for w in words if len(w) > 1 and _LATIN.search(w) and _CYRILLIC.search(w))
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
    from collections import Counter

    counts = Counter(words)  # (counting once and looking up each stop word beats a pass per language)
    hits = {lang: sum(counts[w] for w in stops) for lang, stops in _STOPWORDS.items()}
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
