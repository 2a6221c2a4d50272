"""Saved web pages (.html, .htm, .xhtml): the article, not the navigation, ads or scripts.

readability-lxml (a port of Mozilla's Readability) picks the main content; a page it cannot
judge falls back to the whole body with navigation-like elements removed. The text encoding
comes from a BOM, then the page's own ``<meta charset>``, then detection. Scripts are never run
and nothing the page links to is fetched.
"""
from __future__ import annotations

import re

from core.ingest.document import Document, IngestError, SectionBuilder
from core.ingest.formats import markup
from core.ingest.formats.text import decode_text
from core.ingest.limits import html_parser

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w-]+)""", re.I)
_TITLE_SUFFIX = re.compile(r"\s+[-–—|·•]\s+[^-–—|·•]{2,40}$")
_BOILERPLATE = re.compile(r"nav|menu|sidebar|footer|header|banner|cookie|share|social|comment|breadcrumb|"
                          r"related|advert|promo|subscribe|toolbar|mw-navigation|catlinks|printfooter", re.I)


def decode_html(data: bytes, name: str) -> tuple[str, str]:
    if not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        match = _META_CHARSET.search(data[:8192])
        if match:
            encoding = match.group(1).decode("ascii", "replace").lower()
            try:
                return data.decode(encoding), encoding
            except (LookupError, UnicodeDecodeError):
                pass  # the page lies about its encoding: detect instead
    return decode_text(data, name)


def read(data: bytes, name: str, path: str, config) -> Document:
    import lxml.html

    text, encoding = decode_html(data, name)
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)  # lxml refuses str input with an encoding declaration
    if not text.strip():
        raise IngestError(f"{name}: the page is empty")
    try:
        page = lxml.html.document_fromstring(text, parser=html_parser())
    except Exception:  # lxml raises ParserError for documents with no elements at all
        raise IngestError(f"{name}: no readable HTML in the file") from None
    language = (page.get("lang") or page.get("{http://www.w3.org/XML/1998/namespace}lang") or "").split("-")[0].lower()
    title = _title(page) or _stem(path)
    article = _main_content(text, page)
    doc = Document(path, title, "html", encoding, [], language=language)
    builder = SectionBuilder()
    markup.walk(article, builder)
    doc.sections = builder.sections()
    return doc


def _stem(path: str) -> str:
    from pathlib import Path

    return Path(path).stem


def _title(page) -> str:
    h1 = page.find(".//h1")
    if h1 is not None and h1.text_content().strip():
        return " ".join(h1.text_content().split())
    title = page.find(".//title")
    if title is not None and title.text_content().strip():
        return _TITLE_SUFFIX.sub("", " ".join(title.text_content().split()))
    return ""


def _main_content(text: str, page):
    """The article element: readability's pick when it found enough text, else a cleaned body."""
    import lxml.html

    body = page.find(".//body")
    body = body if body is not None else page
    try:
        from readability import Document as Readable

        summary = Readable(text).summary(html_partial=True)
        article = lxml.html.fragment_fromstring(summary, create_parent="div", parser=html_parser())
        if len(article.text_content().strip()) >= 0.2 * len(body.text_content().strip()) or \
                len(article.text_content().strip()) > 2000:
            return article
    except Exception:  # readability gives up on odd pages; the fallback below still works
        pass
    for el in list(body.iter()):
        if not isinstance(el.tag, str) or el is body:
            continue
        marks = f"{el.get('id') or ''} {el.get('class') or ''} {el.get('role') or ''}"
        if el.tag in ("nav", "header", "footer", "aside") or (marks.strip() and _BOILERPLATE.search(marks)):
            if el.getparent() is not None:
                el.drop_tree()
    return body
