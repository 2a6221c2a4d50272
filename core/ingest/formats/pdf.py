"""PDF via PDFium (pypdfium2): fast text extraction with the page furniture taken off.

- Running headers and footers: lines at the top or bottom of pages that repeat on several pages
  are removed, and so are page numbers (a number that grows with the page index, alone or inside
  a header line such as "Chapter One 17"). Numbers that do not follow the pages ("Chapter 3")
  stay.
- Line-end hyphens are joined and hard-wrapped lines reflowed into paragraphs (cleaning.py);
  paragraphs run on across page breaks.
- Two-column pages (a clear vertical gutter between two text blocks) are read column by column,
  with any full-width title above and footer below in place.
- The PDF outline (bookmarks) gives the chapters when there is one.
- An encrypted PDF opens when its user password is empty; otherwise it is "password-protected".
  A PDF whose pages are only images gets "no text layer — needs OCR".
- Damage: a file cut short (no trailer) is repaired so PDFium reads the pages that are there
  (``pdf_repair.py``), and the warning says how many ("31 of 38 pages read; the file ends
  early"); a page PDFium cannot load costs that page only; corrupt compressed streams are named.
  Junk lines (operators a broken string spilled, glyphs without a Unicode map) are kept apart
  from the text around them, so cleaning drops them alone.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict

from core.ingest.cleaning import compounds_in, join_hyphens, reflow
from core.ingest.document import Document, IngestError, SectionBuilder
from core.ingest.formats.pdf_pages import read_pages_parallel
from core.ingest.formats.pdf_repair import ends_early, repair, stream_damage
from core.ingest.junk import junk_lines

_DIGITS = re.compile(r"\d+")
_PAGE_NUMBER = re.compile(r"^[\W_]*(?:page|p\.|стр\.?|страница)?\s*\d{1,4}(?:\s*(?:of|из|/)\s*\d{1,4})?[\W_]*$", re.I)
_EDGE = 3  # lines looked at on each end of a page


def read(data: bytes, name: str, path: str, config) -> Document:
    import pypdfium2 as pdfium

    repaired = None
    try:
        pdf = pdfium.PdfDocument(data)  # PDFium tries the empty user password by itself
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        if code == 4:
            raise IngestError(f"{name}: password-protected PDF — open it with its password and save an "
                              f"unprotected copy") from None
        if code == 5:
            raise IngestError(f"{name}: protected by DRM or an unsupported security handler — cannot be read") from None
        pdf, repaired = _open_repaired(data, name)
    try:
        meta = _metadata(pdf)
        outline = _outline(pdf)
        read = read_pages_parallel(pdf, data, repaired is not None)
    finally:
        pdf.close()
    pages = [lines for lines, _, _ in read]
    image_pages = sum(1 for _, image, _ in read if image)
    missing = sum(1 for _, _, lost in read if lost)
    doc = _build(pages, image_pages, outline, meta, name, path, config, missing)
    _note_damage(doc, data, len(pages), missing, repaired)
    return doc


def read_pages(pdf, indices, repaired: bool) -> list[tuple[list[str], bool, bool]]:
    """(lines, image only, missing) for each page index: its text lines in reading order; whether
    it is a scanned image; whether it is broken or cut off (its content past the end of a file)."""
    import pypdfium2 as pdfium

    out = []
    for index in indices:
        page = None
        try:
            page = pdf[index]
            textpage = page.get_textpage()
        except pdfium.PdfiumError:  # a page object that is gone or broken: the others still count
            if page is not None:
                page.close()
            out.append(([], False, True))
            continue
        try:
            text = _page_text(page, textpage)
            image = len(text.strip()) < 20 and _has_images(page)
            lost = not image and repaired and not text.strip()
        finally:
            textpage.close()
            page.close()
        # PDFium joins a word hyphenated at a line end itself and marks the spot with U+FFFE;
        # turning that back into "-\n" lets join_hyphens decide (and count) like for text files.
        text = text.replace("\ufffe", "-\n").replace("\r\n", "\n").replace("\r", "\n")
        out.append(([line.strip() for line in text.split("\n")], image, lost))
    return out


def _open_repaired(data: bytes, name: str):
    """PDFium's document for a file it refused, after ``pdf_repair.repair``; (pdf, page tree is new)."""
    import pypdfium2 as pdfium

    fixed = repair(data)
    if fixed is not None:
        try:
            return pdfium.PdfDocument(fixed[0]), fixed[1]
        except pdfium.PdfiumError:
            pass
    raise IngestError(f"{name}: damaged PDF that cannot be opened") from None


