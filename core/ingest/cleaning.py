"""Cleaning: the text the model learns from, minus what a reader or a scanner added.

Two kinds of steps, each switchable by a ``CorpusConfig`` field and each counting what it changed
into ``Document.stats``:

- line steps, used by readers that see line ends (plain text, PDF) before paragraphs exist:
  ``join_hyphens`` (words hyphenated at a line end, Latin and Cyrillic) and ``reflow``
  (hard-wrapped lines → paragraphs, in ``reflow.py``);
- paragraph steps, run on every document by ``clean_document``: soft hyphens and invisible
  characters, mojibake repair (ftfy), Unicode NFC, whitespace, Project Gutenberg licence
  header/footer, and the noise threshold: paragraphs that are OCR noise (``textstats.py``) or
  junk — no text at all: PDF internals, encoded blobs, binary, glyph salad (``junk.py``) — are
  dropped or flagged, junk counted by kind and named in the file's warning.
"""
from __future__ import annotations

import re
import unicodedata

from core.ingest.document import Document, Section
from core.ingest.junk import junk_score, junk_suspects, looks_binary, trim_lines, verdict
from core.ingest.reflow import reflow  # noqa: F401  (a line step; readers import it from here)
from core.ingest.textstats import noise_score, prepare, suspicious_indices

_BREAK = re.compile(r"[-\u00ad\u2010\x02](?<=[^\W\d_][-\u00ad\u2010\x02])[ \t]*\r?\n[ \t]*")
_WORD_AT = re.compile(r"[^\W\d_]*")
_COMPOUND = re.compile(r"[^\W\d_]+-[^\W\d_]+")
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff\x02]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_GUTENBERG_START = re.compile(r"\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG|^START OF THE PROJECT GUTENBERG", re.I | re.M)
_GUTENBERG_END = re.compile(r"\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG|^End of (?:the )?Project Gutenberg'?s? ", re.I | re.M)
_GUTENBERG_LICENSE = re.compile(r"FULL PROJECT GUTENBERG LICEN[CS]E", re.I)


# ------------------------------------------------------------------ line steps
_LETTER = re.compile(r"[^\W\d_]")
_LETTERS = re.compile(r"[^\W\d_]+")
_HYPHEN_LETTER = re.compile(r"-(?=[^\W\d_])")  # (a lookbehind for the letter before is ~100x slower)


def compounds_in(text: str) -> set[str]:
    """Hyphenated words written mid-line: their line-end breaks keep the hyphen ("well-known").

    The same words as ``_COMPOUND.findall`` (tested), found from the hyphens: a regex trying a word
    at every letter of a book spends most of a PDF's cleaning time failing."""
    found, last = set(), 0
    for m in _HYPHEN_LETTER.finditer(text):
        hyphen = m.start()
        if not hyphen or not _LETTER.match(text, hyphen - 1) or (last and hyphen <= last):
            continue  # its left word is the previous compound's end ("a-b-c" gives "a-b", as findall does)
        left = hyphen
        while left > last and _LETTER.match(text, left - 1):
            left -= 1
        last = _LETTERS.match(text, hyphen + 1).end()
        found.add(text[left:last].lower())
    return found


def join_hyphens(text: str, compounds: set[str] | None = None) -> tuple[str, int]:
    """'exam-\\nple' → 'example' when the next line goes on in lower case; returns (text, joins).

    ``compounds`` (default: those of ``text``, found on the first break) keep their hyphen.
    """
    if not _may_break(text):
        return text, 0
    pieces: list[str] = []
    last = joins = 0
    # Find the breaks first (a letter, a hyphen, a line end): scanning whole words at every
    # position would be several times slower on a book.
    for m in _BREAK.finditer(text):
        start, end = m.start(), m.end()
        if end >= len(text) or not text[end].islower():
            continue
        left = start
        while left > last and (text[left - 1].isalpha()):
            left -= 1
        right = _WORD_AT.match(text, end).end()
        joins += 1
        if compounds is None:
            compounds = compounds_in(text)
        pieces.append(text[last:start])
        word = f"{text[left:start]}-{text[end:right]}"
        pieces.append("-" if word.lower() in compounds else "")
        last = end
    if not pieces:
        return text, 0
    pieces.append(text[last:])
    return "".join(pieces), joins


_HYPHEN_AT_END = re.compile(r"-[ \t]*[\r\n]")


def _may_break(text: str) -> bool:
    """Could ``_BREAK`` match? A regex that starts with a plain "-" (the engine skips from one to
    the next) and three one-character tests answer it for most books — which have no line-end
    hyphens — several times faster than ``_BREAK``'s own scan."""
    return ("\u00ad" in text or "\u2010" in text or "\x02" in text or _HYPHEN_AT_END.search(text) is not None)


