"""Word-processor files: .docx (python-docx), .odt (its content.xml), .rtf (striprtf), legacy .doc.

Headings become sections: DOCX by paragraph style ("Heading 1"…, "Title", or the style's
outline level), ODT by ``text:h`` outline levels. Tables are read row by row. Both zip-based
formats are opened through ``SafeZip`` first so a bomb is refused before python-docx or lxml
see it; their XML is parsed without entities or network. Legacy binary .doc and encrypted
Office files get a message that says what to do instead. A .docx or .odt cut short (its zip
directory lost) is read from its main XML part — whole if it survived, else up to the cut.
"""
from __future__ import annotations

import io
import re

from core.ingest.document import Document, IngestError, SectionBuilder
from core.ingest.formats.markup import local
from core.ingest.limits import Limits, SafeZip, parse_xml

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADING_STYLE = re.compile(r"^(?:heading|заголовок|überschrift|titre|título)\s*(\d)", re.I)
_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"


def _stem(path: str) -> str:
    from pathlib import Path

    return Path(path).stem


def ole_message(data: bytes, name: str) -> str:
    """Why an OLE2 (old Office container) file cannot be read, in words a user can act on."""
    if "EncryptionInfo".encode("utf-16-le") in data[:1 << 20] or b"E\x00n\x00c\x00r\x00y\x00p\x00t" in data:
        return f"{name}: password-protected Office document — save an unprotected copy and add that"
    return (f"{name}: legacy Word 97–2003 (.doc) format is not supported — open it in Word or LibreOffice "
            f"and save it as .docx")


def read_doc(data: bytes, name: str, path: str, config) -> Document:
    raise IngestError(ole_message(data, name))


def read_docx(data: bytes, name: str, path: str, config, limits: Limits | None = None) -> Document:
    if data.startswith(OLE_MAGIC):
        raise IngestError(ole_message(data, name))
    archive = SafeZip(data, name, limits or Limits())  # caps first: python-docx would unpack blindly
    if archive.recovered:
        return _read_docx_recovered(archive, name, path)
    if not archive.find("word/document.xml"):
        raise IngestError(f"{name}: not a Word document inside (damaged, or another kind of file renamed .docx?)")
    parse_xml(archive.read("word/document.xml"), name)  # refuses entity declarations before python-docx parses it
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises assorted errors for broken packages
        raise IngestError(f"{name}: damaged Word document ({type(exc).__name__})") from None
    props = document.core_properties
    doc = Document(path, (props.title or "").strip() or _stem(path), "docx", "utf-8", [],
                   author=(props.author or "").strip(), language=(props.language or "").split("-")[0].lower())
    builder = SectionBuilder()
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                try:
                    cells = _unique(cell.text.strip() for cell in row.cells)
                except Exception:  # malformed merged cells: skip the row rather than the file
                    continue
                if cells:
                    builder.paragraph(" | ".join(cells))
            continue
        text = block.text.strip()
        if not text:
            continue
        level = _docx_heading_level(block)
        if level < 0 and _looks_like_heading(block, text):
            level = 2
        if level == 0 and doc.title == _stem(path):
            doc.title = text
        if level >= 0:
            builder.heading(text, max(level, 1))
        else:
            builder.paragraph(text)
    doc.sections = builder.sections()
    return doc


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _main_part(archive: SafeZip, member: str, name: str, kind: str) -> tuple[bytes, str]:
    """A cut file's main XML part: whole when it survived, else as much as its data gives; and
    the note saying which ("the file ends early; …")."""
    found = archive.find(member)
    if found:
        return archive.read(found), "the file ends early; all of its text was read"
    partial = archive.read_partial(member)
    if not partial:
        raise IngestError(f"{name}: damaged {kind} — the file ends before any of its text")
    return partial, "the file ends early; its text is read up to where the file stops"