def _note_damage(doc: Document, data: bytes, total: int, missing: int, repaired: bool | None) -> None:
    """Say how much of a damaged PDF was read ("31 of 38 pages read; the file ends early")."""
    why = "the file ends early" if ends_early(data) else "the file is damaged"
    if repaired is not None or missing:
        read = total - missing
        doc.stats.update(parts_read=read, parts_total=0 if repaired else total, parts_unit="pages")
        if repaired:  # the page list itself was lost: how many pages there were is unknown
            doc.warnings.append(f"{read} pages read; {why} and the rest is lost")
        else:
            doc.warnings.append(f"{read} of {total} pages read; {why}")
        return
    damaged, checked = stream_damage(data)
    if damaged:
        doc.stats["damaged_streams"] = damaged
        doc.warnings.append(f"damaged PDF ({damaged} of {checked} compressed parts fail their check); "
                            f"the text that could be read is kept")


def _build(pages: list[list[str]], image_pages: int, outline: list[tuple[int, int, str]], meta: dict,
           name: str, path: str, config, missing: int = 0) -> Document:
    total = len(pages) - missing  # pages cut off or broken are not asked to hold text
    chars = sum(len(line) for page in pages for line in page)
    if not pages:
        raise IngestError(f"{name}: the PDF has no pages")
    if total == 0:
        raise IngestError(f"{name}: damaged PDF — none of its {len(pages)} pages could be read")
    if chars < 20 * total:
        if image_pages:
            raise IngestError(f"{name}: no text layer — needs OCR (the pages are scanned images)")
        raise IngestError(f"{name}: no text found in the PDF (empty pages, or text drawn as shapes)")
    doc = Document(path, meta.get("title") or _stem(path), "pdf", "", [], author=meta.get("author", ""))
    doc.stats["pages"] = len(pages)
    if image_pages:
        doc.warnings.append(f"{image_pages} of {total} pages have no text layer (scanned?) — those need OCR")
    if getattr(config, "remove_headers_footers", True):
        pages, removed = strip_running_lines(pages)
        doc.count("header_lines_removed", removed)
    starts = defaultdict(list)
    for level, page_index, title in outline:
        starts[page_index].append((level, title))
    builder = SectionBuilder(doc.title, 1)
    buffer: list[str] = []
    # Junk lines (operators a broken string spilled, glyphs without a Unicode map) stand apart, so
    # reflow makes them paragraphs of their own and cleaning drops them without the text around.
    threshold = getattr(config, "noise_threshold", 0.5)
    junk = junk_lines([line for page in pages for line in page], threshold) if threshold < 1 else set()
    flat = 0
    compounds = compounds_in("\n".join(line for page in pages for line in page)) if config is None or \
        getattr(config, "join_hyphens", True) else set()

    def flush() -> None:
        text = "\n".join(line for line in buffer if line)
        buffer.clear()
        if config is None or getattr(config, "join_hyphens", True):
            text, joins = join_hyphens(text, compounds)
            doc.count("hyphens_joined", joins)
        paragraphs, extra = reflow(text) if getattr(config, "reflow_paragraphs", True) else (text.split("\n"), 0)
        doc.count("paragraphs_reflowed", extra)
        for paragraph in paragraphs:
            builder.paragraph(paragraph)

    for index, lines in enumerate(pages):
        for level, title in starts.get(index, ()):
            flush()
            builder.heading(title, level)
            if lines and _same(lines[0], title):
                flat += 1
                lines = lines[1:]  # the chapter title printed on the page is the heading already
        if junk:
            for i, line in enumerate(lines, flat):
                buffer.extend(("\n", line, "\n") if i in junk else (line,))
        else:
            buffer.extend(lines)
        flat += len(lines)
    flush()
    doc.sections = builder.sections()
    return doc


def _same(a: str, b: str) -> bool:
    return " ".join(a.lower().split()) == " ".join(b.lower().split())


def _stem(path: str) -> str:
    from pathlib import Path

    return Path(path).stem


