"""What a reader produces: a ``Document`` (title, author, language, sections of paragraphs).

Kept apart from the readers so every format module, the cleaning steps and the pipeline share
one shape without importing each other. ``stats`` collects counts of what reading and cleaning
changed (headers removed, hyphens joined …); ``warnings`` are one-line notes for the user that
do not stop the file from being used (they turn its outcome into "ok with warnings").
"""
from __future__ import annotations

from dataclasses import dataclass, field


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
    author: str = ""
    language: str = ""
    stats: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(p for s in self.sections for p in s.paragraphs)

    @property
    def paragraph_count(self) -> int:
        return sum(len(s.paragraphs) for s in self.sections)

    def count(self, key: str, n: int = 1) -> None:
        """Add ``n`` to the named counter in ``stats`` (zero counts are not stored)."""
        if n:
            self.stats[key] = self.stats.get(key, 0) + n

    def to_dict(self) -> dict:
        return {"path": self.path, "title": self.title, "author": self.author, "language": self.language,
                "format": self.format, "encoding": self.encoding,
                "sections": [{"heading": s.heading, "level": s.level, "paragraphs": list(s.paragraphs)}
                             for s in self.sections]}


def _norm(text: str) -> str:
    return " ".join(text.lower().split()).strip(" .:")


class SectionBuilder:
    """Collects headings and paragraphs in reading order into sections (used by every reader).

    A heading starts a new section; paragraphs before any heading go to an untitled first
    section. Empty sections are dropped by ``sections()``.
    """

    def __init__(self, first_heading: str = "", first_level: int = 1) -> None:
        self._sections: list[Section] = [Section(first_heading, first_level)]

    def heading(self, text: str, level: int = 1) -> None:
        text = " ".join(text.split())
        if not text:
            return
        current = self._sections[-1]
        if not current.paragraphs and _norm(text) in _norm(current.heading):
            return  # the chapter title printed again under the table of contents' name for it
        if not current.paragraphs and current.heading and current.level < level:
            # "Part One" directly followed by "Chapter 1": keep both names, one section.
            current.heading = f"{current.heading} — {text}"
            current.level = level
        elif not current.paragraphs:
            current.heading, current.level = text, level
        else:
            self._sections.append(Section(text, level))

    def paragraph(self, text: str) -> None:
        text = text.strip()
        if text:
            self._sections[-1].paragraphs.append(text)

    def sections(self) -> list[Section]:
        return [s for s in self._sections if s.paragraphs]