# ------------------------------------------------------------------ paragraph steps
def _ftfy_config():
    from ftfy import TextFixerConfig

    # Only encoding repair: quotes, widths, HTML entities and line breaks are the author's business.
    return TextFixerConfig(unescape_html=False, uncurl_quotes=False, fix_character_width=False,
                           fix_line_breaks=False, normalization=None, explain=False)


# Signs of text decoded with the wrong code page ('Ã©', 'Ð¿', 'РїСЂ', stray C1 controls). Separate
# patterns that each start with a rare character let the regex engine skip clean text quickly.
_MOJIBAKE_HINTS = (re.compile("[\u00c2\u00c3\u00d0\u00d1\u00e2](?=[\u0080-\u00ff\u2010-\u203a\u20ac\u2122])"),
                   re.compile("[\u0080-\u009f]"),
                   re.compile("[РС](?=[\u0080-\u00bf\u0401-\u040f\u0452-\u045f\u2010-\u203a\u20ac\u2116\u2122])"))


_MOJIBAKE_LEADS = frozenset("\u00c2\u00c3\u00d0\u00d1\u00e2РС") | frozenset(map(chr, range(0x80, 0xa0)))


def _mojibake_hint(text: str, chars: set[str] | None = None) -> bool:
    """Could ``text`` hold mojibake? ``chars`` (the text's distinct characters) skips the regexes
    when none of the characters mojibake starts with is there at all."""
    if chars is not None and not chars & _MOJIBAKE_LEADS:
        return False
    return any(p.search(text) for p in _MOJIBAKE_HINTS)


GIANT_PARAGRAPH = 20_000  # characters; longer "paragraphs" are a file without line breaks
_CUT_AT = re.compile(r"(?<=[.!?…])\s+|\n")


