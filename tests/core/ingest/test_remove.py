"""Taking books out of the corpus: the book's records, chunks, file row and exam questions go, the rest
stays, an unknown name is refused naming it, and the file can be added again. Adding an unchanged file
again keeps its row's numbers."""
from __future__ import annotations

import json

import pytest

from core.config import CorpusConfig
from core.project import Project, ProjectError, read_jsonl


@pytest.fixture
def project(tmp_path, tokenizer, sample_texts_dir):
    from core.ingest import ingest

    p = Project.open(tmp_path / "p")
    ingest(p, [sample_texts_dir / "book.md", sample_texts_dir / "rus-cp1251.txt"], tokenizer, CorpusConfig(chunk_tokens=32))
    return p


def test_remove_a_book_and_add_it_again(project, tokenizer, sample_texts_dir, capsys):
    from core.cli import main
    from core.evaluate.exam import load_exam, save_exam
    from core.evaluate.questions import Question
    from core.ingest import ingest
    from core.ingest.store import complete_documents

    docs = {d["title"]: d["id"] for d in complete_documents(project)}
    russian = next(i for t, i in docs.items() if t != "A Small Book")
    save_exam(project, [Question("Q1?", ["a"], doc_id=docs["A Small Book"]), Question("Q2?", ["b"], doc_id=russian)])
    assert main(["corpus", "--project", str(project.root), "--remove", "rus-cp1251.txt", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["removed"]["removed"][0]["id"] == russian and summary["documents"] == 1
    corpus = project.corpus_dir
    assert {c["doc_id"] for c in read_jsonl(corpus / "chunks.jsonl")} == {docs["A Small Book"]}
    assert [d["id"] for d in complete_documents(project)] == [docs["A Small Book"]]
    assert all(r.get("doc_id") != russian for r in json.loads((corpus / "files.json").read_text()))
    assert [q.question for q in load_exam(project)] == ["Q1?"]
    assert json.loads((corpus / "report.json").read_text())["total"]["books"] == 1

    result = ingest(project, [sample_texts_dir / "rus-cp1251.txt"], tokenizer, CorpusConfig(chunk_tokens=32))
    assert result.summary()["ingested"] == 1 and len(complete_documents(project)) == 2


def test_unknown_book_is_named(project):
    from core.ingest.remove import remove_books

    with pytest.raises(ProjectError, match="nothing.txt: no such book in the corpus"):
        remove_books(project, ["nothing.txt"])


def test_adding_an_unchanged_file_again_keeps_its_row(project, tokenizer, sample_texts_dir):
    from core.ingest import ingest

    rows = {r["path"]: r for r in json.loads((project.corpus_dir / "files.json").read_text())}
    book = str(sample_texts_dir / "book.md")
    before = rows[book]
    result = ingest(project, [sample_texts_dir / "book.md"], tokenizer, CorpusConfig(chunk_tokens=32))
    assert result.summary()["skipped"] == 1
    after = {r["path"]: r for r in json.loads((project.corpus_dir / "files.json").read_text())}[book]
    assert after["status"] == before["status"] == "ok" and after["chunks"] == before["chunks"] > 0
