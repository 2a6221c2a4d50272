"""Each reader on small files made here: structure (chapters, title, author, language) and text."""
from __future__ import annotations

import zipfile

import pytest

from core.config import CorpusConfig
from core.ingest.formats.mobi import drm_protected
from core.ingest.readers import IngestError, kind_of, read_file
from samples import PROSE, RUSSIAN, fb2_bytes, make_epub, make_pdf, wrap


def test_epub_spine_order_nav_titles_and_no_script(tmp_path):
    path = make_epub(tmp_path / "b.epub", [("The Beginning", [PROSE, "Second paragraph of one."]),
                                          ("The End", ["Last words of the book, said slowly and quietly."])])
    doc = read_file(path)
    assert doc.title == "A Test Book" and doc.author == "Test Author" and doc.language == "en"
    assert [s.heading for s in doc.sections] == ["The Beginning", "The End"]
    assert doc.sections[0].paragraphs[0].startswith("The keeper climbed")
    assert "alert" not in doc.text


def test_fb2_windows_1251_prolog_sections_author_language(tmp_path):
    path = tmp_path / "book.fb2"
    path.write_bytes(fb2_bytes([("Глава первая", [RUSSIAN]), ("Глава вторая", ["Короткий абзац второй главы."])],
                               encoding="windows-1251", title="Маяк"))
    doc = read_file(path)
    assert doc.title == "Маяк" and doc.author == "Иван Петров" and doc.language == "ru"
    assert doc.encoding == "windows-1251"
    assert [s.heading for s in doc.sections] == ["Глава первая", "Глава вторая"]
    assert "Смотритель каждый вечер" in doc.text and "AAAA" not in doc.text  # binary images skipped


def test_fb2_zip_is_read_through_the_archive(tmp_path):
    path = tmp_path / "book.fb2.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("book.fb2", fb2_bytes([("Глава", [RUSSIAN])]))
    doc = read_file(path)
    assert doc.format == "fb2" and "Смотритель" in doc.text


def test_docx_headings_become_sections(tmp_path):
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.core_properties.title = "Keeper's Manual"
    document.core_properties.author = "A. Keeper"
    document.add_heading("Lighting the lamp", level=1)
    document.add_paragraph(PROSE)
    document.add_heading("Cleaning the lens", level=2)
    document.add_paragraph("Use a soft cloth and never touch the glass with bare hands.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Oil", "Two litres a night"
    path = tmp_path / "manual.docx"
    document.save(path)
    doc = read_file(path)
    assert doc.title == "Keeper's Manual" and doc.author == "A. Keeper"
    assert [(s.heading, s.level) for s in doc.sections] == [("Lighting the lamp", 1), ("Cleaning the lens", 2)]
    assert "Oil | Two litres a night" in doc.text


def test_odt_headings_lists_and_footnotes(tmp_path):
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')
    content = (f'<?xml version="1.0"?><office:document-content {ns}><office:body><office:text>'
               '<text:h text:outline-level="1">Chapter One</text:h><text:p>First<text:s text:c="2"/>words'
               '<text:note><text:note-body><text:p>a footnote</text:p></text:note-body></text:note>.</text:p>'
               '<text:list><text:list-item><text:p>an item in a list</text:p></text:list-item></text:list>'
               '<text:h text:outline-level="2">Part Two</text:h><text:p>More text here.</text:p>'
               '</office:text></office:body></office:document-content>')
    path = tmp_path / "doc.odt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", content)
    doc = read_file(path, CorpusConfig(normalize_whitespace=False))
    assert [s.heading for s in doc.sections] == ["Chapter One", "Part Two"]
    assert doc.sections[0].paragraphs == ["First  words.", "an item in a list"]


def test_rtf_code_page_from_header(tmp_path):
    path = tmp_path / "note.rtf"
    body = "".join(f"\\'{b:02x}" for b in "Привет из RTF".encode("cp1251"))
    path.write_bytes(("{\\rtf1\\ansi\\ansicpg1251{\\fonttbl{\\f0 Arial;}}\\f0 " + body + "\\par Second line.\\par}").encode())
    doc = read_file(path)
    assert doc.sections[0].paragraphs[:2] == ["Привет из RTF", "Second line."]


