"""Partial recovery: files cut short keep what is whole — a PDF the pages PDFium can still read,
an EPUB/DOCX/ODT/zip the members whose data is complete (found by their local headers) — and say
how much was read. Shares of text recovered are printed (run with -s)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.config import CorpusConfig
from core.ingest.document import IngestError
from core.ingest.limits import Limits, SafeZip
from core.ingest.readers import read_file
from damaged import members_of, packed_pdf, raw_pdf, rezip, truncate
from samples import PROSE, RUSSIAN, book_pdf, fb2_bytes, make_epub


def _share(part: str, whole: str) -> float:
    return len(part) / len(whole)


def test_pdf_cut_at_60_percent_keeps_its_first_pages(tmp_path):
    whole = book_pdf(tmp_path / "book.pdf", pages=20)
    full = read_file(whole)
    cut = read_file(truncate(whole, 0.6, tmp_path / "cut.pdf"))
    read = int(re.match(r"(\d+) of 20 pages read; the file ends early$", cut.warnings[0]).group(1))
    print(f"\ngenerated 20-page PDF cut at 60%: {read} of 20 pages, {_share(cut.text, full.text):.0%} of the text")
    assert read >= 8 and cut.stats["parts_read"] == read and cut.stats["parts_total"] == 20
    assert _share(cut.text, full.text) >= 0.45 and full.text.startswith(cut.text[:2000])


def test_realdocs_pdf_cut_at_60_percent(realdocs, tmp_path):
    source = realdocs / "bad" / "zen_of_python_corrupted.pdf"  # the one realdocs PDF with a text layer
    full = read_file(source)
    cut = read_file(truncate(source, 0.6, tmp_path / "zen.pdf"))
    print(f"\nzen_of_python_corrupted.pdf cut at 60%: {cut.warnings}, {_share(cut.text, full.text):.0%} of the text")
    assert cut.warnings == ["1 of 1 pages read; the file ends early"] and cut.text == full.text


def test_pdf_without_its_page_tree_gets_a_new_one(tmp_path):
    sentences = [f"{word.capitalize()} is where the keeper climbed the stairs and lit the lamp." for word in
                 ("north", "south", "east", "west", "home")]
    data = raw_pdf([b"BT /F1 12 Tf 72 700 Td (%s) Tj ET" % sentence.encode() for sentence in sentences])
    # The catalog and the page tree (objects 1 and 2) blanked out, the end cut off: only pages remain.
    for number in (1, 2):
        start = data.index(b"%d 0 obj" % number)
        end = data.index(b"endobj", start) + 6
        data = data[:start] + b" " * (end - start) + data[end:]
    (tmp_path / "orphans.pdf").write_bytes(data[: data.index(b"xref")])
    doc = read_file(tmp_path / "orphans.pdf")
    assert doc.warnings == ["5 pages read; the file ends early and the rest is lost"]
    assert doc.text.split("\n\n") == [" ".join(sentences)]


def test_pdf_pages_inside_an_object_stream(tmp_path):
    words = ("first", "second", "third", "fourth")
    (tmp_path / "packed.pdf").write_bytes(packed_pdf([f"The {w} page tells of the keeper and his lamp." for w in words]))
    doc = read_file(tmp_path / "packed.pdf")
    assert doc.stats["parts_read"] == 4 and all(f"The {w} page" in doc.text for w in words)


def test_pdf_cut_before_any_page_is_refused(tmp_path):
    whole = book_pdf(tmp_path / "book.pdf", pages=3)
    with pytest.raises(IngestError, match="damaged PDF"):
        read_file(truncate(whole, 0.02, tmp_path / "stub.pdf"))


def _chapters(count: int) -> list[tuple[str, list[str]]]:
    return [(f"Chapter {i + 1}", [f"{PROSE} ({i}.{j})" for j in range(12)]) for i in range(count)]


@pytest.mark.parametrize("descriptors", [False, True])
def test_epub_cut_at_60_percent_keeps_its_complete_chapters(tmp_path, descriptors):
    made = make_epub(tmp_path / "made.epub", _chapters(13))
    # Deflated, and with the package file first (as most writers do); ``descriptors``: sizes after the data.
    (tmp_path / "book.epub").write_bytes(rezip(members_of(made), descriptors))
    full = read_file(tmp_path / "book.epub")
    cut = read_file(truncate(tmp_path / "book.epub", 0.6, tmp_path / "cut.epub"))
    read = int(re.match(r"(\d+) of 13 chapter files read; the file ends early$", cut.warnings[0]).group(1))
    assert 6 <= read < 13 and [s.heading for s in cut.sections] == [f"Chapter {i + 1}" for i in range(read)]
    assert _share(cut.text, full.text) >= 0.45


@pytest.mark.parametrize("name, least", [("carroll_alice.epub", 0.95), ("austen_pride_and_prejudice_pg1342_epub2.epub",
                                                                          0.5)])
def test_realdocs_epub_cut_at_60_percent(realdocs, tmp_path, name, least):
    source = realdocs / "epub" / name
    full = read_file(source)
    cut = read_file(truncate(source, 0.6, tmp_path / name))
    print(f"\n{name} cut at 60%: {cut.warnings[0]}; {_share(cut.text, full.text):.0%} of the text "
          f"({len(cut.text)} of {len(full.text)} characters)")
    assert _share(cut.text, full.text) >= least and "ends early" in cut.warnings[0]


@pytest.mark.parametrize("name", ["docx/peptovar_user_manual.docx", "docx/vim_dn_markdown_readme_pandoc.docx",
                                  "odt/quexf_manual.odt"])
def test_realdocs_office_files_cut_short(realdocs, tmp_path, name):
    source = realdocs / name
    full = read_file(source)
    for fraction in (0.6, 0.3):
        cut = read_file(truncate(source, fraction, tmp_path / Path(name).name))
        print(f"\n{name} cut at {fraction:.0%}: {cut.warnings}; {_share(cut.text, full.text):.0%} of the text")
        assert cut.warnings[0].startswith("the file ends early") and len(cut.text) > 500
        assert full.text[:300] in cut.text  # the text read is the document's own, from its start


def test_zip_of_books_cut_short_keeps_the_complete_ones(tmp_path):
    from core.ingest.archives import expand_sources

    books = {f"book{i}.fb2": fb2_bytes([(f"Глава {i}", [RUSSIAN] * 30)]) for i in range(3)}
    (tmp_path / "whole.zip").write_bytes(rezip(books))
    cut = truncate(tmp_path / "whole.zip", 0.8, tmp_path / "books.zip")
    sources = expand_sources([cut], Limits())
    readable = [s.member for s, problem in sources if not problem]
    problems = [problem for _, problem in sources if problem]
    assert readable == ["book0.fb2", "book1.fb2"]
    assert problems == ["books.zip/book2.fb2: cut off — the archive ends before this file does"]


def test_cut_archive_still_has_the_bomb_limits(tmp_path):
    for descriptors in (False, True):  # sizes in the header, or unknown until inflated
        bomb = rezip({"book.txt": b"\0" * (300 << 20)}, descriptors)
        with pytest.raises(IngestError, match="zip bomb"):
            SafeZip(bomb[: len(bomb) - 200], "bomb.zip", Limits())
    declared = rezip({"book.txt": PROSE.encode() * 10_000})
    with pytest.raises(IngestError, match="over the 1 MB limit"):
        SafeZip(declared[:-50], "big.zip", Limits(max_unpacked_bytes=1_000_000))


def test_scanned_members_are_checked_against_their_crc(tmp_path):
    data = bytearray(rezip({"a.txt": PROSE.encode() * 50, "b.txt": RUSSIAN.encode() * 50}))
    data[60] ^= 0xFF  # a flipped byte inside a.txt's deflated data
    archive = SafeZip(bytes(data[:-30]), "flipped.zip", Limits())
    assert archive.recovered
    with pytest.raises(IngestError, match="cannot be unpacked"):
        archive.read("a.txt")
    assert archive.read("b.txt") == RUSSIAN.encode() * 50


def test_pipeline_outcome_says_how_much_was_recovered(tmp_path, tokenizer):
    from core.ingest import ingest
    from core.project import Project

    (tmp_path / "drop").mkdir()
    truncate(book_pdf(tmp_path / "book.pdf", pages=12), 0.6, tmp_path / "drop" / "cut.pdf")
    result = ingest(Project.open(tmp_path / "p"), [tmp_path / "drop"], tokenizer, CorpusConfig())
    outcome = result.outcomes[0]
    assert outcome.status == "warning" and outcome.chunks > 0
    assert re.search(r"^cut\.pdf: \d+ of 12 pages read; the file ends early$", outcome.reason), outcome.reason


def test_damaged_chapter_inside_a_whole_epub_costs_that_chapter_only(tmp_path):
    import zipfile as zf

    (tmp_path / "book.epub").write_bytes(rezip(members_of(make_epub(tmp_path / "made.epub", _chapters(4)))))
    data = bytearray((tmp_path / "book.epub").read_bytes())
    with zf.ZipFile(tmp_path / "book.epub") as archive:
        info = archive.getinfo("OEBPS/text/c2.xhtml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + 40:start + 80] = bytes(40)  # zeros in the middle of chapter 3's deflated data
    (tmp_path / "damaged.epub").write_bytes(bytes(data))
    doc = read_file(tmp_path / "damaged.epub")
    assert [s.heading for s in doc.sections] == ["Chapter 1", "Chapter 2", "Chapter 4"]
    assert doc.warnings == ["1 chapter file(s) missing from the EPUB were skipped"]
