"""core.ingest.chunking: paragraph-bounded, section-bounded, token-bounded chunks."""
from __future__ import annotations

import pytest

from core.ingest.chunking import chunk_document, tokenizer_counter
from core.ingest.readers import Document, Section

SENTENCES = ["The river ran past the old mill.", "The miller counted the boats that went by.",
             "In the evening the librarian read aloud.", "The children listened without a sound.",
             "A storm came in from the sea.", "By morning the harbour was quiet again."]


@pytest.fixture(scope="module")
def count(tokenizer):
    return tokenizer_counter(tokenizer)


def _doc(*sections: Section) -> Document:
    return Document("book.md", "Book", "markdown", "utf-8", list(sections))


def _paragraph(i: int, n: int = 2) -> str:
    return " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(n))


def test_counter_counts_without_special_tokens(tokenizer, count):
    assert count([]) == []
    text = "The river ran past the old mill."
    assert count([text, ""]) == [len(tokenizer(text, add_special_tokens=False)["input_ids"]), 0]


@pytest.mark.parametrize("limit", [32, 48, 80])
def test_chunks_end_on_paragraphs_and_respect_the_limit(count, limit):
    paragraphs = [_paragraph(i, 1 + i % 2) for i in range(12)]
    assert max(count(paragraphs)) <= limit  # no paragraph needs splitting here
    chunks = list(chunk_document(_doc(Section("One", 2, paragraphs)), limit, count))
    assert chunks
    for chunk in chunks:
        assert chunk["tokens"] == count([chunk["text"]])[0]
        assert chunk["tokens"] <= limit
        assert all(part in paragraphs for part in chunk["text"].split("\n\n"))  # whole paragraphs only
    rebuilt = [part for chunk in chunks for part in chunk["text"].split("\n\n")]
    assert rebuilt == paragraphs  # nothing lost, nothing repeated, order kept


def test_small_paragraphs_are_packed_together(count):
    paragraphs = ["Short one.", "Short two.", "Short three."]
    chunks = list(chunk_document(_doc(Section("S", 1, paragraphs)), 64, count))
    assert [c["text"] for c in chunks] == ["Short one.\n\nShort two.\n\nShort three."]


def test_chunks_never_span_sections(count):
    sections = [Section("First", 1, ["Alpha one.", "Alpha two."]), Section("Second", 2, ["Beta one."]),
                Section("Third", 2, [_paragraph(i) for i in range(6)])]
    chunks = list(chunk_document(_doc(*sections), 256, count))
    assert [(c["section"], c["heading"]) for c in chunks] == [(0, "First"), (1, "Second"), (2, "Third")]
    for chunk in chunks:
        own = sections[chunk["section"]].paragraphs
        assert chunk["text"] == "\n\n".join(own)


def test_long_paragraph_is_split_at_sentence_ends(count):
    paragraph = " ".join(SENTENCES * 3)
    limit = 32
    assert count([paragraph])[0] > limit
    chunks = list(chunk_document(_doc(Section("Long", 1, [paragraph])), limit, count))
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk["tokens"] <= limit
        assert chunk["text"].rstrip().endswith(".")  # cut where a sentence ends
    assert " ".join(c["text"].replace("\n\n", " ") for c in chunks).split() == paragraph.split()


def test_min_tokens_drops_tiny_chunks(count):
    sections = [Section("Noise", 1, ["p. 12"]), Section("Text", 1, [_paragraph(0)])]
    chunks = list(chunk_document(_doc(*sections), 64, count, min_tokens=6))
    assert [c["heading"] for c in chunks] == ["Text"]


def test_sentence_longer_than_a_chunk_is_cut_without_losing_words(tokenizer, count):
    sentence = " ".join(["the river ran past the old mill and the miller counted the boats that went by"] * 6)
    chunks = list(chunk_document(_doc(Section("Run-on", 1, [sentence])), 20, count, tokenizer=tokenizer))
    assert len(chunks) > 4
    assert "".join(c["text"] for c in chunks).replace(" ", "") == sentence.replace(" ", "")


def test_hard_cut_chunks_respect_the_limit(tokenizer, count):
    """Regression: decoding a slice of ids and re-encoding it gave chunks of limit + 1 tokens."""
    sentence = " ".join(["the river ran past the old mill and the miller counted the boats that went by"] * 6)
    chunks = list(chunk_document(_doc(Section("Run-on", 1, [sentence])), 16, count, tokenizer=tokenizer))
    assert max(c["tokens"] for c in chunks) <= 16


def test_hard_cut_keeps_multibyte_characters_whole(tokenizer, count):
    """Regression: cutting ids inside a UTF-8 character left U+FFFD in the user's text."""
    # Characters the tokenizer never saw are single bytes in byte-level BPE: 3 tokens per CJK character.
    sentence = " ".join(["中文"] * 30)
    chunks = list(chunk_document(_doc(Section("CJK", 1, [sentence])), 16, count, tokenizer=tokenizer))
    text = "".join(c["text"] for c in chunks)
    assert "\ufffd" not in text
    assert text.replace(" ", "") == sentence.replace(" ", "")
