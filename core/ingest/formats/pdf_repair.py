"""PDF repair: reading what is left of a PDF that was cut short, and noticing damaged streams.

A PDF keeps its cross-reference table and trailer (which names the document catalog) at its
very end, so a file cut short loses them and PDFium refuses it — though most of its pages are
still there. PDFium can rebuild the table by scanning the objects, if it finds a trailer; so
``repair`` appends one: pointing at the file's own catalog when that and its page tree survived,
or at a new page tree of every complete page object found (also inside object streams, where
PDF 1.5+ writers keep them). The pages whose objects or content were cut off then read as empty,
and the reader says how many were read.

``stream_damage`` checks the compressed (Flate) streams of a PDF PDFium did open: a stream that
fails its checksum or ends early means the file is damaged, even where the text read looks
whole. Image streams and very large streams are not checked (cost, and they hold no text).
"""
from __future__ import annotations

import re
import zlib

_OBJ = re.compile(rb"(\d{1,7})\s+\d{1,5}\s+obj\b")
_TYPE = re.compile(rb"/Type\s*/(Catalog|Pages|Page|ObjStm)(?![A-Za-z])")
_PAGES_REF = re.compile(rb"/Pages\s+(\d{1,7})\s+\d{1,5}\s+R")
_INT = re.compile(rb"/(N|First|Length)\s+(\d+)(?!\s+\d+\s+R)")
_STREAM = re.compile(rb"stream\r?\n")
_FLATE_FIRST = re.compile(rb"/Filter\s*(?:\[\s*)?/FlateDecode")
_CHECK_BYTES = 16_000_000  # compressed bytes checked at most: content streams are small, images are skipped
_LARGEST = 2_000_000       # a single stream larger than this is an image or a font: not checked


def ends_early(data: bytes) -> bool:
    """Does the file stop before its end-of-file marker (cut short by a download or a copy)?"""
    return b"%%EOF" not in data[-2048:]


def repair(data: bytes) -> tuple[bytes, bool] | None:
    """(bytes PDFium can open, whether the page tree is new — then the pages the file had are
    unknown), or None when neither a catalog nor a page object survived."""
    catalogs: list[tuple[int, bytes]] = []
    pages: list[int] = []
    trees: set[int] = set()
    top = 0
    for number, body in _objects(data):
        top = max(top, number)
        match = _TYPE.search(body)
        kind = match.group(1) if match else b""
        if kind == b"Catalog":
            catalogs.append((number, body))
        elif kind == b"Page":
            pages.append(number)
        elif kind == b"Pages":
            trees.add(number)
    tail = b"\nendstream\nendobj\n"  # closes a stream or object the cut left open; stray otherwise
    for number, body in reversed(catalogs):  # the last catalog wins: incremental updates append
        ref = _PAGES_REF.search(body)
        if ref and int(ref.group(1)) in trees:
            return data + tail + b"trailer\n<< /Root %d 0 R /Size %d >>\n%%%%EOF\n" % (number, top + 1), False
    if not pages:
        return None
    tree, root = top + 1, top + 2
    kids = b" ".join(b"%d 0 R" % number for number in pages)
    extra = (b"%d 0 obj\n<< /Type /Pages /Kids [%s] /Count %d >>\nendobj\n" % (tree, kids, len(pages))
             + b"%d 0 obj\n<< /Type /Catalog /Pages %d 0 R >>\nendobj\n" % (root, tree))
    return data + tail + extra + b"trailer\n<< /Root %d 0 R /Size %d >>\n%%%%EOF\n" % (root, root + 1), True


def _objects(data: bytes):
    """(number, text) of every complete object: top-level ones (an ``endobj`` before the next
    object starts), then those packed in complete object streams."""
    heads = list(_OBJ.finditer(data))
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(data)
        close = data.rfind(b"endobj", head.end(), end)
        if close < 0:
            continue  # cut off
        body = data[head.end():close]
        yield int(head.group(1)), body
        if b"/ObjStm" in body[:512] and _TYPE.search(body[:512]):
            yield from _packed(body)


def _packed(body: bytes):
    """The objects inside one object stream (``/N`` objects, data from ``/First``)."""
    start = _STREAM.search(body)
    if start is None:
        return
    fields = {m.group(1): int(m.group(2)) for m in _INT.finditer(body[:start.start()])}
    try:
        raw = zlib.decompressobj().decompress(body[start.end():], 50_000_000)
    except zlib.error:
        return
    first, count = fields.get(b"First", 0), fields.get(b"N", 0)
    header = raw[:first].split()
    offsets = [(int(header[k]), int(header[k + 1])) for k in range(0, min(len(header) - 1, 2 * count), 2)
               if header[k].isdigit() and header[k + 1].isdigit()]
    for k, (number, offset) in enumerate(offsets):
        end = offsets[k + 1][1] if k + 1 < len(offsets) else len(raw) - first
        yield number, raw[first + offset:first + end]


def stream_damage(data: bytes) -> tuple[int, int]:
    """(damaged, checked) Flate streams: damaged ones fail to inflate, fail their checksum or
    stop before their end."""
    damaged = checked = budget = 0
    if b"/Encrypt" in data:
        return 0, 0  # encrypted streams (an owner password only) do not inflate before PDFium decrypts them
    for m in _STREAM.finditer(data):
        if data[m.start() - 3:m.start()] == b"end":
            continue
        head = data[max(0, m.start() - 400):m.start()]
        head = head[head.rfind(b"obj") + 1:] if b"obj" in head else head
        if not _FLATE_FIRST.search(head) or b"/Image" in head or not head.rstrip().endswith(b">>"):
            continue  # (in a filter chain like [/ASCII85Decode /FlateDecode] the data is not zlib yet)
        end = data.find(b"endstream", m.end(), m.end() + _LARGEST)
        if end < 0:
            continue  # larger than we check, or cut off (then the page count says so)
        budget += end - m.end()
        if budget > _CHECK_BYTES:
            break
        checked += 1
        inflater = zlib.decompressobj()
        try:
            inflater.decompress(data[m.end():end], 1)  # the first byte proves the header; then the rest
            while inflater.unconsumed_tail and not inflater.eof:
                inflater.decompress(inflater.unconsumed_tail, 1 << 20)
            if not inflater.eof:
                damaged += 1
        except zlib.error:
            damaged += 1
    return damaged, checked
