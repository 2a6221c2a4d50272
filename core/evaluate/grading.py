"""Grading a generated reply against accepted answers: plain, explainable string rules.

The rule (the same one ``../shared/facts`` states, so the app and hand-written fact files agree):
a reply counts when an accepted answer occurs in it case-insensitively, starting at a word
boundary. Answers of four characters or fewer, and numbers, must also end at one ("4" is not
found in "1984", "Mac" not in "machine"); longer answers may be stems ("Alexeevsk" matches
"Alexeevsky"). Text is compared after Unicode NFKC, case folding, "ё" → "е" and typographic
quotes/dashes made plain, so Cyrillic and curly quotes match as a reader expects.

A reference that is a whole sentence ("He shared the red apples with Mrs. Hill") is graded by
its key terms — numbers, names, rare (long or technical) words — and needs at least half of
them (``key_terms``). Reasoning answers are exact: the number the reply ends on, or for word
answers (a name, a day, yes/no) the accepted word in the reply's last sentence.
"""
from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)
_NUMBER = re.compile(r"(?<![\w.])[-−]?\d+(?:[.,]\d+)?(?![\w])")
_PLAIN = str.maketrans({"ё": "е", "’": "'", "‘": "'", "“": '"', "”": '"', "«": '"', "»": '"', "—": "-", "–": "-",
                        "−": "-", "\u00a0": " "})
_STOP = frozenset("""a an the of in on at to for from by with and or is are was were be been it its this that
these those what which who whom how why when where does do did has have had not no yes""".split())
SHORT = 4


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().translate(_PLAIN)


def _is_number(answer: str) -> bool:
    return bool(re.fullmatch(r"[-−]?\d+(?:[.,]\d+)?", answer.strip()))


def answer_pattern(answer: str) -> re.Pattern:
    a = normalize(answer.strip())
    whole = len(a) <= SHORT or _is_number(a)
    # A word boundary only where the answer itself starts/ends with a word character: "./output"
    # or "(GPL)" have none to offer.
    start = r"(?<!\w)" if a[:1].isalnum() or a[:1] == "_" else ""
    end = r"(?!\w)" if whole and (a[-1:].isalnum() or a[-1:] == "_") else ""
    if _is_number(a):
        start, end = r"(?<![\w.,])", r"(?!\w|[.,]\d)"  # "4" is not in "1984" nor in "4.5"
    return re.compile(start + re.escape(a) + end)


def contains_answer(reply: str, answer: str) -> bool:
    """The shared rule for one accepted answer."""
    if not answer.strip():
        return False
    return answer_pattern(answer).search(normalize(reply)) is not None


def key_terms(reference: str, limit: int = 4) -> list[str]:
    """What a long reference answer hinges on: numbers, names, then rare (long/technical) words.

    Names are capitalised words that are not first in a sentence; technical words hold digits,
    '_', '-' or '.' inside. The longest content words fill up to ``limit``.
    """
    tokens = re.findall(r"[\w][\w.\-_/]*[\w]|\w", reference)
    terms: list[str] = []

    def add(term: str) -> None:
        if term.lower() not in (t.lower() for t in terms):
            terms.append(term)

    for t in tokens:
        if _is_number(t):
            add(t)
    sentence_starts = {m.start() for m in re.finditer(r"(?:^|[.!?]\s+)(\w)", reference)} | {0}
    for m in re.finditer(r"[\w][\w.\-_/]*[\w]|\w", reference):
        t = m.group()
        if any(c.isdigit() for c in t) or re.search(r"\w[_.\-/]\w", t):
            add(t.strip("."))
        elif t[0].isupper() and m.start() not in sentence_starts and t.lower() not in _STOP and len(t) > 1:
            add(t)
    rest = sorted((t for t in tokens if t.isalpha() and len(t) > 5 and t.lower() not in _STOP),
                  key=lambda w: (-len(w), tokens.index(w)))
    for t in rest:
        if len(terms) >= limit:
            break
        add(t)
    return terms[:limit] or [reference.strip()]


def is_short(answer: str) -> bool:
    return len(_WORD.findall(answer)) <= 3


def grade(reply: str, answers: list[str]) -> bool:
    """True when any accepted answer is in the reply (a long one: half its key terms, at least one)."""
    for answer in answers:
        if is_short(answer):
            if contains_answer(reply, answer):
                return True
        else:
            terms = key_terms(answer)
            found = sum(contains_answer(reply, t) for t in terms)
            if found and found * 2 >= len(terms):
                return True
    return False


def _numbers(text: str) -> list[str]:
    return [n.replace("−", "-").replace(",", ".") for n in _NUMBER.findall(normalize(text))]


def final_answer(reply: str) -> str:
    """The part of a reply that states the result: after "answer is"/"ответ", else its last sentence."""
    text = normalize(reply)
    marks = list(re.finditer(r"(?:answer(?: is)?|ответ(?: -| —)?|итого)\s*[:=]?\s*", text))
    if marks:
        return text[marks[-1].end():].strip()
    parts = [p for p in re.split(r"(?<=[.!?])\s+|\n+", text.strip()) if _WORD.search(p)]
    return parts[-1] if parts else text


def grade_exact(reply: str, answers: list[str]) -> bool:
    """Reasoning: a numeric answer must be the number the reply settles on; a word answer must be
    in its final statement (and, for numeric answers, no other number may follow it)."""
    for answer in answers:
        if _is_number(answer):
            stated = _numbers(final_answer(reply)) or _numbers(reply)
            if stated and float(stated[-1]) == float(answer.replace(",", ".").replace("−", "-")):
                return True
        elif contains_answer(final_answer(reply), answer):
            return True
    return False
