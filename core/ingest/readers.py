"""Readers: turn one file into a cleaned ``Document`` (title, author, language, sections).

``read_file(path)`` is the public entry: it picks the reader by the file's content first (a PDF
named .txt is still a PDF, an old Word file named .docx still gets the "save as .docx"
message) and by its extension otherwise, then runs the cleaning steps. Every failure is an
``IngestError`` whose message names the file and says, in plain words, what is wrong.
The format modules live in ``core.ingest.formats``; this module only dispatches.
"""
from __future__ import annotations

from pathlib import Path

from core.ingest.cleaning import clean_document
from core.ingest.document import Document, IngestError, Section
from core.ingest.formats.text import decode_text, read_markdown, read_text, split_paragraphs
from core.ingest.junk import all_junk
from core.ingest.limits import Limits, SafeZip, check_size
from core.ingest.textstats import guess_language

SUPPORTED = {".txt": "text", ".text": "text", ".srt": "text", ".vtt": "text",
             ".md": "markdown", ".markdown": "markdown", ".mdown": "markdown", ".mkd": "markdown",
             ".html": "html", ".htm": "html", ".xhtml": "html", ".xht": "html",
             ".pdf": "pdf", ".epub": "epub", ".fb2": "fb2", ".docx": "docx", ".docm": "docx", ".odt": "odt",
             ".rtf": "rtf", ".doc": "doc", ".mobi": "mobi", ".azw": "mobi", ".azw3": "mobi", ".prc": "mobi",
             ".zip": "zip"}
__all__ = ["SUPPORTED", "Document", "IngestError", "Section", "decode_text", "finish", "kind_of", "read_bytes",
           "read_file", "read_markdown", "read_text", "split_paragraphs", "zip_members"]
ARCHIVE_DEPTH = 2  # a .zip holding .fb2.zip files is common; deeper nesting is not a book


def kind_of(name: str, data: bytes) -> str:
    """The reader for these bytes: their magic number wins over the extension."""
    from core.ingest.formats.office import OLE_MAGIC

    suffix = Path(name).suffix.lower()
    ext_kind = SUPPORTED.get(suffix, "")
    if data[:1024].lstrip().startswith(b"%PDF") or (b"%PDF-" in data[:1024] and ext_kind in ("pdf", "")):
        return "pdf"
    if data.startswith(OLE_MAGIC):
        return "ole"
    if data.lstrip()[:5] == b"{\\rtf":
        return "rtf"
    if data[60:68] in (b"BOOKMOBI", b"TEXtREAd"):
        return "mobi"
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        if ext_kind in ("epub", "docx", "odt", "zip"):
            return ext_kind
        head = data[:4096]
        if b"mimetypeapplication/epub+zip" in head:
            return "epub"
        if b"mimetypeapplication/vnd.oasis.opendocument.text" in head:
            return "odt"
        if b"word/" in data[-65536:] and b"[Content_Types].xml" in data[-65536:]:
            return "docx"
        return "zip"
    return ext_kind


def read_bytes(data: bytes, name: str, path: str, config=None, limits: Limits | None = None,
               depth: int = 0) -> Document:
    """Bytes of one file → an uncleaned Document (``name`` is what messages call the file)."""
    from core.ingest.formats import epub, fb2, html, mobi, office, pdf, text

    limits = limits or Limits()
    if not data.strip():
        raise IngestError(f"{name}: the file is empty")
    kind = kind_of(name, data)
    readers = {"text": text.read, "markdown": text.read, "html": html.read, "pdf": pdf.read, "fb2": fb2.read,
               "rtf": office.read_rtf, "doc": office.read_doc, "ole": office.read_doc}
    zipped = {"epub": epub.read, "docx": office.read_docx, "odt": office.read_odt, "mobi": mobi.read}
    if kind in readers:
        return readers[kind](data, name, path, config)
    if kind in zipped:
        return zipped[kind](data, name, path, config, limits)
    if kind == "zip":
        return _read_single_member(data, name, path, config, limits, depth)
    raise IngestError(f"{name}: file type '{Path(name).suffix or 'none'}' is not supported "
                      f"(supported: {', '.join(sorted(SUPPORTED))})")


def zip_members(archive: SafeZip) -> list[str]:
    """Members a reader can use, in archive order (folders, hidden files and macOS forks skipped)."""
    out = []
    for member in archive.names():
        base = member.rsplit("/", 1)[-1]
        if base.startswith(".") or member.startswith("__MACOSX/"):
            continue
        suffix = Path(base).suffix.lower()
        if suffix in SUPPORTED:
            out.append(member)
    return out


def _read_single_member(data: bytes, name: str, path: str, config, limits: Limits, depth: int) -> Document:
    if depth >= ARCHIVE_DEPTH:
        raise IngestError(f"{name}: archives nested too deep — unpack it first")
    archive = SafeZip(data, name, limits)
    members = zip_members(archive)
    if not members and archive.cut:
        raise IngestError(f"{name}: the archive ends early — '{archive.cut[0]}' inside is cut off")
    if not members:
        raise IngestError(f"{name}: the archive holds no readable documents")
    if len(members) > 1:
        raise IngestError(f"{name}: the archive holds {len(members)} documents — add the archive itself "
                          f"(each file inside is read on its own) or unpack it first")
    member = members[0]
    return read_bytes(archive.read(member), f"{name}/{member}", path, config, limits, depth + 1)


def finish(doc: Document, name: str, config) -> Document:
    """Clean the document and fill in what readers leave open (language); refuse if no text is left."""
    if config is not None:
        clean_document(doc, config)
        junk = all_junk(doc)
        if junk:
            raise IngestError(f"{name}: {junk}")
    doc.sections = [s for s in doc.sections if s.paragraphs]
    if not doc.sections:
        raise IngestError(f"{name}: no text found in the file")
    if not doc.language:
        doc.language = guess_language(_opening(doc, 200_000))
    return doc


def _opening(doc: Document, size: int) -> str:
    """``doc.text``, or a start of it at least ``size`` characters long (joining a long book whole
    only to look at its start would cost more than the look)."""
    pieces, total = [], 0
    for section in doc.sections:
        for paragraph in section.paragraphs:  # (as ``doc.text``: paragraphs, no headings)
            pieces.append(paragraph)
            total += len(paragraph) + 2
            if total >= size + 2:
                return "\n\n".join(pieces)
    return "\n\n".join(pieces)


def read_file(path: Path | str, config=None) -> Document:
    """Read and clean a supported file; raise IngestError with a user-facing reason otherwise."""
    from core.config import CorpusConfig

    path = Path(path)
    config = config or CorpusConfig()
    limits = Limits.from_config(config)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise IngestError(f"{path.name}: file type '{path.suffix or 'none'}' is not supported yet "
                          f"(supported: {', '.join(sorted(SUPPORTED))})")
    try:
        check_size(path.stat().st_size, path.name, limits)
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path.name}: cannot be read ({exc.strerror or exc})") from None
    return finish(read_bytes(data, path.name, str(path), config, limits), path.name, config)
