"""HTML/XHTML element trees → headings and paragraphs in reading order (EPUB, web pages, MOBI).

Only text is taken: scripts, styles, forms, navigation, embedded objects and footnote markers
are skipped, and nothing a page links to is loaded. ``<br>`` keeps its line break (poems).
"""
from __future__ import annotations

import re

from core.ingest.document import SectionBuilder

SKIP = {"script", "style", "head", "noscript", "template", "iframe", "object", "embed", "svg", "math", "form",
        "button", "select", "input", "textarea", "nav", "canvas", "audio", "video", "map", "title", "meta",
        "link", "aside"}
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
BLOCKS = {"p", "div", "li", "blockquote", "pre", "dd", "dt", "figcaption", "caption", "tr", "address", "section",
          "article", "main", "header", "footer", "ul", "ol", "dl", "table", "tbody", "thead", "tfoot", "figure",
          "body", "html", "center", "td", "th", "hr", "details", "summary", "fieldset", "legend"}
_NOISE_CLASS = re.compile(r"(?:^|[\s_-])(?:editsection|mw-editsection|noprint|navbox|reflist-hide|"
                          r"footnote-?ref|noteref|screen-?reader|sr-only|visually-hidden)(?:$|[\s_-])", re.I)
_MARKER = re.compile(r"^\s*[\[(]?\s*(?:\d{1,3}|[a-z]|[*†‡§])\s*[\])]?\s*$")


def local(tag) -> str:
    """Tag name without namespace, lower case ('' for comments and processing instructions)."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def _skipped(el) -> bool:
    name = local(el.tag)
    if not name or name in SKIP:
        return True
    cls = el.get("class") or ""
    if cls and _NOISE_CLASS.search(cls):
        return True
    epub_type = el.get("{http://www.idpf.org/2007/ops}type") or el.get("epub:type") or ""
    if "noteref" in epub_type or "pagebreak" in epub_type:
        return True
    marker_like = name == "sup" or (name == "a" and (el.get("href") or "").startswith("#"))
    if marker_like and _MARKER.match(_text(el, inline_only=True)):
        return True  # footnote marker like [12] or *
    return el.get("hidden") is not None or "display:none" in (el.get("style") or "").replace(" ", "")


def _flat(text: str | None) -> str:
    """Source line breaks are layout, not text: only <br> makes a line break."""
    return " ".join(text.split("\n")) if text else ""


def _text(el, inline_only: bool = False) -> str:
    """Text of an inline run; <br> becomes a line break."""
    parts: list[str] = [_flat(el.text)]
    for child in el:
        name = local(child.tag)
        if name == "br":
            parts.append("\n")
        elif name and not (not inline_only and _skipped(child)):
            parts.append(_text(child, inline_only))
        parts.append(_flat(child.tail))
    return "".join(parts)


def _clean(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def walk(root, builder: SectionBuilder, min_level: int = 0) -> None:
    """Emit the headings and paragraphs under ``root`` into ``builder`` in document order.

    ``min_level`` shifts heading levels (an EPUB chapter file's <h1> under a book).
    """
    inline: list[str] = []

    def flush() -> None:
        text = _clean("".join(inline))
        inline.clear()
        if text:
            builder.paragraph(text)

    def visit(el) -> None:
        name = local(el.tag)
        if _skipped(el):
            return
        if name in HEADINGS:
            flush()
            builder.heading(_clean(_text(el)).replace("\n", " "), HEADINGS[name] + min_level)
            return
        if name in BLOCKS:
            flush()
            if name == "pre":
                text = "".join(el.itertext()).strip("\n")
                if text.strip():
                    builder.paragraph(text)
                return
            if name == "tr":
                cells = [_clean(_text(c)).replace("\n", " ") for c in el if local(c.tag) in ("td", "th")]
                cells = [c for c in cells if c]
                if cells:
                    builder.paragraph(" | ".join(cells))
                return
            inline.append(_flat(el.text))
            for child in el:
                visit(child)
                inline.append(_flat(child.tail))
            flush()
            return
        if name == "br":
            inline.append("\n")
            return
        if name == "img":
            return
        inline.append(_flat(el.text))
        for child in el:
            visit(child)
            inline.append(_flat(child.tail))

    visit(root)
    flush()