def _read_docx_recovered(archive: SafeZip, name: str, path: str) -> Document:
    """A cut .docx (python-docx needs the package index, which sits at the end): the paragraphs,
    headings and table rows of word/document.xml, read straight from its XML."""
    xml, note = _main_part(archive, "word/document.xml", name, "Word document")
    root = parse_xml(xml, name)
    doc = Document(path, _stem(path), "docx", "utf-8", [])
    builder = SectionBuilder()
    body = next((e for e in root.iter(f"{_W}body")), root)
    for block in body:
        if block.tag == f"{_W}tbl":
            for row in block.iter(f"{_W}tr"):
                cells = _unique(_w_text(cell).strip() for cell in row.iter(f"{_W}tc"))
                if cells:
                    builder.paragraph(" | ".join(cells))
        elif block.tag == f"{_W}p":
            text = _w_text(block).strip()
            style = block.find(f"{_W}pPr/{_W}pStyle")
            style = style.get(f"{_W}val", "") if style is not None else ""
            match = _HEADING_STYLE.match(style)
            if text and (match or style.lower() == "title"):
                builder.heading(text, max(int(match.group(1)) if match else 1, 1))
            elif text and _w_looks_like_heading(block, text):
                builder.heading(text, 2)
            elif text:
                builder.paragraph(text)
    doc.sections = builder.sections()
    doc.warnings.append(note)
    return doc


def _w_looks_like_heading(paragraph, text: str) -> bool:
    """``_looks_like_heading`` for raw XML: a short line typed in CAPITALS or bold throughout."""
    if len(text) > 80 or text[-1] in ".,;:!?" or len(text.split()) > 10:
        return False
    runs = [r for r in paragraph.iter(f"{_W}r") if "".join(t.text or "" for t in r.iter(f"{_W}t")).strip()]
    bold = bool(runs) and all(r.find(f"{_W}rPr/{_W}b") is not None and
                              r.find(f"{_W}rPr/{_W}b").get(f"{_W}val", "true") not in ("0", "false") for r in runs)
    return bold or (text.isupper() and len(text) > 3)


def _w_text(el) -> str:
    parts = []
    for node in el.iter(f"{_W}t", f"{_W}tab", f"{_W}br"):
        parts.append(node.text or "" if node.tag == f"{_W}t" else "\t" if node.tag == f"{_W}tab" else "\n")
    return "".join(parts)


def _unique(cells) -> list[str]:
    out: list[str] = []
    for cell in cells:  # merged cells repeat their text once per spanned column
        if cell and (not out or out[-1] != cell):
            out.append(cell)
    return out


def _looks_like_heading(paragraph, text: str) -> bool:
    """Headings typed as bold or CAPITALS in a 'Normal' paragraph (common in hand-made documents)."""
    if len(text) > 80 or text[-1] in ".,;:!?" or len(text.split()) > 10:
        return False
    runs = [r for r in paragraph.runs if r.text.strip()]
    bold = bool(runs) and all(r.bold for r in runs)
    return bold or (text.isupper() and len(text) > 3)


def _docx_heading_level(paragraph) -> int:
    """0 for Title, 1–9 for headings, -1 for body text."""
    try:
        style = paragraph.style
    except Exception:
        return -1
    while style is not None:
        name = style.name or ""
        if name.lower() == "title":
            return 0
        match = _HEADING_STYLE.match(name)
        if match:
            return int(match.group(1))
        outline = style.element.find(".//{http://schemas.openxmlformats.org/wordprocessingml/2006/main}outlineLvl")
        if outline is not None:
            value = outline.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}val")
            if value and value.isdigit() and int(value) < 9:
                return int(value) + 1
        style = style.base_style
    return -1