def strip_running_lines(pages: list[list[str]]) -> tuple[list[list[str]], int]:
    """Remove running headers/footers and page numbers; returns (pages, lines removed)."""
    pages = [[line for line in page if line] for page in pages]
    edges = [set(range(min(_EDGE, len(p)))) | set(range(max(len(p) - _EDGE, 0), len(p))) for p in pages]
    exact: Counter = Counter()
    numbered: dict[str, Counter] = defaultdict(Counter)
    shapes: dict[str, tuple[list[str], str]] = {}  # line → (its numbers, the line with "#" for them)

    def shape(line: str) -> tuple[list[str], str]:
        if line not in shapes:
            numbers = _DIGITS.findall(line)
            shapes[line] = numbers, (_DIGITS.sub("#", line) if numbers else line)
        return shapes[line]

    for index, (page, edge) in enumerate(zip(pages, edges)):
        seen = set()
        for i in edge:
            line = page[i]
            if len(line) > 150 or line in seen:
                continue
            seen.add(line)
            exact[line] += 1
            numbers, key = shape(line)
            if numbers:
                # A page number differs from the page index by a constant: that offset repeats.
                for pos, number in enumerate(numbers[:4]):
                    numbered[key][(pos, int(number) - index)] += 1
    repeated = {line for line, n in exact.items() if n >= 3 and len(pages) >= 3}
    page_offsets = {key: off for key, offsets in numbered.items() for off, n in offsets.most_common(1)
                    if n >= 3 or (n >= 2 and len(pages) <= 4)}
    removed = 0
    out = []
    for index, (page, edge) in enumerate(zip(pages, edges)):
        kept = []
        for i, line in enumerate(page):
            drop = False
            if i in edge:
                if line in repeated:
                    drop = True
                else:
                    numbers, key = shape(line)
                    pos, offset = page_offsets.get(key, (99, 0))
                    if pos < len(numbers) and int(numbers[pos]) - index == offset:
                        drop = True
                    elif (i == 0 or i == len(page) - 1) and _PAGE_NUMBER.match(line):
                        drop = True
            if drop:
                removed += 1
            else:
                kept.append(line)
        out.append(kept)
    return out, removed


def _page_text(page, textpage) -> str:
    """The page's text in reading order; a two-column page is read column by column."""
    count = textpage.count_rects()
    if count < 8:
        return textpage.get_text_range()
    width, height = page.get_size()
    middle = width / 2
    step = max(1, count // 40)
    sampled = range(0, count, step)
    enough, crossing = 0.3 * len(sampled), 0
    for i in sampled:  # (stops as soon as the answer is known: on a usual page after a dozen lines)
        r = textpage.get_rect(i)
        crossing += r[0] < middle < r[2]
        if crossing > enough:
            return textpage.get_text_range()  # lines run across the middle: one column (the usual page)
    rects = [textpage.get_rect(i) for i in range(count)]
    gutter = _gutter(rects, width)
    if gutter is None:
        return textpage.get_text_range()
    crossing = [r for r in rects if r[0] < gutter < r[2]]
    columns = [r for r in rects if not r[0] < gutter < r[2]]
    top, bottom = max(r[3] for r in columns), min(r[1] for r in columns)
    if any(r[1] < top - 1 and r[3] > bottom + 1 for r in crossing):
        return textpage.get_text_range()  # something full-width between the columns: not a plain 2-column page
    parts = []
    if any(r[1] >= top - 1 for r in crossing):
        parts.append(textpage.get_text_bounded(0, top + 0.5, width, height))
    parts.append(textpage.get_text_bounded(0, bottom - 0.5, gutter, top + 0.5))
    parts.append(textpage.get_text_bounded(gutter, bottom - 0.5, width, top + 0.5))
    if any(r[3] <= bottom + 1 for r in crossing):
        parts.append(textpage.get_text_bounded(0, 0, width, bottom - 0.5))
    return "\n".join(p.strip("\r\n") for p in parts if p.strip())


def _gutter(rects: list[tuple], width: float) -> float | None:
    """x of a vertical gap with substantial text on both sides, or None."""
    n = len(rects)
    best, best_cross = None, None
    for step in range(30, 71, 2):
        x = width * step / 100
        cross = sum(1 for r in rects if r[0] < x < r[2])
        if cross > 0.1 * n:
            continue
        left = sum(1 for r in rects if r[2] <= x)
        right = sum(1 for r in rects if r[0] >= x)
        if left >= 0.25 * n and right >= 0.25 * n and (best_cross is None or cross < best_cross):
            best, best_cross = x, cross
    return best


def _has_images(page) -> bool:
    import pypdfium2.raw as pdfium_c

    return next(iter(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3)), None) is not None


def _metadata(pdf) -> dict:
    try:
        meta = pdf.get_metadata_dict(skip_empty=True)
    except Exception:  # metadata is a nicety; a damaged info dictionary must not cost the text
        return {}
    return {"title": (meta.get("Title") or "").strip(), "author": (meta.get("Author") or "").strip()}


def _outline(pdf) -> list[tuple[int, int, str]]:
    """(level 1…, page index, title) of the bookmarks that point at pages, in order."""
    out = []
    try:
        for item in pdf.get_toc(max_depth=3):
            index = item.page_index
            title = (item.title or "").strip()
            if title and index is not None and index >= 0:
                out.append((item.level + 1, index, title))
    except Exception:  # a broken outline still leaves the text
        return []
    return out
