"""Kindle/Mobipocket books (.mobi, .azw, .azw3) through the ``mobi`` package (KindleUnpack).

The book is unpacked to a temporary folder: KF8 books become an EPUB, older ones one HTML file,
which the EPUB and HTML readers then read. DRM-protected books are recognised from the
MOBI header before unpacking and refused with a clear reason.
"""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import struct
import tempfile

from core.ingest.document import Document, IngestError


def drm_protected(data: bytes) -> bool:
    """The PalmDOC header's encryption field (0 = none) of record 0."""
    if len(data) < 86 or data[60:68] not in (b"BOOKMOBI", b"TEXtREAd"):
        return False
    record0 = struct.unpack(">I", data[78:82])[0]
    if record0 + 14 > len(data):
        return False
    return struct.unpack(">H", data[record0 + 12:record0 + 14])[0] != 0


def read(data: bytes, name: str, path: str, config, limits=None) -> Document:
    if data[60:68] not in (b"BOOKMOBI", b"TEXtREAd"):
        raise IngestError(f"{name}: not a Kindle/Mobipocket book (damaged or renamed file?)")
    if drm_protected(data):
        raise IngestError(f"{name}: protected by DRM (Kindle encryption) — cannot be read")
    try:
        import mobi
    except ImportError:
        raise IngestError(f"{name}: Kindle books need the 'mobi' package (pip install mobi)") from None
    folder = tempfile.mkdtemp(prefix="scriptorium-mobi-")
    try:
        source = os.path.join(folder, "book.mobi")
        with open(source, "wb") as fh:
            fh.write(data)
        try:
            # KindleUnpack prints progress on stdout; keep the CLI's --json stdout clean.
            with contextlib.redirect_stdout(io.StringIO()):
                _, unpacked = mobi.extract(source)
        except Exception as exc:  # KindleUnpack raises bare exceptions for anything odd
            raise IngestError(f"{name}: damaged or unsupported Kindle book ({exc})") from None
        with open(unpacked, "rb") as fh:
            content = fh.read()
        if unpacked.endswith(".epub"):
            from core.ingest.formats import epub
            doc = epub.read(content, name, path, config, limits)
        elif unpacked.endswith(".pdf"):
            from core.ingest.formats import pdf
            doc = pdf.read(content, name, path, config)
        else:
            from core.ingest.formats import html
            doc = html.read(content, name, path, config)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    doc.format = "mobi"
    return doc
