"""Duplicates: the same book twice (any format), repeated paragraphs and chunks, unchanged re-drops."""
from __future__ import annotations

from core.config import CorpusConfig
from core.ingest import ingest, load_chunks
from core.ingest.dedup import CorpusIndex, signature
from core.project import Project
from samples import PROSE, RUSSIAN, make_epub

CHAPTERS = [(f"Chapter {i}", [f"{PROSE} This is the {word} chapter of the story, and it has its own events." for _ in range(1)]
             + [f"On day {i * 7 + k} of the {word} season the keeper wrote about storm number {k}." for k in range(12)])
            for i, word in enumerate(["first", "second", "third", "fourth", "fifth"], start=1)]


def _book_as_text(path):
    path.write_text("\n\n".join(f"{h}\n\n" + "\n\n".join(ps) for h, ps in CHAPTERS), encoding="utf-8")
    return path


def test_same_book_in_another_format_is_recognised(tmp_path, tokenizer):
    project = Project.open(tmp_path / "p")
    epub = make_epub(tmp_path / "keeper.epub", CHAPTERS, title="The Keeper")
    text = _book_as_text(tmp_path / "keeper-copy.txt")
    config = CorpusConfig(chunk_tokens=64, file_timeout_s=0)
    result = ingest(project, [epub, text], tokenizer, config)
    statuses = [o.status for o in result.outcomes]
    assert statuses == ["ok", "skipped"], result.summary()
    assert "the same text as “The Keeper”" in result.outcomes[1].reason
    # Off switch: the copy goes in (minus the paragraphs it shares with the first).
    again = ingest(Project.open(tmp_path / "q"), [epub, text], tokenizer,
                   CorpusConfig(chunk_tokens=64, file_timeout_s=0, near_dup_threshold=1.0))
    assert [o.status for o in again.outcomes] == ["ok", "skipped"]
    assert "every paragraph is already in the corpus" in again.outcomes[1].reason


def test_unchanged_file_redropped_is_a_no_op(tmp_path, tokenizer):
    project = Project.open(tmp_path / "p")
    text = _book_as_text(tmp_path / "book.txt")
    first = ingest(project, [text], tokenizer, CorpusConfig(file_timeout_s=0))
    chunks = len(load_chunks(project))
    second = ingest(project, [tmp_path], tokenizer, CorpusConfig(file_timeout_s=0))
    assert first.outcomes[0].status == "ok" and second.outcomes[0].status == "skipped"
    assert "already in the corpus (unchanged)" in second.outcomes[0].reason and len(load_chunks(project)) == chunks


def test_repeated_paragraphs_are_dropped_and_counted(tmp_path, tokenizer):
    project = Project.open(tmp_path / "p")
    boiler = "This book is distributed under a licence that lets you copy it, share it and change it freely."
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(f"{PROSE}\n\n{boiler}\n\n{boiler}", encoding="utf-8")
    b.write_text(f"{RUSSIAN}\n\n{boiler}\n\nКороткий.", encoding="utf-8")
    result = ingest(project, [a, b], tokenizer, CorpusConfig(file_timeout_s=0, min_chunk_tokens=0))
    assert [o.duplicates for o in result.outcomes] == [1, 1] and result.summary()["duplicates_removed"] == 2
    texts = "\n".join(c["text"] for c in load_chunks(project))
    assert texts.count(boiler) == 1


def test_signature_similarity_tracks_overlap():
    index = CorpusIndex(threshold=0.8)
    words = [f"w{i}" for i in range(3000)]
    index.add_document({"id": "a", "title": "A"}, signature(" ".join(words)))
    assert index.near_duplicate(signature(" ".join(words[:2900]))) is not None
    assert index.near_duplicate(signature(" ".join(words[:1500]))) is None
