"""Cleaning: the text the model learns from, minus what a reader or a scanner added.

Two kinds of steps, each switchable by a ``CorpusConfig`` field and each counting what it changed
into ``Document.stats``:

- line steps, used by readers that see line ends (plain text, PDF) before paragraphs exist:
  ``join_hyphens`` (words hyphenated at a line end, Latin and Cyrillic) and ``reflow``
  (hard-wrapped lines → paragraphs);
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
from core.ingest.textstats import noise_score, prepare, suspicious_indices

_BREAK = re.compile(r"[-\u00ad\u2010\x02](?<=[^\W\d_][-\u00ad\u2010\x02])[ \t]*\r?\n[ \t]*")
_WORD_AT = re.compile(r"[^\W\d_]*")
_COMPOUND = re.compile(r"[^\W\d_]+-[^\W\d_]+")
_BULLET = re.compile(r"^\s*(?:[-*+•–—]|\d{1,3}[.)]|[a-z][.)])\s+\S")
_ENDS = frozenset(".!?…:;\"'»”’)]")  # a line ending so may end a paragraph
_BULLET_FIRST = frozenset("-*+•–—0123456789")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff\x02]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_GUTENBERG_START = re.compile(r"\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG|^START OF THE PROJECT GUTENBERG", re.I | re.M)
_GUTENBERG_END = re.compile(r"\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG|^End of (?:the )?Project Gutenberg'?s? ", re.I | re.M)
_GUTENBERG_LICENSE = re.compile(r"FULL PROJECT GUTENBERG LICEN[CS]E", re.I)


# ------------------------------------------------------------------ line steps
def compounds_in(text: str) -> set[str]:
    """Hyphenated words written mid-line: their line-end breaks keep the hyphen ("well-known")."""
    return {m.lower() for m in _COMPOUND.findall(text)}


def join_hyphens(text: str, compounds: set[str] | None = None) -> tuple[str, int]:
    """'exam-\\nple' → 'example' when the next line goes on in lower case; returns (text, joins).

    ``compounds`` (default: those of ``text``, found on the first break) keep their hyphen.
    """
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


def reflow(text: str) -> tuple[list[str], int]:
    """Blank-line blocks → paragraphs, also splitting blocks that hold several hard-wrapped ones.

    Inside a block a new paragraph starts at an indented line (when only some lines are
    indented), at a list item, and after a clearly short line that ends a sentence; blocks of
    long lines (one paragraph per line, no wrapping) split at every line. Returns the paragraphs
    and how many more paragraphs this found than a blank-line split would.
    """
    paragraphs: list[str] = []
    extra = 0
    for block in _BLANK_LINE.split(text.replace("\r\n", "\n").replace("\r", "\n")):
        if "\n" not in block:  # one line: the common case for unwrapped text and most markup
            if block.strip():
                paragraphs.append(block.strip())
            continue
        raw = block.split("\n")
        if block[:1] in (" ", "\t") or "\n " in block or "\n\t" in block or " \n" in block or not all(raw):
            lines = [line.strip() for line in raw]
            indented = [line[:1] in (" ", "\t") for line in raw]
            keep = [i for i, line in enumerate(lines) if line]
            lines, indented = [lines[i] for i in keep], [indented[i] for i in keep]
            if not lines:
                continue
        else:  # the common hard-wrapped block: no indentation, nothing to strip
            lines, indented = raw, [False] * len(raw)
            if lines[-1].endswith((" ", "\t")):
                lines[-1] = lines[-1].rstrip()
        found = _split_block(lines, indented) if len(lines) > 1 else [lines]
        extra += len(found) - 1
        paragraphs.extend(" ".join(group) for group in found)
    return paragraphs, extra


def _split_block(lines: list[str], indented: list[bool]) -> list[list[str]]:
    """``lines`` stripped and non-empty; ``indented`` says which began with a space or tab."""
    lengths = [len(line) for line in lines]
    ordered = sorted(lengths)
    if len(lines) >= 3 and ordered[len(ordered) // 2] > 150:
        return [[line] for line in lines]  # unwrapped text: every line is a paragraph
    use_indent = 0 < sum(indented[1:]) < len(lines) - 1 or (not indented[0] and 0 < sum(indented) < len(lines))
    if len(lines) >= 3 and max(lengths) < 45 and not use_indent:
        return [["\n".join(lines)]]  # verse, a list, an address: keep its lines
    width = ordered[int(len(ordered) * 0.9)] if len(lines) >= 6 else 0
    # Where a new paragraph starts (index of its first line); list comprehensions keep this fast.
    starts = set()
    if use_indent:
        starts.update(i for i, indent in enumerate(indented) if indent)
    if width >= 40:
        short = 0.6 * width
        starts.update(i + 1 for i, (n, line) in enumerate(zip(lengths[:-1], lines)) if n < short
                      and line[-1] in _ENDS)
    starts.update(i for i, line in enumerate(lines) if (line[0] in _BULLET_FIRST or line[1:2] in (".", ")"))
                  and _BULLET.match(line))
    starts.discard(0)
    if not starts:
        return [lines]
    groups: list[list[str]] = []
    begin = 0
    for start in sorted(starts):
        groups.append(lines[begin:start])
        begin = start
    groups.append(lines[begin:])
    return groups


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


def _untidy(whole: str, chars: set[str]) -> bool:
    """Is there whitespace to tidy anywhere? (substring tests run at C speed on the whole text;
    paragraphs are joined by three line breaks, so a fourth means a blank line inside one)"""
    return ("  " in whole or " \n" in whole or "\n " in whole or "\n\n\n\n" in whole or bool(chars & _ODD_SPACES)
            or whole[:1].isspace() or whole[-1:].isspace())


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
    chars = set(whole)  # the distinct characters answer most "is there any X?" questions at once
    if config.remove_soft_hyphens and chars & _INVISIBLES:
        _each(doc, "soft_hyphens_removed", lambda p: _INVISIBLE.sub("", p), lambda a, b: len(a) - len(b))
    if config.fix_mojibake and _mojibake_hint(whole, chars):
        from ftfy import fix_text

        fixer = _ftfy_config()
        # Binary junk is left alone: "repaired", it would lose the control bytes that show what it is.
        _each(doc, "mojibake_fixed", lambda p: fix_text(p, fixer) if _mojibake_hint(p) and not looks_binary(p) else p)
    if config.unicode_nfc and not unicodedata.is_normalized("NFC", whole):
        _each(doc, "nfc_normalized", lambda p: unicodedata.normalize("NFC", p))
    if config.normalize_whitespace and _untidy(whole, chars):
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
    flat = [(si, pi, p) for si, s in enumerate(doc.sections) for pi, p in enumerate(s.paragraphs)]
    if not flat:
        return 0
    # The markers are short lines near the ends (the licence after END runs ~350 paragraphs);
    # a cheap substring test first keeps this bounded on a long book.
    def marker(pattern, text: str) -> bool:
        head = text[:3000]  # (the header is sometimes one preformatted block with the marker inside)
        return "utenberg" in head.lower() and pattern.search(head) is not None

    start = next((i for i, (_, _, p) in enumerate(flat[:400]) if marker(_GUTENBERG_START, p)), -1)
    tail_from = max(len(flat) - 800, start + 1)
    end = next((i for i in range(tail_from, len(flat)) if marker(_GUTENBERG_END, flat[i][2])), len(flat))
    drop = {(si, pi) for i, (si, pi, _) in enumerate(flat) if i <= start or i >= end}
    removed = 0
    for si, section in enumerate(doc.sections):
        if _GUTENBERG_LICENSE.search(section.heading or ""):
            removed += len(section.paragraphs)
            section.paragraphs = []
            continue
        kept = [p for pi, p in enumerate(section.paragraphs) if (si, pi) not in drop]
        removed += len(section.paragraphs) - len(kept)
        section.paragraphs = kept
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
