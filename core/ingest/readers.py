"""Readers: turn one file into a ``Document`` (title + sections of paragraphs).

Only plain text and Markdown so far. Text encodings are detected: a BOM wins, then strict
UTF-8, then charset-normalizer (which tells windows-1251 from KOI8-R by letter statistics).
Anything that is not text gets an ``IngestError`` whose message a non-programmer understands.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from charset_normalizer import from_bytes

SUPPORTED = {".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown"}

_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


class IngestError(Exception):
    """A file cannot be used; ``str(err)`` is the one-line reason shown to the user."""


@dataclass
class Section:
    heading: str
    level: int
    paragraphs: list[str] = field(default_factory=list)


@dataclass
class Document:
    path: str
    title: str
    format: str
    encoding: str
    sections: list[Section]

    @property
    def text(self) -> str:
        return "\n\n".join(p for s in self.sections for p in s.paragraphs)

    def to_dict(self) -> dict:
        return {"path": self.path, "title": self.title, "format": self.format, "encoding": self.encoding,
                "sections": [s.__dict__ for s in self.sections]}


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """Bytes → (text, encoding name). Raises IngestError for binary or undecodable data."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                raise IngestError(f"{name}: starts like {encoding} text but is damaged") from None
    if b"\x00" in data[:65536]:
        raise IngestError(f"{name}: binary data, not text (is it really a .txt file?)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data[:1 << 20]).best()
    if best is None:
        raise IngestError(f"{name}: could not recognise the text encoding (binary or damaged file?)")
    encoding = best.encoding
    text = data.decode(encoding, errors="replace")
    if _control_ratio(text) > 0.05:
        raise IngestError(f"{name}: binary data, not text (is it really a text file?)")
    return text, encoding


def _control_ratio(text: str) -> float:
    sample = text[:20000]
    if not sample:
        return 0.0
    bad = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\n\r\t\f") or ch == "\ufffd")
    return bad / len(sample)


def split_paragraphs(text: str) -> list[str]:
    """Blank-line separated blocks; hard-wrapped lines inside a block are joined with spaces."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if lines:
            paragraphs.append(" ".join(lines))
    return paragraphs


def read_text(path: Path, text: str, encoding: str) -> Document:
    return Document(str(path), path.stem, "text", encoding, [Section(path.stem, 1, split_paragraphs(text))])


def read_markdown(path: Path, text: str, encoding: str) -> Document:
    """Headings start sections; the first level-1 heading becomes the title."""
    sections: list[Section] = [Section("", 1)]
    title = ""
    buffer: list[str] = []

    def flush() -> None:
        sections[-1].paragraphs.extend(split_paragraphs("\n".join(buffer)))
        buffer.clear()

    in_fence = False
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            flush()
            level, heading = len(match.group(1)), match.group(2)
            if level == 1 and not title:
                title = heading
            sections.append(Section(heading, level))
        else:
            buffer.append(line)
    flush()
    sections = [s for s in sections if s.paragraphs]
    return Document(str(path), title or path.stem, "markdown", encoding, sections)


def read_file(path: Path) -> Document:
    """Read a supported file; raise IngestError with a user-facing reason otherwise."""
    kind = SUPPORTED.get(path.suffix.lower())
    if kind is None:
        raise IngestError(f"{path.name}: file type '{path.suffix or 'none'}' is not supported yet "
                          f"(supported: {', '.join(sorted(SUPPORTED))})")
    data = path.read_bytes()
    if not data.strip():
        raise IngestError(f"{path.name}: the file is empty")
    text, encoding = decode_text(data, path.name)
    doc = read_markdown(path, text, encoding) if kind == "markdown" else read_text(path, text, encoding)
    if not any(s.paragraphs for s in doc.sections):
        raise IngestError(f"{path.name}: no text found in the file")
    return doc