def split_giant(paragraph: str, size: int = GIANT_PARAGRAPH // 2) -> list[str]:
    """Cut a runaway paragraph into pieces of about ``size`` characters at sentence ends, else at
    spaces, else anywhere — so cleaning and chunking stay linear on a 50 MB one-line file."""
    if len(paragraph) <= GIANT_PARAGRAPH:
        return [paragraph]
    pieces, start = [], 0
    while start < len(paragraph):
        end = min(start + size, len(paragraph))
        if end < len(paragraph):
            window = paragraph[start + size // 2:end]
            cut = None
            for m in _CUT_AT.finditer(window):
                cut = m
            if cut is not None:
                end = start + size // 2 + cut.end()
            else:
                space = paragraph.rfind(" ", start + size // 2, end)
                end = space + 1 if space > 0 else end
        pieces.append(paragraph[start:end].strip())
        start = end
    return [p for p in pieces if p]


_ODD_SPACES = frozenset("\t\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000")
_INVISIBLES = frozenset("\u00ad\u200b\u200c\u200d\u2060\ufeff\x02")


def _untidy(whole: str, chars: set[str], raw: bytes | None = None) -> bool:
    """Is there whitespace to tidy anywhere? (substring tests run at C speed on the whole text —
    on its UTF-8 bytes ``raw`` when given, a little faster; paragraphs are joined by three line
    breaks, so a fourth means a blank line inside one)"""
    text = raw if raw is not None else whole
    space, newline = (b" ", b"\n") if raw is not None else (" ", "\n")
    # (a regex finds "\n " fastest: it skips to each rare line break; a substring test, whose
    # search keys on the needle's last character, stops at every space)
    return (bool(chars & _ODD_SPACES) or whole[:1].isspace() or whole[-1:].isspace()
            or space + newline in text or newline * 4 in text or space * 2 in text
            or (_LINE_STARTS_SPACE_BYTES if raw is not None else _LINE_STARTS_SPACE).search(text) is not None)


_LINE_STARTS_SPACE, _LINE_STARTS_SPACE_BYTES = re.compile("\n "), re.compile(b"\n ")


# The common characters of most books: ``distinct_characters`` deletes them from the bytes it
# scans and looks for each of them by itself (found at its first occurrence, near the start).
_COMMON = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \n.,;:'\"!?-()").encode()
_COMMON_CHARS = tuple(_COMMON.decode())


def distinct_characters(text: str, raw: bytes | None = None) -> set[str]:
    """``set(text)``, several times faster on a long text: the other characters come from the
    UTF-8 bytes ``raw`` (encoded here when not given) with the common ASCII ones deleted — a
    C-speed copy, small for most books; deleting ASCII never splits a multi-byte character."""
    if len(text) < 100_000:
        return set(text)
    raw = raw if raw is not None else text.encode("utf-8", "surrogatepass")
    found = set(raw.translate(None, _COMMON).decode("utf-8", "surrogatepass"))
    found.update(ch for ch in _COMMON_CHARS if ch in text)
    return found


def clean_document(doc: Document, config) -> Document:
    """Run the switched-on paragraph steps in place; counts go to ``doc.stats``.

    Each step first looks at the whole text at once (one C-speed regex or normalisation check)
    and visits paragraphs only when something there needs it: clean books pass at tens of MB/s.
    """
    for section in doc.sections:
        if any(len(p) > GIANT_PARAGRAPH for p in section.paragraphs):
            before = len(section.paragraphs)
            section.paragraphs = [piece for p in section.paragraphs for piece in split_giant(p)]
            doc.count("long_paragraphs_split", len(section.paragraphs) - before)
    whole = "\n\n\n".join(p for s in doc.sections for p in s.paragraphs)  # \n\n\n: never inside a paragraph
    raw = whole.encode("utf-8", "surrogatepass") if len(whole) >= 100_000 else None
    chars = distinct_characters(whole, raw)  # they answer most "is there any X?" questions at once
    if config.remove_soft_hyphens and chars & _INVISIBLES:
        _each(doc, "soft_hyphens_removed", lambda p: _INVISIBLE.sub("", p), lambda a, b: len(a) - len(b))
    if config.fix_mojibake and _mojibake_hint(whole, chars):
        from ftfy import fix_text

        fixer = _ftfy_config()
        # Binary junk is left alone: "repaired", it would lose the control bytes that show what it is.
        _each(doc, "mojibake_fixed", lambda p: fix_text(p, fixer) if _mojibake_hint(p) and not looks_binary(p) else p)
    if config.unicode_nfc and not unicodedata.is_normalized("NFC", whole):
        _each(doc, "nfc_normalized", lambda p: unicodedata.normalize("NFC", p))
    if config.normalize_whitespace and _untidy(whole, chars, raw):
        _each(doc, "whitespace_fixed", _tidy)
    for section in doc.sections:
        section.paragraphs = [p for p in section.paragraphs if p]
    characters = sum(len(p) for s in doc.sections for p in s.paragraphs)
    scores = _drop_noise(doc, config, chars) if config.noise_threshold < 1 else []
    if config.strip_gutenberg:
        doc.count("gutenberg_removed", strip_gutenberg(doc))
    if config.remove_contents:
        doc.count("contents_removed", strip_contents(doc))
    doc.sections = [s for s in doc.sections if s.paragraphs]
    noisy = doc.stats.get("noisy_dropped", 0) + doc.stats.get("noisy_flagged", 0)
    junk = doc.stats.get("junk_dropped", 0) + doc.stats.get("junk_flagged", 0)
    doc.stats["noise_ratio"] = round((noisy + junk) / len(scores), 4) if scores else 0.0
    doc.stats["noise_mean"] = round(sum(scores) / len(scores), 4) if scores else 0.0
    if scores:
        doc.stats["paragraphs_scored"] = len(scores)
    note = verdict(doc.stats, len(scores), characters, config.noise_action)
    if note:
        doc.warnings.append(note)
    if noisy and noisy >= 0.2 * len(scores):
        verb = "dropped" if config.noise_action == "drop" else "flagged"
        doc.warnings.append(f"{noisy} of {len(scores)} paragraphs look like OCR noise ({verb})")
    return doc


def _each(doc: Document, counter: str, fix, changed=lambda a, b: a != b) -> None:
    """Apply ``fix`` to every paragraph, counting ``changed(old, new)`` under ``counter``."""
    for section in doc.sections:
        out = []
        for paragraph in section.paragraphs:
            fixed = fix(paragraph)
            doc.count(counter, int(changed(paragraph, fixed)))
            out.append(fixed)
        section.paragraphs = out


def _tidy(paragraph: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in paragraph.split("\n"))
    return "\n".join(line for line in lines if line)


def _drop_noise(doc: Document, config, chars: set[str] | None = None) -> list[float]:
    """Score every paragraph for OCR noise and for junk (``junk.py``); drop or flag those over the
    threshold, counting junk by kind. Junk lines of a code block go without the block. Returns
    all scores."""
    scores: list[float] = []
    flat = [p for s in doc.sections for p in s.paragraphs]
    chars = chars if chars is not None else set("".join(flat))
    prepared = prepare(flat)
    suspects = suspicious_indices(flat, chars, prepared)
    junky = junk_suspects(flat, chars, prepared)
    drop, limit = config.noise_action == "drop", config.noise_threshold
    index = -1
    for section in doc.sections:
        kept = []
        for paragraph in section.paragraphs:
            index += 1
            junk, kind = junk_score(paragraph) if index in junky else (0.0, "")
            score = max(junk, noise_score(paragraph) if index in suspects else 0.0)
            scores.append(score)
            if junk > limit:
                if drop and "\n" in paragraph:
                    trimmed, lines = trim_lines(paragraph, limit)
                    if trimmed:
                        doc.count("junk_lines_removed", lines)
                        kept.append(trimmed)
                        continue
                doc.count(f"junk_{kind}")
                doc.count("junk_dropped" if drop else "junk_flagged")
                doc.count("junk_characters", len(paragraph))
                if drop:
                    continue
            elif score > limit:
                if drop:
                    doc.count("noisy_dropped")
                    continue
                doc.count("noisy_flagged")
            kept.append(paragraph)
        section.paragraphs = kept
    return scores


def strip_gutenberg(doc: Document) -> int:
    """Remove Project Gutenberg's licence header and footer; returns paragraphs removed."""
    flat = [p for s in doc.sections for p in s.paragraphs]
    if not flat:
        return 0
    # The markers are short lines near the ends (the licence after END runs ~350 paragraphs);
    # a cheap substring test first keeps this bounded on a long book.
    def marker(pattern, text: str) -> bool:
        head = text[:3000]  # (the header is sometimes one preformatted block with the marker inside)
        return "utenberg" in head.lower() and pattern.search(head) is not None

    start = next((i for i, p in enumerate(flat[:400]) if marker(_GUTENBERG_START, p)), -1)
    tail_from = max(len(flat) - 800, start + 1)
    end = next((i for i in range(tail_from, len(flat)) if marker(_GUTENBERG_END, flat[i])), len(flat))
    removed = index = 0  # index: the flat position of the section's first paragraph
    for section in doc.sections:
        count = len(section.paragraphs)
        if _GUTENBERG_LICENSE.search(section.heading or ""):
            removed += count
            section.paragraphs = []
        elif index <= start or index + count > end:  # (a section wholly inside keeps everything)
            kept = section.paragraphs[max(0, start + 1 - index):max(0, end - index)]
            removed += count - len(kept)
            section.paragraphs = kept
        index += count
    return removed


_CONTENTS = re.compile(r"^(?:table of )?contents|^оглавление|^содержание|^inhalt|^table des matières|^índice", re.I)
_TRAILING_PAGE = re.compile(r"[\s.·…_-]*\d*$")


def _toc_key(text: str) -> str:
    return _TRAILING_PAGE.sub("", " ".join(text.lower().split())).strip(" .:")


def strip_contents(doc: Document) -> int:
    """Remove a table of contents typed into the text: runs of 3+ short paragraphs that only
    repeat the document's own chapter headings (plus a "Contents" line), near the start."""
    headings = {_toc_key(part) for s in doc.sections for part in (s.heading or "").split(" — ") if s.heading}
    headings.discard("")
    removed = 0
    for section in doc.sections[: max(3, len(doc.sections) // 5 + 1)]:
        if _CONTENTS.match(section.heading.split(" — ")[-1].strip()) and all(len(p) < 120 for p in section.paragraphs):
            removed += len(section.paragraphs)
            section.paragraphs = []
            continue
        paragraphs, keep, i = section.paragraphs, [True] * len(section.paragraphs), 0

        def toc_lines(paragraph: str) -> int:
            if len(paragraph) >= 120 and "\n" not in paragraph:
                return 0  # (the common case, decided without splitting)
            lines = [line.strip() for line in paragraph.split("\n") if line.strip()]
            return len(lines) if all(len(line) < 120 and (_toc_key(line) in headings or _CONTENTS.match(line))
                                     for line in lines) else 0

        while i < len(paragraphs):
            j, lines = i, 0
            while j < len(paragraphs) and toc_lines(paragraphs[j]):
                lines += toc_lines(paragraphs[j])
                j += 1
            if lines >= 3:
                keep[i:j] = [False] * (j - i)
            i = max(j, i + 1)
        removed += keep.count(False)
        section.paragraphs = [p for p, k in zip(paragraphs, keep) if k]
    return removed


_CHAPTER = re.compile(r"^(?:chapter|letter|part|book|volume|глава|часть|книга|том|chapitre|kapitel|capítulo)\s+"
                      r"(?:[0-9]+|[IVXLCDM]+|[^\W\d_]+)\.?(?:\s*[.:—–-]\s*.{0,80})?$", re.I)


def chapters_from_lines(paragraphs: list[str]) -> list[Section] | None:
    """Plain-text books: standalone "Chapter 3" / "Глава IV" lines become section headings
    (when at least two appear); None when the text shows no such structure."""
    marks = [i for i, p in enumerate(paragraphs) if len(p) < 100 and _CHAPTER.match(p.strip())]
    if len(marks) < 2:
        return None
    sections = [Section("", 1, paragraphs[:marks[0]])] if marks[0] else []
    for start, end in zip(marks, marks[1:] + [len(paragraphs)]):
        sections.append(Section(paragraphs[start].strip(), 2 if re.match(r"(?i)part|book|volume|часть|книга|том",
                                                                         paragraphs[start].strip()) else 3,
                                paragraphs[start + 1:end]))
    return sections
