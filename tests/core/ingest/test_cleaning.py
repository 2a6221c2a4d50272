"""Cleaning steps: PDF page furniture, hyphenation, reflow, Gutenberg, mojibake, noise — each switchable."""
from __future__ import annotations

import re

from core.config import CorpusConfig
from core.ingest.cleaning import clean_document, join_hyphens, reflow, split_giant, strip_gutenberg
from core.ingest.document import Document, Section
from core.ingest.formats.pdf import strip_running_lines
from core.ingest.readers import read_file
from core.ingest.textstats import noise_score
from samples import DEJAVU, HEADER, PROSE, RUSSIAN, book_pdf


def _broken_words(pdf_path) -> set[str]:
    """Words the generator split over two lines ("jour-" + "nal" → "journal")."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(pdf_path))
    raw = "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    pdf.close()
    # PDFium reports a line-end hyphen as U+FFFE (and joins the lines) or as "-" + line break.
    return {a + b for a, b in re.findall(r"(\w+)(?:-\r?\n|\ufffe)(\w+)", raw)}


def test_pdf_running_header_page_numbers_and_hyphens(tmp_path):
    path = book_pdf(tmp_path / "book.pdf", pages=6)
    broken = _broken_words(path)
    assert broken, "the sample PDF should hyphenate some words at line ends"
    doc = read_file(path)
    assert HEADER not in doc.text
    assert not re.search(r"(?m)^\d+$", doc.text)  # page numbers gone
    assert doc.stats["header_lines_removed"] >= 12  # a header and a number on each of 6 pages
    assert doc.stats["hyphens_joined"] >= len(broken)
    words = set(re.findall(r"\w+", doc.text))
    assert broken <= words, broken - words
    assert not re.search(r"\w- \w", doc.text)  # no "jour- nal" left
    assert doc.text.startswith("The keeper climbed")


def test_pdf_cyrillic_hyphens(tmp_path):
    import pytest

    if not DEJAVU.exists():
        pytest.skip(f"no Cyrillic font at {DEJAVU} to draw the sample PDF")
    path = book_pdf(tmp_path / "ru.pdf", pages=4, text=RUSSIAN, font_file=DEJAVU, header="МАЯК — РОМАН")
    broken = _broken_words(path)
    doc = read_file(path)
    assert "МАЯК — РОМАН" not in doc.text and broken
    assert broken <= set(re.findall(r"\w+", doc.text))
    assert doc.language == "ru"


def test_switches_off_keep_the_furniture(tmp_path):
    path = book_pdf(tmp_path / "book.pdf", pages=4)
    raw = read_file(path, CorpusConfig(remove_headers_footers=False, join_hyphens=False))
    assert HEADER in raw.text and "header_lines_removed" not in raw.stats and "hyphens_joined" not in raw.stats


def test_running_lines_keep_chapter_numbers():
    words = ["alpha", "beta", "gamma", "delta", "epsilon"]
    pages = [[f"Chapter {n}", f"Body text about {words[i]} that is long enough to matter.", str(10 + i)]
             for i, n in enumerate([1, 1, 2, 2, 3])]
    pages = [["Running Title"] + p for p in pages]
    cleaned, removed = strip_running_lines(pages)
    assert removed == 10  # 5 running titles + 5 page numbers
    assert [p[0] for p in cleaned] == ["Chapter 1", "Chapter 1", "Chapter 2", "Chapter 2", "Chapter 3"]


def test_join_hyphens_keeps_real_compounds():
    text = "A well-known keeper.\nHe was well-\nknown and his jour-\nnal was lost. A Mos-\nCow line."
    joined, n = join_hyphens(text)
    assert "well-known and" in joined and "journal" in joined and "Mos-\nCow" in joined and n == 2
    assert join_hyphens("доро-\nга домой")[0] == "дорога домой"


def test_reflow_hard_wrapped_and_indented_text():
    wrapped = "\n".join(["The keeper climbed the stairs every evening and lit the", "great lamp, and the ships "
                         "that passed in the night never", "knew his name.", "He kept a journal of the weather, of "
                         "the birds that", "rested on the gallery.",
                         "In winter the sea was grey and heavy, and the boat was", "late."])
    paragraphs, extra = reflow(wrapped)
    assert len(paragraphs) == 3 and extra == 2 and paragraphs[0].endswith("knew his name.")
    indented = "  First paragraph starts\nand goes on.\n  Second one starts\nand ends."
    assert reflow(indented)[0] == ["First paragraph starts and goes on.", "Second one starts and ends."]
    assert reflow("Roses are red,\nviolets blue,\nsugar is sweet")[0] == ["Roses are red,\nviolets blue,\nsugar is sweet"]


def _doc(*paragraphs: str) -> Document:
    return Document("x.txt", "x", "text", "utf-8", [Section("x", 1, list(paragraphs))])


def test_paragraph_steps_count_what_they_change():
    doc = _doc("Caf\u0065\u0301 au lait", "soft\u00adhyphen here", "The quote was Ã©tÃ© â€” really",
               "Ð¡Ð¼Ð¾Ñ‚Ñ€Ð¸Ñ‚ÐµÐ»ÑŒ Ð·Ð°Ð¶Ð¸Ð³Ð°Ð» Ð»Ð°Ð¼Ð¿Ñƒ", "too    many\tspaces",
               "Tbe qnick brovvn f0x jumpcd ov3r tlie 1azy d0g ■ ■ ~~ ^^ ¦ ¦ th e re st")
    clean_document(doc, CorpusConfig())
    text = doc.text
    assert "Café au lait" in text and "softhyphen" in text and "été — really" in text
    assert "Смотритель зажигал лампу" in text and "too many spaces" in text and "qnick" not in text
    assert doc.stats["nfc_normalized"] == 1 and doc.stats["soft_hyphens_removed"] == 1
    assert doc.stats["mojibake_fixed"] == 2 and doc.stats["noisy_dropped"] == 1


def test_noise_flag_keeps_the_paragraph():
    doc = _doc(PROSE, "Mocквa — стoлицa Poccии, кpупнeйший гopoд стpaны и eё цeнтp.")
    clean_document(doc, CorpusConfig(noise_action="flag"))
    assert doc.paragraph_count == 2 and doc.stats["noisy_flagged"] == 1 and doc.stats["noise_ratio"] == 0.5
    assert noise_score(PROSE) < 0.1 and noise_score(RUSSIAN) < 0.1
    assert noise_score("T h i s   i s   l e t t e r   s p a c e d   t e x t") > 0.5


def test_gutenberg_header_and_footer_removed():
    doc = _doc("The Project Gutenberg eBook of The Keeper", "This eBook is for the use of anyone anywhere.",
               "*** START OF THE PROJECT GUTENBERG EBOOK THE KEEPER ***", PROSE, RUSSIAN,
               "*** END OF THE PROJECT GUTENBERG EBOOK THE KEEPER ***", "Section 1. General Terms of Use")
    assert strip_gutenberg(doc) == 5 and doc.sections[0].paragraphs == [PROSE, RUSSIAN]


def test_table_of_contents_is_removed_but_chapters_stay():
    doc = Document("b.epub", "b", "epub", "utf-8", [Section("Book", 1, ["Contents", "Chapter 1", "Chapter 2",
                                                                        "Chapter 3"]),
                                                    Section("Chapter 1", 2, [PROSE]), Section("Chapter 2", 2, [PROSE]),
                                                    Section("Chapter 3", 2, [RUSSIAN])])
    clean_document(doc, CorpusConfig())
    assert [s.heading for s in doc.sections] == ["Chapter 1", "Chapter 2", "Chapter 3"]
    assert doc.stats["contents_removed"] == 4


def test_giant_paragraph_is_cut_near_sentence_ends():
    text = ("A sentence of the endless file. " * 2000).strip()
    pieces = split_giant(text)
    assert len(pieces) > 1 and all(len(p) <= 10_001 for p in pieces)
    assert all(p.endswith(".") for p in pieces) and " ".join(pieces) == text


def test_initials_are_not_broken_words():
    text = "M. Waldman and M. Krempe spoke to R. W. Walton, and А. С. Пушкин was read aloud that night."
    assert noise_score(text) == 0.0
    from core.ingest.textstats import suspicious_indices
    assert suspicious_indices([text]) == set()
    assert suspicious_indices(["The old man w rote to h is son every day of the long winter."]) == {0}


def test_long_text_still_finds_noise_its_first_megabyte_shows():
    from core.ingest.textstats import suspicious_indices
    clean = [PROSE] * 8000  # 2.6 MB of clean prose: long enough for the first-megabyte gate
    noisy = "Tbe ma n w ent to t he riv er and s aw t he b oat."
    hits = suspicious_indices([noisy] + clean + [noisy])
    assert {0, len(clean) + 1} <= hits


def test_compounds_found_from_hyphens_equal_the_word_regex():
    import random

    from core.ingest.cleaning import _COMPOUND, compounds_in

    rng = random.Random(0)
    for alphabet in ("ab-c- Д_ж1²\n-é\u0301xyz", "a-b", "ab- -\n", "x-y-z-1_"):
        for _ in range(3000):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
            assert compounds_in(text) == {m.lower() for m in _COMPOUND.findall(text)}, text
    assert compounds_in("a well-known, up-to-date text") == {"well-known", "up-to"}
