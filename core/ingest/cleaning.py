"""Cleaning: the text the model learns from, minus what a reader or a scanner added.

Two kinds of steps, each switchable by a ``CorpusConfig`` field and each counting what it changed
into ``Document.stats``:

- line steps, used by readers that see line ends (plain text, PDF) before paragraphs exist:
  ``join_hyphens`` (words hyphenated at a line end, Latin and Cyrillic) and ``reflow``
  (hard-wrapped lines → paragraphs);
- paragraph steps, run on every document by ``clean_document``: soft hyphens and invisible
  characters, mojibake repair (ftfy), Unicode NFC, whitespace, Project Gutenberg licence
  header/footer, and the OCR-noise threshold (drop or flag noisy paragraphs).
"""
from __future__ import annotations

import re
import statistics
import unicodedata

from core.ingest.document import Document, Section
from core.ingest.textstats import noise_score

_HYPHEN_BREAK = re.compile(r"([^\W\d_]+)[-\u00ad\u2010\x02][ \t]*\r?\n[ \t]*([^\W\d_]+)")
_COMPOUND = re.compile(r"[^\W\d_]+-[^\W\d_]+")
_BULLET = re.compile(r"^\s*(?:[-*+•–—]|\d{1,3}[.)]|[a-z][.)])\s+\S")
_SENTENCE_END = re.compile(r"[.!?…:;\"'»”’)\]]$")
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff\x02]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_GUTENBERG_START = re.compile(r"\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG|^START OF THE PROJECT GUTENBERG", re.I)
_GUTENBERG_END = re.compile(r"\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG|^End of (?:the )?Project Gutenberg'?s? ", re.I)
_GUTENBERG_LICENSE = re.compile(r"FULL PROJECT GUTENBERG LICEN[CS]E", re.I)


# ------------------------------------------------------------------ line steps
def compounds_in(text: str) -> set[str]:
    """Hyphenated words written mid-line: their line-end breaks keep the hyphen ("well-known")."""
    return {m.lower() for m in _COMPOUND.findall(text)}


def join_hyphens(text: str, compounds: set[str] | None = None) -> tuple[str, int]:
    """'exam-\\nple' → 'example' when the next line goes on in lower case; returns (text, joins)."""
    joins = 0

    def fix(m: re.Match) -> str:
        nonlocal joins
        left, right = m.group(1), m.group(2)
        if not right[0].islower():
            return m.group(0)
        joins += 1
        if compounds and f"{left}-{right}".lower() in compounds:
            return f"{left}-{right}"
        return left + right

    if "\n" not in text:
        return text, 0
    return _HYPHEN_BREAK.sub(fix, text), joins