def test_html_main_text_without_navigation_or_scripts(tmp_path):
    nav = "".join(f"<li><a href='/p{i}'>Menu entry {i}</a></li>" for i in range(30))
    article = "".join(f"<p>{PROSE} Paragraph {i}.</p>" for i in range(6))
    page = (f"<html lang='en'><head><meta charset='windows-1251'><title>Keeper - Site</title>"
            f"<script>var tracking = 1;</script><style>p {{color: red}}</style></head><body>"
            f"<nav><ul>{nav}</ul></nav><div id='content'><h1>The Keeper</h1><article><h2>Night</h2>{article}"
            f"<p>Цена: 10 рублей<sup><a href='#n1'>[1]</a></sup></p></article></div>"
            f"<footer>Copyright footer text</footer></body></html>")
    path = tmp_path / "page.html"
    path.write_bytes(page.encode("cp1251"))
    doc = read_file(path)
    assert doc.title == "The Keeper" and doc.language == "en"
    assert "Menu entry" not in doc.text and "tracking" not in doc.text and "color" not in doc.text
    assert "Цена: 10 рублей" in doc.text and "[1]" not in doc.text
    assert doc.text.count("The keeper climbed") == 6


def test_two_column_pdf_reads_column_by_column(tmp_path):
    left = [f"Left column line {i} about the sea." for i in range(20)]
    right = [f"Right column line {i} about the land." for i in range(20)]
    path = make_pdf(tmp_path / "cols.pdf", [left + right], header="", numbers=False, columns=2)
    text = read_file(path, CorpusConfig(reflow_paragraphs=False)).text
    assert text.index("Left column line 19") < text.index("Right column line 0")
    assert text.index("Left column line 0") < text.index("Left column line 1 ")


def test_content_wins_over_extension(tmp_path):
    pdf = make_pdf(tmp_path / "x.pdf", [wrap(PROSE, 60)], header="")
    renamed = tmp_path / "really_a_pdf.txt"
    renamed.write_bytes(pdf.read_bytes())
    assert kind_of(renamed.name, renamed.read_bytes()) == "pdf"
    assert "keeper climbed" in read_file(renamed).text
    doc = tmp_path / "old.docx"
    doc.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    with pytest.raises(IngestError, match="save it as .docx"):
        read_file(doc)


def test_text_encodings_and_subtitles(tmp_path):
    for name, data in {"koi8.txt": RUSSIAN.encode("koi8-r"), "cp1251.txt": RUSSIAN.encode("cp1251"),
                       "utf16.txt": RUSSIAN.encode("utf-16"), "bom.txt": RUSSIAN.encode("utf-8-sig"),
                       "utf16le_nobom.txt": (PROSE + " ").encode("utf-16-le") * 3}.items():
        (tmp_path / name).write_bytes(data)
        expected = "Смотритель" if "utf16le" not in name else "keeper climbed"
        assert expected in read_file(tmp_path / name).text, name
    srt = tmp_path / "film.srt"
    srt.write_bytes("1\n00:00:01,000 --> 00:00:02,500\nThe sea is calm tonight.\n\n2\n00:00:03,000 --> "
                    "00:00:05,000\n<i>And the lamp is lit.</i>\n".encode("utf-16"))
    assert read_file(srt).text == "The sea is calm tonight.\n\nAnd the lamp is lit."


def test_mobi_drm_flag_is_read_from_the_header():
    record0 = 100
    header = bytearray(200)
    header[60:68] = b"BOOKMOBI"
    header[78:82] = record0.to_bytes(4, "big")
    assert not drm_protected(bytes(header))
    header[record0 + 12:record0 + 14] = (2).to_bytes(2, "big")
    assert drm_protected(bytes(header))


def test_markdown_links_code_and_setext_headings(tmp_path):
    path = tmp_path / "guide.md"
    path.write_text("Guide\n=====\n\nSee [the docs](https://example.com/a_(b)) and ![logo](x.png).\n\n"
                    "Setup\n-----\n\n```sh\npip install x\npip install y\n```\n\n- one item here\n- two item here\n",
                    encoding="utf-8")
    doc = read_file(path)
    assert doc.title == "Guide" and [s.heading for s in doc.sections] == ["Guide", "Setup"]
    assert "See the docs and logo." in doc.text and "https" not in doc.text
    assert "pip install x\npip install y" in doc.sections[1].paragraphs
    assert doc.sections[1].paragraphs[-2:] == ["- one item here", "- two item here"]


def test_unzipped_archive_with_several_books_is_refused_by_read_file(tmp_path):
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a.txt", PROSE)
        z.writestr("b.txt", PROSE)
    with pytest.raises(IngestError, match="2 documents"):
        read_file(path)
