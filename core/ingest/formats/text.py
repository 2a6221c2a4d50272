"""Plain text and Markdown, with the text encoding detected.

A BOM wins, then strict UTF-8, then charset-normalizer (which tells windows-1251 from KOI8-R by
letter statistics). Hard-wrapped lines are reflowed into paragraphs and line-end hyphens joined
(both switchable). Markdown headings start sections; fenced code stays one paragraph with its
line breaks; link and image syntax is reduced to the words a reader sees.
"""
from __future__ import annotations

import re

from charset_normalizer import from_bytes

from core.ingest.cleaning import chapters_from_lines, compounds_in, join_hyphens, reflow
from core.ingest.document import Document, IngestError, Section, SectionBuilder

_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_SETEXT = re.compile(r"^(=+|-+)\s*$")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_FENCE = re.compile(r"^\s*(```|~~~)")


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """Bytes → (text, encoding name). Raises IngestError for binary or undecodable data."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                raise IngestError(f"{name}: starts like {encoding} text but is damaged") from None
    if b"\x00" in data[:65536]:
        if _looks_utf16(data[:65536]):
            encoding = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
            return data.decode(encoding, errors="replace"), encoding
        raise IngestError(f"{name}: binary data, not text (is it really a text file?)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start > len(data) - 4 and len(data) > 16:  # only a cut-off last character
            return data.decode("utf-8", errors="replace"), "utf-8"
    best = from_bytes(data[:1 << 20]).best()
    if best is None:
        raise IngestError(f"{name}: could not recognise the text encoding (binary or damaged file?)")
    encoding = best.encoding
    text = data.decode(encoding, errors="replace")
    if _control_ratio(text) > 0.05:
        raise IngestError(f"{name}: binary data, not text (is it really a text file?)")
    return text, encoding


def _looks_utf16(sample: bytes) -> bool:
    """UTF-16 without a BOM: nearly every other byte is zero (Latin text) in a consistent lane."""
    even, odd = sample[0::2], sample[1::2]
    zeros_even, zeros_odd = even.count(0) / max(len(even), 1), odd.count(0) / max(len(odd), 1)
    return max(zeros_even, zeros_odd) > 0.4 and min(zeros_even, zeros_odd) < 0.05


def _control_ratio(text: str) -> float:
    sample = text[:20000]
    if not sample:
        return 0.0
    bad = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\n\r\t\f") or ch == "\ufffd")
    return bad / len(sample)


def split_paragraphs(text: str, config=None, doc: Document | None = None) -> list[str]:
    """Paragraphs of a text: blank-line blocks, reflowed and de-hyphenated when switched on."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if config is None or getattr(config, "join_hyphens", True):
        text, joins = join_hyphens(text, compounds_in(text))
        if doc is not None:
            doc.count("hyphens_joined", joins)
    if config is None or getattr(config, "reflow_paragraphs", True):
        paragraphs, extra = reflow(text)
        if doc is not None:
            doc.count("paragraphs_reflowed", extra)
        return paragraphs
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if lines:
            paragraphs.append(" ".join(lines))
    return paragraphs


def read_text(path, text: str, encoding: str, config=None) -> Document:
    from pathlib import Path

    stem = Path(str(path)).stem
    doc = Document(str(path), stem, "text", encoding, [])
    paragraphs = split_paragraphs(text, config, doc)
    doc.sections = chapters_from_lines(paragraphs) or [Section(stem, 1, paragraphs)]
    return doc


def read_markdown(path, text: str, encoding: str, config=None) -> Document:
    """Headings start sections; the first level-1 heading becomes the title."""
    from pathlib import Path

    doc = Document(str(path), "", "markdown", encoding, [])
    builder = SectionBuilder()
    buffer: list[str] = []
    lines = _HTML_COMMENT.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).split("\n")

    def flush() -> None:
        prose = _LINK.sub(r"\1", _IMAGE.sub(r"\1", "\n".join(buffer)))
        for paragraph in split_paragraphs(prose, config, doc):
            builder.paragraph(paragraph)
        buffer.clear()

    fence: list[str] | None = None
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            if fence is None:
                flush()
                fence = []
            else:
                builder.paragraph("\n".join(fence))  # code keeps its line breaks
                fence = None
            continue
        if fence is not None:
            fence.append(line.rstrip())
            continue
        match = _HEADING.match(line)
        setext = _SETEXT.match(line) if buffer and buffer[-1].strip() and i > 0 else None
        if match or (setext and len(buffer) >= 1 and not _SETEXT.match(buffer[-1])):
            heading = match.group(2) if match else buffer.pop().strip()
            level = len(match.group(1)) if match else (1 if line.strip()[0] == "=" else 2)
            flush()
            heading = _LINK.sub(r"\1", heading).strip("*_` ")
            if level == 1 and not doc.title:
                doc.title = heading
            builder.heading(heading, level)
        else:
            buffer.append(line)
    if fence:
        builder.paragraph("\n".join(fence))
    flush()
    doc.title = doc.title or Path(str(path)).stem
    doc.sections = builder.sections()
    return doc


_CUE_NUMBER = re.compile(r"^\d+\s*$")
_CUE_TIME = re.compile(r"^\s*(?:\d{1,2}:)?\d{1,2}:\d{2}[.,]\d{1,3}\s*-->.*$")
_CUE_TAG = re.compile(r"</?[a-zA-Z][^>]*>|\{\\[^}]*\}")


def subtitle_text(text: str) -> str:
    """SubRip/WebVTT → the spoken lines (cue numbers, timings and styling tags dropped)."""
    lines = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if _CUE_NUMBER.match(line) or _CUE_TIME.match(line) or line.strip() == "WEBVTT":
            continue
        lines.append(_CUE_TAG.sub("", line))
    return "\n".join(lines)


def read(data: bytes, name: str, path: str, config) -> Document:
    text, encoding = decode_text(data, name)
    if path.lower().endswith((".srt", ".vtt")):
        doc = read_text(path, subtitle_text(text), encoding, config)
        doc.format = "subtitles"
        return doc
    if path.lower().endswith((".md", ".markdown")):
        return read_markdown(path, text, encoding, config)
    return read_text(path, text, encoding, config)
