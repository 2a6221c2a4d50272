"""EPUB 2 and 3: the spine in reading order, chapter titles from the nav document or toc.ncx.

The container is opened through ``SafeZip`` (decompression caps) and every XML file is parsed
without entities or network (``limits.parse_xml``); XHTML that is not well-formed falls back to
the HTML parser, as reading systems do. Each spine file starts a chapter named by the table of
contents (or by its first heading); headings inside a file start sub-sections. Files whose
content is encrypted (Adobe/Apple/Readium DRM, not mere font obfuscation) are refused. A book
cut short keeps its complete chapter files ("9 of 13 chapter files read; the file ends early");
when its package file was in the lost part, its XHTML files are read in the order of their names.
"""
from __future__ import annotations

import posixpath
import re
from urllib.parse import unquote

from core.ingest.document import Document, IngestError, SectionBuilder
from core.ingest.formats import markup
from core.ingest.limits import Limits, SafeZip, html_parser, parse_xml

_FONT_OBFUSCATION = {"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"}
_DC = "{http://purl.org/dc/elements/1.1/}"
_NUMBERS = re.compile(r"(\d+)")


def read(data: bytes, name: str, path: str, config, limits: Limits | None = None) -> Document:
    archive = SafeZip(data, name, limits or Limits())
    try:
        opf_path = _rootfile(archive, name)
    except IngestError:
        if not archive.recovered:
            raise
        return _read_without_package(archive, name, path)  # the package file was in the lost part
    opf = parse_xml(archive.read(opf_path), name)
    base = posixpath.dirname(opf_path)
    _check_drm(archive, name)

    manifest = {}
    for item in opf.iter():
        if markup.local(item.tag) == "item" and item.get("href"):
            href = posixpath.normpath(posixpath.join(base, unquote(item.get("href"))))
            manifest[item.get("id")] = (href, item.get("media-type", ""), item.get("properties", ""))
    spine_el = next((e for e in opf.iter() if markup.local(e.tag) == "spine"), None)
    if spine_el is None:
        raise IngestError(f"{name}: damaged EPUB (its package file lists no reading order)")
    spine = [manifest[ref.get("idref")][0] for ref in spine_el if markup.local(ref.tag) == "itemref"
             and ref.get("idref") in manifest and "html" in manifest[ref.get("idref")][1] + manifest[ref.get("idref")][0]]
    nav = next((href for href, kind, props in manifest.values() if "nav" in props.split()), None)
    ncx = manifest.get(spine_el.get("toc") or "", (None,))[0] or next(
        (href for href, kind, _ in manifest.values() if kind == "application/x-dtbncx+xml"), None)
    toc = _toc(archive, nav, ncx, name)

    meta = _metadata(opf)
    doc = Document(path, meta.get("title") or _stem(path), "epub", "utf-8", [], author=meta.get("author", ""),
                   language=meta.get("language", ""))
    builder = SectionBuilder()
    missing = 0
    for href in spine:
        if href == nav:
            continue  # the table of contents page itself is a list of links, not text
        try:
            content = archive.read(href)
        except IngestError:
            missing += 1
            continue
        root = _parse_xhtml(content, name)
        body = next((e for e in root.iter() if markup.local(e.tag) == "body"), root)
        title = toc.get(href)
        if title:
            builder.heading(title, 1)
        # A file without a toc entry or heading continues the previous chapter (split files).
        markup.walk(body, builder, min_level=1 if title else 0)
    total = sum(1 for href in spine if href != nav)
    if archive.recovered and missing == total:
        raise IngestError(f"{name}: the EPUB ends early, before any of its {total} chapter files is complete")
    if archive.recovered:
        doc.stats.update(parts_read=total - missing, parts_total=total, parts_unit="chapter files")
        doc.warnings.append(f"{total - missing} of {total} chapter files read; the file ends early")
    elif missing:
        doc.warnings.append(f"{missing} chapter file(s) missing from the EPUB were skipped")
    doc.sections = builder.sections()
    return doc