def read_odt(data: bytes, name: str, path: str, config, limits: Limits | None = None) -> Document:
    if data.startswith(OLE_MAGIC):
        raise IngestError(ole_message(data, name))
    archive = SafeZip(data, name, limits or Limits())
    note = ""
    if archive.recovered:
        content, note = _main_part(archive, "content.xml", name, "OpenDocument text")
    elif not archive.find("content.xml"):
        raise IngestError(f"{name}: not an OpenDocument text inside (damaged or renamed file?)")
    if archive.find("META-INF/manifest.xml") and b"encryption-data" in archive.read("META-INF/manifest.xml"):
        raise IngestError(f"{name}: password-protected document — save an unprotected copy and add that")
    root = parse_xml(content if note else archive.read("content.xml"), name)
    meta = _odt_meta(archive, name)
    doc = Document(path, meta.get("title") or _stem(path), "odt", "utf-8", [], author=meta.get("author", ""),
                   language=meta.get("language", ""))
    builder = SectionBuilder()
    body = next((e for e in root.iter() if local(e.tag) == "text" and e.getparent() is not None
                 and local(e.getparent().tag) == "body"), root)
    _odt_walk(body, builder)
    doc.sections = builder.sections()
    if note:
        doc.warnings.append(note)
    return doc


def _odt_text(el) -> str:
    parts = [el.text or ""]
    for child in el:
        name = local(child.tag)
        if name == "s":
            parts.append(" " * int(child.get(f"{{{_TEXT_NS}}}c", "1") or 1))
        elif name == "tab":
            parts.append("\t")
        elif name == "line-break":
            parts.append("\n")
        elif name in ("note", "annotation", "bookmark-ref", "tracked-changes", "soft-page-break"):
            pass  # footnotes and comments are not part of the running text
        else:
            parts.append(_odt_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _odt_walk(el, builder: SectionBuilder) -> None:
    for child in el:
        name = local(child.tag)
        if name == "h":
            level = child.get(f"{{{_TEXT_NS}}}outline-level") or "1"
            builder.heading(_odt_text(child), int(level) if level.isdigit() else 1)
        elif name == "p":
            builder.paragraph(_odt_text(child))
        elif name == "table-row":
            cells = [" ".join(_odt_text(p) for p in cell.iter() if local(p.tag) == "p").strip() for cell in child
                     if local(cell.tag) == "table-cell"]
            cells = [c for c in cells if c]
            if cells:
                builder.paragraph(" | ".join(cells))
        elif name in ("tracked-changes", "sequence-decls", "variable-decls", "user-field-decls", "table-of-content"):
            continue
        else:
            _odt_walk(child, builder)


def _odt_meta(archive: SafeZip, name: str) -> dict:
    if not archive.find("meta.xml"):
        return {}
    try:
        root = parse_xml(archive.read("meta.xml"), name)
    except IngestError:
        return {}
    out = {}
    for el in root.iter():
        key = {"title": "title", "initial-creator": "author", "creator": "author", "language": "language"}.get(local(el.tag))
        text = " ".join((el.text or "").split())
        if key and text and key not in out:
            out[key] = text.split("-")[0].lower() if key == "language" else text
    return out


_ANSICPG = re.compile(rb"\\ansicpg(\d{3,5})")


def read_rtf(data: bytes, name: str, path: str, config) -> Document:
    from striprtf.striprtf import rtf_to_text

    if not data.lstrip().startswith(b"{\\rtf"):
        raise IngestError(f"{name}: not an RTF document (damaged or renamed file?)")
    match = _ANSICPG.search(data[:4096])
    encoding = f"cp{int(match.group(1))}" if match else "cp1252"
    try:
        "".encode(encoding)
    except LookupError:
        encoding = "cp1252"
    try:
        text = rtf_to_text(data.decode("latin-1"), encoding=encoding, errors="replace")
    except Exception as exc:  # striprtf is a tokenizer without error types of its own
        raise IngestError(f"{name}: damaged RTF document ({type(exc).__name__})") from None
    doc = Document(path, _stem(path), "rtf", encoding, [])
    builder = SectionBuilder(_stem(path))
    for paragraph in re.split(r"\n\s*\n|\n", text):
        builder.paragraph(" ".join(paragraph.split()))
    doc.sections = builder.sections()
    return doc