def reflow(text: str) -> tuple[list[str], int]:
    """Blank-line blocks → paragraphs, also splitting blocks that hold several hard-wrapped ones.

    Inside a block a new paragraph starts at an indented line (when only some lines are
    indented), at a list item, and after a clearly short line that ends a sentence; blocks of
    long lines (one paragraph per line, no wrapping) split at every line. Returns the paragraphs
    and how many more paragraphs this found than a blank-line split would.
    """
    paragraphs: list[str] = []
    extra = 0
    for block in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = [line.rstrip() for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        found = _split_block(lines) if len(lines) > 1 else [lines]
        extra += len(found) - 1
        paragraphs.extend(" ".join(line.strip() for line in group) for group in found)
    return paragraphs, extra


def _split_block(lines: list[str]) -> list[list[str]]:
    lengths = [len(line.strip()) for line in lines]
    if len(lines) >= 3 and statistics.median(lengths) > 150:
        return [[line] for line in lines]  # unwrapped text: every line is a paragraph
    if len(lines) >= 3 and max(lengths) < 45:
        return [["\n".join(line.strip() for line in lines)]]  # verse, a list, an address: keep its lines
    indented = [line[:1] in (" ", "\t") for line in lines]
    use_indent = 0 < sum(indented[1:]) < len(lines) - 1 or (not indented[0] and 0 < sum(indented) < len(lines))
    width = sorted(lengths)[int(len(lengths) * 0.9)] if len(lines) >= 6 else 0
    groups: list[list[str]] = [[lines[0]]]
    for prev, line, indent in zip(lines, lines[1:], indented[1:]):
        prev_short = width >= 40 and len(prev.strip()) < 0.6 * width and _SENTENCE_END.search(prev.strip())
        if (use_indent and indent) or _BULLET.match(line) or prev_short:
            groups.append([line])
        else:
            groups[-1].append(line)
    return groups


# ------------------------------------------------------------------ paragraph steps
def _ftfy_config():
    from ftfy import TextFixerConfig

    # Only encoding repair: quotes, widths, HTML entities and line breaks are the author's business.
    return TextFixerConfig(unescape_html=False, uncurl_quotes=False, fix_character_width=False,
                           fix_line_breaks=False, normalization=None, explain=False)


_MOJIBAKE_HINT = re.compile("[\u00c2-\u00c3\u00d0-\u00d1\u00e2][\u0080-\u00ff\u2010-\u203a\u20ac\u2122]"
                            "|[РС][\u0080-\u00bf\u0401-\u040f\u0452-\u045f\u2010-\u203a\u20ac\u2116\u2122]"
                            "|[\u0080-\u009f]")


def clean_document(doc: Document, config) -> Document:
    """Run the switched-on paragraph steps in place; counts go to ``doc.stats``."""
    fixer = _ftfy_config() if config.fix_mojibake else None
    threshold = config.noise_threshold
    scores: list[float] = []
    for section in doc.sections:
        kept: list[str] = []
        for paragraph in section.paragraphs:
            if config.remove_soft_hyphens:
                fixed = _INVISIBLE.sub("", paragraph)
                doc.count("soft_hyphens_removed", len(paragraph) - len(fixed))
                paragraph = fixed
            if fixer is not None and _MOJIBAKE_HINT.search(paragraph):
                from ftfy import fix_text

                fixed = fix_text(paragraph, fixer)
                doc.count("mojibake_fixed", fixed != paragraph)
                paragraph = fixed
            if config.unicode_nfc and not unicodedata.is_normalized("NFC", paragraph):
                paragraph = unicodedata.normalize("NFC", paragraph)
                doc.count("nfc_normalized")
            if config.normalize_whitespace:
                fixed = "\n".join(_SPACES.sub(" ", line).strip() for line in paragraph.split("\n"))
                fixed = re.sub(r"\n{2,}", "\n", fixed).strip()
                doc.count("whitespace_fixed", fixed != paragraph)
                paragraph = fixed
            if not paragraph:
                continue
            score = noise_score(paragraph) if threshold < 1 else 0.0
            scores.append(score)
            if score > threshold:
                if config.noise_action == "drop":
                    doc.count("noisy_dropped")
                    continue
                doc.count("noisy_flagged")
            kept.append(paragraph)
        section.paragraphs = kept
    if config.strip_gutenberg:
        doc.count("gutenberg_removed", strip_gutenberg(doc))
    if config.remove_contents:
        doc.count("contents_removed", strip_contents(doc))
    doc.sections = [s for s in doc.sections if s.paragraphs]
    noisy = doc.stats.get("noisy_dropped", 0) + doc.stats.get("noisy_flagged", 0)
    doc.stats["noise_ratio"] = round(noisy / len(scores), 4) if scores else 0.0
    doc.stats["noise_mean"] = round(sum(scores) / len(scores), 4) if scores else 0.0
    if noisy and noisy >= 0.2 * len(scores):
        verb = "dropped" if config.noise_action == "drop" else "flagged"
        doc.warnings.append(f"{noisy} of {len(scores)} paragraphs look like OCR noise ({verb})")
    return doc


def strip_gutenberg(doc: Document) -> int:
    """Remove Project Gutenberg's licence header and footer; returns paragraphs removed."""
    flat = [(si, pi, p) for si, s in enumerate(doc.sections) for pi, p in enumerate(s.paragraphs)]
    if not flat:
        return 0
    start = next((i for i, (_, _, p) in enumerate(flat[: max(200, len(flat) // 3)]) if _GUTENBERG_START.search(p)), -1)
    tail_from = len(flat) - max(400, len(flat) * 2 // 5)
    end = next((i for i in range(max(tail_from, start + 1), len(flat)) if _GUTENBERG_END.search(flat[i][2])), len(flat))
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
