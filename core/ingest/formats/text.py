"""Plain text and Markdown, with the text encoding detected.

A BOM wins, then strict UTF-8, then charset-normalizer (which tells windows-1251 from KOI8-R by
letter statistics). Hard-wrapped lines are reflowed into paragraphs and line-end hyphens joined
(both switchable). Markdown headings start sections; fenced code stays one paragraph with its
line breaks; link and image syntax is reduced to the words a reader sees.
"""
from __future__ import annotations

import re

from charset_normalizer import from_bytes

from core.ingest.cleaning import chapters_from_lines, join_hyphens, reflow
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
    except UnicodeDecodeError:
        pass
    # Mostly valid UTF-8 with a few broken bytes (a cut-off file, a bad copy): keep UTF-8 and mark
    # the damage, rather than letting detection pick a single-byte code page that garbles the rest.
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    if sum(1 for ch in text[:2_000_000] if ord(ch) > 127) - bad >= 3 * bad:
        return text, "utf-8"
    guess = _cyrillic_encoding(data[:1 << 16]) or _western_encoding(data[:1 << 16])
    if guess:
        return data.decode(guess, errors="replace"), guess
    best = from_bytes(data[:1 << 20]).best()
    if best is None:
        raise IngestError(f"{name}: could not recognise the text encoding (binary or damaged file?)")
    encoding = best.encoding
    text = data.decode(encoding, errors="replace")
    if _control_ratio(text) > 0.05:
        raise IngestError(f"{name}: binary data, not text (is it really a text file?)")
    return text, encoding


_CYRILLIC_CODECS = ("cp1251", "koi8_r", "mac_cyrillic", "cp866", "iso8859_5")
_RUSSIAN = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯіїєґІЇЄҐ"
                     "—–«»„“”‘’…№ \u00a0")
_MIXED = re.compile(r"[A-Za-z][\u0400-\u04ff]|[\u0400-\u04ff][A-Za-z]")
_FREQUENT = frozenset("оеаинтсрвлікудОЕАИНТСРВЛІКУД")


def _cyrillic_encoding(sample: bytes) -> str | None:
    """The single-byte Cyrillic code page that makes ``sample`` read as Russian/Ukrainian, if any.

    charset-normalizer guesses wrong on short texts (KOI8-R as cp932, cp1251 with an em dash as
    mac_cyrillic). Each code page is tried instead: the right one turns nearly every non-ASCII
    byte into a Cyrillic letter or Russian punctuation, mostly lower case (KOI8-R read as cp1251
    comes out in capitals), in whole words (Western text read as cp1251 puts single Cyrillic
    letters inside Latin words, 'cafй').
    """
    high = len(sample) - len(sample.translate(None, bytes(range(128))))
    if high < 8:
        return None
    for codec in _CYRILLIC_CODECS:  # most common first: the first that reads as Russian wins
        text = sample.decode(codec, errors="replace")
        foreign = [ch for ch in text if ord(ch) > 127]
        letters = [ch for ch in foreign if ch.isalpha()]
        if not letters:
            continue
        russian = sum(ch in _RUSSIAN for ch in foreign) / len(foreign)
        lower = sum(ch.islower() for ch in letters) / len(letters)
        mixed = len(_MIXED.findall(text)) / len(letters)
        # The dozen commonest letters make up about two thirds of Russian or Ukrainian text; a wrong
        # table scrambles letters and lands near one third.
        frequent = sum(ch in _FREQUENT for ch in letters) / len(letters)
        if russian >= 0.95 and lower >= 0.6 and mixed < 0.05 and frequent >= 0.5:
            return codec
    return None


_GLUED = re.compile(r"[^\W\d_][²³¹¿¡ªº°§©®·×÷¥¢£¤¦¨¬¯´¸¾¼½][^\W\d_]")
_WESTERN = frozenset("–—‘’‚“”„…€«»°§©®™·•×÷¿¡ªº²³¹½¼¾£¥¢\u00a0")


def _western_encoding(sample: bytes) -> str | None:
    """cp1252 when every non-ASCII character it gives is a Latin letter or usual punctuation
    (charset-normalizer reads short French as mac_latin2: 'cafť')."""
    try:
        text = sample.decode("cp1252")
    except UnicodeDecodeError:
        return None
    foreign = [ch for ch in text if ord(ch) > 127]
    fine = sum((ch.isalpha() and ch < "\u0250") or ch in _WESTERN for ch in foreign)
    if _GLUED.search(text):  # '³' or '¿' inside a word: Central European text (cp1250), not this
        return None
    return "cp1252" if foreign and fine >= 0.98 * len(foreign) else None


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
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if config is None or getattr(config, "join_hyphens", True):
        text, joins = join_hyphens(text)
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
    doc = _read_decoded(path, text, encoding, config)
    damaged = text.count("\ufffd")
    if damaged:
        doc.warnings.append(f"{damaged} undecodable byte sequence(s) replaced by '\ufffd' (damaged file?)")
    return doc


def _read_decoded(path: str, text: str, encoding: str, config) -> Document:
    if path.lower().endswith((".srt", ".vtt")):
        doc = read_text(path, subtitle_text(text), encoding, config)
        doc.format = "subtitles"
        return doc
    if path.lower().endswith((".md", ".markdown")):
        return read_markdown(path, text, encoding, config)
    return read_text(path, text, encoding, config)
