"""Ingest speed: our PDF reader (PDFium) against pypdf on the same files, and plain-text MB/s.

PDF: every file is read whole by both — ours is the reader ingest uses (text, running headers
and page numbers removed, hyphens joined, paragraphs rebuilt), pypdf is ``extract_text()`` on
every page. Without --pdf, a book-like PDF is generated (reportlab): running header, page
numbers, hyphenated lines, embedded TrueType fonts — a roman body with italic header and
emphasis (DejaVu Serif when installed, as real books embed theirs; the standard Times otherwise). Plain text: a UTF-8 book (Frankenstein from ../shared/realdocs
when present, generated prose otherwise) repeated to --text-mb, read and cleaned as ingest does.
Each side is measured once per round, the order alternating (A B, B A, …), and every figure is
the median of the rounds with its min–max, so a neighbour's load shifts both sides alike.
Last line: ``ratio: X`` = the median of the rounds' our pages/s ÷ pypdf pages/s.

    pip install -e ".[bench,test]"      # pypdf (baseline) and reportlab (sample PDF)
    python bench/ingest.py [--pages 300] [--pdf FILE ...] [--text-mb 50] [--rounds 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REALDOCS = ROOT.parent / "shared" / "realdocs"
SERIF = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
SERIF_ITALIC = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif-Italic.ttf")
PROSE = ("The keeper climbed the stairs every evening and lit the great lamp, and the ships that passed in the "
         "night never knew his name. He kept a journal of the weather, of the birds that rested on the gallery, "
         "and of the letters that never came. In winter the sea was grey and heavy, and the supply boat was late "
         "more often than not. ")


CLEANING_SWITCHES = ("unicode_nfc", "fix_mojibake", "remove_soft_hyphens", "reflow_paragraphs", "join_hyphens",
                     "strip_gutenberg", "remove_contents", "normalize_whitespace")


def book_pdf(path: Path, pages: int) -> Path:
    """A book-like PDF: 44 justified lines a page, running header, page number, hyphenated breaks."""
    import random

    from reportlab.lib.pagesizes import A5
    from reportlab.pdfgen import canvas

    rng = random.Random(0)
    words = PROSE.split()
    body, head = "Times-Roman", "Times-Italic"
    if SERIF.exists():  # real books embed their fonts (subset TrueType/CFF); so does this sample
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont

        pdfmetrics.registerFont(TTFont("BookSerif", str(SERIF)))
        body = head = "BookSerif"
        if SERIF_ITALIC.exists():
            pdfmetrics.registerFont(TTFont("BookSerifItalic", str(SERIF_ITALIC)))
            head = "BookSerifItalic"
    c = canvas.Canvas(str(path), pagesize=A5)
    width, height = A5
    for number in range(1, pages + 1):
        c.setFont(head, 8)
        c.drawCentredString(width / 2, height - 30, "The Lighthouse Keeper")
        c.drawCentredString(width / 2, 20, str(number))
        c.setFont(body, 10)
        y = height - 55
        for _ in range(44):
            line = " ".join(rng.choice(words) for _ in range(11))
            if rng.random() < 0.15:
                line += " light-"
            c.drawString(40, y, line)
            if rng.random() < 0.2:  # an emphasised word now and then, in the italic face
                c.setFont(head, 10)
                c.drawString(40 + c.stringWidth(line, body, 10) + 4, y, rng.choice(words))
                c.setFont(body, 10)
            y -= 12
        c.showPage()
    c.save()
    return path


def pages_per_second(read, files: list[Path]) -> tuple[float, int, float]:
    pages = 0
    start = time.perf_counter()
    for path in files:
        pages += read(path)
    seconds = time.perf_counter() - start
    return pages / seconds, pages, seconds


def ours(path: Path) -> int:
    from core.config import CorpusConfig
    from core.ingest.formats import pdf

    doc = pdf.read(path.read_bytes(), path.name, str(path), CorpusConfig())
    return doc.stats["pages"]


def baseline(path: Path) -> int:
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    reader = PdfReader(str(path))
    for page in reader.pages:
        page.extract_text()
    return len(reader.pages)


def text_sample(megabytes: int, folder: Path) -> Path:
    """A UTF-8 book (Frankenstein, else generated prose) repeated to about ``megabytes`` MB."""
    source = REALDOCS / "txt" / "shelley_frankenstein_utf8.txt"
    book = source.read_text(encoding="utf-8") if source.exists() else (PROSE * 8 + "\n\n") * 400
    data = (book + "\n\n").encode("utf-8")
    path = folder / "book.txt"
    path.write_bytes(data * max(1, megabytes * 1_000_000 // len(data)))
    return path


def text_mb_per_second(path: Path, config) -> tuple[float, int]:
    from core.ingest.readers import read_file

    start = time.perf_counter()
    doc = read_file(path, config)
    seconds = time.perf_counter() - start
    return path.stat().st_size / 1e6 / seconds, doc.paragraph_count


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.1f} (min {min(values):.1f}, max {max(values):.1f}, {len(values)} rounds)"


def main() -> int:
    import os

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=300, help="pages of the generated PDF (default 300)")
    parser.add_argument("--pdf", nargs="*", type=Path, help="PDF files to read instead of the generated one")
    parser.add_argument("--text-mb", type=int, default=50, help="size of the plain-text sample in MB (default 50)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; each side once per round, the order "
                        "alternating, and the medians reported (default 5)")
    args = parser.parse_args()
    from core.config import CorpusConfig

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="scriptorium-bench-") as tmp:
        folder = Path(tmp)
        files = args.pdf or [book_pdf(folder / "book.pdf", args.pages)]
        ours(files[0]), baseline(files[0])  # warm-up: imports and first-call costs are not reading speed
        ratios, ours_rates, base_rates, pages = [], [], [], 0
        for round_ in range(args.rounds):
            sides = [ours, baseline] if round_ % 2 == 0 else [baseline, ours]
            rates = {}
            for side in sides:
                rates[side], pages, _ = pages_per_second(side, files)
            ours_rates.append(rates[ours])
            base_rates.append(rates[baseline])
            ratios.append(rates[ours] / rates[baseline])
        print(f"pdf: {pages} pages in {len(files)} file(s)")
        print(f"pdf ours (pypdfium2 + cleanup): pages/s {spread(ours_rates)}")
        print(f"pdf pypdf extract_text:        pages/s {spread(base_rates)}")
        print(f"pdf ratio per round:           {spread(ratios)}")
        off = CorpusConfig(**{name: False for name in CLEANING_SWITCHES}, noise_threshold=1.0)
        path = text_sample(args.text_mb, folder)
        size = path.stat().st_size / 1e6
        plain, cleaned, paragraphs = [], [], 0
        for round_ in range(args.rounds):
            for config in ([off, None] if round_ % 2 == 0 else [None, off]):
                rate, count = text_mb_per_second(path, config or CorpusConfig())
                (plain if config is off else cleaned).append(rate)
                paragraphs = count if config is None else paragraphs
        print(f"text: {size:.1f} MB, {paragraphs} paragraphs")
        print(f"text: read only (encoding, paragraphs, chapters): MB/s {spread(plain)}")
        print(f"text: read + every cleaning step (default settings): MB/s {spread(cleaned)}  (goal >= 20)")
    print(f"load average (1 min): {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"ratio: {statistics.median(ratios):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
