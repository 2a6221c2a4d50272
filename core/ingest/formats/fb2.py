"""FictionBook 2 (.fb2, and .fb2.zip via the archive layer): sections, titles, author, language.

FB2 is XML; the encoding declared in its prolog (often windows-1251) is honoured by the parser,
a UTF-8 BOM is fine, and a broken file is recovered where lxml can. Entities are never expanded
(``limits.parse_xml``). The main ``<body>`` is read; bodies named "notes"/"comments" hold
footnotes and are skipped, as are embedded ``<binary>`` images.
"""
from __future__ import annotations

from core.ingest.document import Document, SectionBuilder
from core.ingest.formats.markup import local
from core.ingest.limits import parse_xml

_PARA = {"p", "subtitle", "text-author"}
_CONTAINERS = {"cite", "epigraph", "annotation"}


def read(data: bytes, name: str, path: str, config) -> Document:
    root = parse_xml(data, name)
    info = _title_info(root)
    encoding = (root.getroottree().docinfo.encoding or "utf-8").lower()
    doc = Document(path, info.get("title") or _stem(path), "fb2", encoding, [], author=info.get("author", ""),
                   language=info.get("language", ""))
    builder = SectionBuilder()
    bodies = [b for b in root if local(b.tag) == "body"]
    main = [b for b in bodies if (b.get("name") or "").lower() not in ("notes", "comments", "footnotes")] or bodies[:1]
    for body in main:
        _walk(body, builder, 0)
    doc.sections = builder.sections()
    return doc


def _stem(path: str) -> str:
    from pathlib import Path

    return Path(path).stem


def _text(el) -> str:
    return " ".join("".join(el.itertext()).split())


def _walk(el, builder: SectionBuilder, depth: int) -> None:
    for child in el:
        name = local(child.tag)
        if name == "title":
            heading = " ".join(_text(p) for p in child if local(p.tag) == "p") or _text(child)
            if depth > 0:  # the body's own title repeats the book title; sections carry chapters
                builder.heading(heading, depth)
        elif name == "section":
            _walk(child, builder, depth + 1)
        elif name in _PARA:
            builder.paragraph(_text(child))
        elif name == "poem":
            for part in child.iter():
                part_name = local(part.tag)
                if part_name == "stanza":
                    lines = [_text(v) for v in part if local(v.tag) == "v"]
                    builder.paragraph("\n".join(line for line in lines if line))
                elif part_name in ("text-author", "subtitle") or (part_name == "p" and local(part.getparent().tag) == "title"):
                    builder.paragraph(_text(part))
        elif name in _CONTAINERS:
            _walk(child, builder, depth)
        elif name == "table":
            for row in child:
                cells = [_text(c) for c in row]
                builder.paragraph(" | ".join(c for c in cells if c))


def _title_info(root) -> dict:
    description = next((e for e in root if local(e.tag) == "description"), None)
    info = next((e for e in description if local(e.tag) == "title-info"), None) if description is not None else None
    if info is None:
        return {}
    out = {}
    for el in info:
        name = local(el.tag)
        if name == "book-title" and "title" not in out:
            out["title"] = _text(el)
        elif name == "author" and "author" not in out:
            parts = {local(p.tag): _text(p) for p in el}
            full = " ".join(parts.get(k, "") for k in ("first-name", "middle-name", "last-name")).split()
            out["author"] = " ".join(full) or parts.get("nickname", "")
        elif name == "lang" and "language" not in out:
            out["language"] = _text(el).lower()[:2]
    return {k: v for k, v in out.items() if v}
