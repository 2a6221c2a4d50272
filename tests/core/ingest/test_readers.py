"""core.ingest.readers: text encodings (BOMs, cp1251, KOI8-R), binary refusal, Markdown sections."""
from __future__ import annotations

import random

import pytest

from core.ingest.readers import IngestError, decode_text, read_file

RUSSIAN = ("Мороз и солнце; день чудесный! Ещё ты дремлешь, друг прелестный, пора, красавица, проснись.\n"
           "Вечор, ты помнишь, вьюга злилась, на мутном небе мгла носилась; луна, как бледное пятно, "
           "сквозь тучи мрачные желтела.\nА нынче погляди в окно: под голубыми небесами великолепными коврами "
           "блестя на солнце, снег лежит.\n")
ENGLISH = "Plain English text, with a “curly quote”, an em dash — and a café.\n"


@pytest.mark.parametrize("encoding, expected", [
    ("utf-8", "utf-8"),
    ("utf-8-sig", "utf-8-sig"),
    ("utf-16", "utf-16"),       # Python writes a BOM (little-endian here)
    ("utf-32", "utf-32"),
    ("cp1251", "cp1251"),
    ("koi8-r", "koi8_r"),
])
def test_decode_russian(encoding, expected):
    text, found = decode_text(RUSSIAN.encode(encoding), "poem.txt")
    assert text == RUSSIAN
    assert found.replace("-", "_").lower() == expected.replace("-", "_")


def test_decode_short_koi8r():
    """Regression: charset-normalizer alone guessed cp932 here (half-width katakana, no error)."""
    text = "Мы долго шли по лесу. Наконец показалась река. Там мы и остановились на ночь.\n"
    assert decode_text(text.encode("koi8-r"), "short.txt")[0] == text


def test_decode_cp1251_with_em_dash():
    """Regression: charset-normalizer alone guessed mac_cyrillic ('ћосква Ч столица –оссии')."""
    text = "Москва — столица России. Это большой город с долгой историей и множеством музеев, театров и парков.\n"
    assert decode_text((text * 3).encode("cp1251"), "moscow.txt")[0] == text * 3


def test_decode_utf16_big_endian_bom():
    data = b"\xfe\xff" + RUSSIAN.encode("utf-16-be")
    assert decode_text(data, "be.txt")[0] == RUSSIAN


def test_decode_english_utf8():
    assert decode_text(ENGLISH.encode("utf-8"), "a.txt") == (ENGLISH, "utf-8")


def test_sample_files_in_three_russian_encodings_read_the_same(sample_texts_dir):
    docs = {name: read_file(sample_texts_dir / name) for name in ("rus-cp1251.txt", "rus-koi8.txt", "rus-utf16.txt")}
    texts = {doc.text for doc in docs.values()}
    assert len(texts) == 1
    assert "Река текла мимо старой мельницы" in texts.pop()


@pytest.mark.parametrize("data", [
    b"\x00\x01\x02binary\x00" * 50,
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + random.Random(0).randbytes(2048),
    random.Random(1).randbytes(4096),
])
def test_binary_is_refused_with_the_file_name(data):
    with pytest.raises(IngestError) as err:
        decode_text(data, "photo.txt")
    assert str(err.value).startswith("photo.txt:")


def test_damaged_bom_text_is_refused():
    with pytest.raises(IngestError, match="damaged"):
        decode_text(b"\xef\xbb\xbf" + b"\xff\xfe\xfd broken", "bad.txt")


def test_read_file_binary_named_txt(tmp_path):
    path = tmp_path / "junk.txt"
    path.write_bytes(b"\x00\x01\x02binary\x00" * 10)
    with pytest.raises(IngestError, match="junk.txt.*binary"):
        read_file(path)


def test_read_file_empty_and_unsupported(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"  \n\n ")
    with pytest.raises(IngestError, match="empty.txt: the file is empty"):
        read_file(empty)
    odd = tmp_path / "data.xyz"
    odd.write_text("hello")
    with pytest.raises(IngestError, match="data.xyz.*not supported"):
        read_file(odd)


MARKDOWN = """# The Title

Intro paragraph that is hard wrapped, the way many plain text
files are written by people who use an editor with a fixed line
width of about sixty characters.

## Chapter One ##

First paragraph of chapter one.

Second paragraph of chapter one.

### A Scene

Scene text.

## Chapter Two

Closing words.
"""


def test_markdown_headings_become_sections(tmp_path):
    path = tmp_path / "book.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    doc = read_file(path)
    assert doc.title == "The Title"
    assert doc.format == "markdown" and doc.encoding == "utf-8"
    assert [(s.heading, s.level) for s in doc.sections] == [
        ("The Title", 1), ("Chapter One", 2), ("A Scene", 3), ("Chapter Two", 2)]
    assert doc.sections[0].paragraphs == [
        "Intro paragraph that is hard wrapped, the way many plain text files are written by people who use "
        "an editor with a fixed line width of about sixty characters."]
    assert doc.sections[1].paragraphs == ["First paragraph of chapter one.", "Second paragraph of chapter one."]
    assert doc.sections[2].paragraphs == ["Scene text."]
    assert "#" not in doc.text


def test_markdown_without_h1_is_titled_by_file_name(tmp_path):
    path = tmp_path / "notes-2024.md"
    path.write_text("## Only a second level\n\nSome words here.\n", encoding="utf-8")
    doc = read_file(path)
    assert doc.title == "notes-2024"
    assert [(s.heading, s.level) for s in doc.sections] == [("Only a second level", 2)]


def test_hard_wrapped_text_paragraphs_are_joined(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("The first paragraph was wrapped by its author at a width of\n"
                    "sixty-five characters, as old text files and e-mails often\n"
                    "are; the reader must join its lines again.\n\n"
                    "The second paragraph is wrapped the same way, because the\n"
                    "author's editor did it for every paragraph.\n", encoding="utf-8")
    doc = read_file(path)
    assert doc.format == "text"
    paragraphs = [p for s in doc.sections for p in s.paragraphs]
    assert paragraphs == [
        "The first paragraph was wrapped by its author at a width of sixty-five characters, as old text "
        "files and e-mails often are; the reader must join its lines again.",
        "The second paragraph is wrapped the same way, because the author's editor did it for every paragraph."]