def _read_without_package(archive: SafeZip, name: str, path: str) -> Document:
    """A cut EPUB whose package file (reading order, titles) is lost: its complete XHTML files in
    the order of their names, numbers compared as numbers (ch2 before ch10), as most books name them."""
    files = sorted((n for n in archive.names() if n.lower().endswith((".xhtml", ".html", ".htm"))
                    and posixpath.basename(n).lower() not in ("nav.xhtml", "toc.xhtml", "toc.html")),
                   key=lambda n: [int(part) if part.isdigit() else part.lower() for part in _NUMBERS.split(n)])
    if not files:
        raise IngestError(f"{name}: the EPUB ends early and no complete chapter is left in it")
    _check_drm(archive, name)
    doc = Document(path, _stem(path), "epub", "utf-8", [])
    builder = SectionBuilder()
    for href in files:
        root = _parse_xhtml(archive.read(href), name)
        markup.walk(next((e for e in root.iter() if markup.local(e.tag) == "body"), root), builder, min_level=1)
    doc.sections = builder.sections()
    doc.stats.update(parts_read=len(files), parts_total=0, parts_unit="chapter files")
    doc.warnings.append(f"{len(files)} chapter files read, in the order of their names; the file ends early and "
                        f"its table of contents is lost")
    return doc


def _stem(path: str) -> str:
    from pathlib import Path

    return Path(path).stem


def _rootfile(archive: SafeZip, name: str) -> str:
    container = archive.find("META-INF/container.xml")
    if container:
        root = parse_xml(archive.read(container), name)
        for el in root.iter():
            if markup.local(el.tag) == "rootfile" and el.get("full-path"):
                found = archive.find(el.get("full-path"))
                if found:
                    return found
    opf = next((n for n in archive.names() if n.lower().endswith(".opf")), None)
    if opf is None:
        raise IngestError(f"{name}: not a readable EPUB (no package file inside; damaged or incomplete?)")
    return opf


def _check_drm(archive: SafeZip, name: str) -> None:
    if archive.find("META-INF/rights.xml"):
        raise IngestError(f"{name}: protected by DRM (Adobe/Kindle rights file) — cannot be read")
    enc = archive.find("META-INF/encryption.xml")
    if not enc:
        return
    root = parse_xml(archive.read(enc), name)
    algorithms = {e.get("Algorithm") for e in root.iter() if markup.local(e.tag) == "encryptionmethod"}
    if algorithms - _FONT_OBFUSCATION - {None}:
        raise IngestError(f"{name}: protected by DRM (encrypted content) — cannot be read")


def _parse_xhtml(content: bytes, name: str):
    try:
        return parse_xml(content, name, recover_ok=False)
    except IngestError as exc:
        if "refused for safety" in str(exc):
            raise
        import lxml.html

        return lxml.html.document_fromstring(content, parser=html_parser())


def _metadata(opf) -> dict:
    meta = {}
    for el in opf.iter():
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag.startswith(_DC):
            key = {"title": "title", "creator": "author", "language": "language"}.get(tag[len(_DC):])
            text = " ".join((el.text or "").split())
            if key and text and key not in meta:
                meta[key] = text
    if "language" in meta:
        meta["language"] = meta["language"].split("-")[0].lower()
    return meta


def _toc(archive: SafeZip, nav: str | None, ncx: str | None, name: str) -> dict[str, str]:
    """spine file → chapter title (the first entry pointing into that file)."""
    toc: dict[str, str] = {}

    def add(base: str, target: str, title: str) -> None:
        title = " ".join(title.split())
        file = posixpath.normpath(posixpath.join(base, unquote(target.split("#")[0]))) if target else ""
        if file and title and file not in toc:
            toc[file] = title

    if nav and archive.find(nav):
        try:
            root = _parse_xhtml(archive.read(nav), name)
        except IngestError:
            root = None
        for el in root.iter() if root is not None else ():
            if markup.local(el.tag) == "nav" and "toc" in (el.get("{http://www.idpf.org/2007/ops}type") or
                                                           el.get("epub:type") or "toc"):
                for a in el.iter():
                    if markup.local(a.tag) == "a" and a.get("href"):
                        add(posixpath.dirname(nav), a.get("href"), "".join(a.itertext()))
                break
    if not toc and ncx and archive.find(ncx):
        try:
            root = parse_xml(archive.read(ncx), name)
        except IngestError:
            return toc
        for point in root.iter():
            if markup.local(point.tag) != "navpoint":
                continue
            label = next((e for e in point.iter() if markup.local(e.tag) == "text"), None)
            src = next((e for e in point if markup.local(e.tag) == "content"), None)
            if label is not None and src is not None and src.get("src"):
                add(posixpath.dirname(ncx), src.get("src"), label.text or "")
    return toc
