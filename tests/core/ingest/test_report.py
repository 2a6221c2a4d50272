"""The corpus report: per book and in total (words, tokens, language, noise and junk dropped,
duplicates removed, parts recovered), in corpus/report.json after every ingest and from the CLI."""
from __future__ import annotations

import json

from core.config import CorpusConfig
from core.ingest import ingest
from core.ingest.store import corpus_paths, corpus_report, report_table
from core.project import Project
from damaged import junk_paragraphs, truncate
from samples import PROSE, RUSSIAN, book_pdf


def _drop(folder):
    folder.mkdir()
    truncate(book_pdf(folder.parent / "whole.pdf", pages=10), 0.6, folder / "cut.pdf")
    junk = junk_paragraphs()
    (folder / "notes.txt").write_text("\n\n".join([f"{PROSE} ({i})" for i in range(30)] + [junk["hex"][0],
                                                  junk["operators"][0], junk["base64"][0]]), encoding="utf-8")
    (folder / "ru.txt").write_text("\n\n".join(f"{RUSSIAN} ({i})" for i in range(20)), encoding="utf-8")
    (folder / "ru2.txt").write_text("\n\n".join(f"{RUSSIAN} ({i})" for i in range(21)), encoding="utf-8")  # near-twin
    (folder / "empty.txt").write_text("  \n", encoding="utf-8")
    return folder


def test_report_after_ingest(tmp_path, tokenizer):
    project = Project.open(tmp_path / "project")
    ingest(project, [_drop(tmp_path / "drop")], tokenizer, CorpusConfig())
    saved = json.loads(corpus_paths(project)["report"].read_text(encoding="utf-8"))
    assert saved == corpus_report(project)
    books = {b["path"].rsplit("/", 1)[-1]: b for b in saved["books"]}
    assert set(books) == {"cut.pdf", "notes.txt", "ru.txt"}
    assert books["cut.pdf"]["recovered"].endswith(" of 10 pages") and books["cut.pdf"]["warnings"]
    assert books["notes.txt"]["junk_dropped"] == 3 and books["notes.txt"]["words"] == 30 * (len(PROSE.split()) + 1)
    assert books["ru.txt"]["language"] == "ru" and books["ru.txt"]["tokens"] > 0
    total = saved["total"]
    assert total["books"] == 3 and total["junk_dropped"] == 3 and total["recovered_books"] == 1
    assert total["words"] == sum(b["words"] for b in saved["books"]) and total["languages"]["ru"]["books"] == 1
    assert total["duplicate_books_skipped"] == 1 and total["failed_files"] == 1
    assert saved["failed"][0]["reason"].startswith("empty.txt: ")
    table = report_table(saved)
    print("\n" + table)
    assert "total: 3 books" in table and "failed: empty.txt" in table and "1 duplicate books skipped" in table


def test_cli_corpus_report(tmp_path, tokenizer, capsys):
    from core.cli import main

    project = Project.open(tmp_path / "project")
    ingest(project, [_drop(tmp_path / "drop")], tokenizer, CorpusConfig())
    corpus_paths(project)["report"].unlink()
    assert main(["corpus", "--project", str(project.root), "--report"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Book") and "total: 3 books" in out and corpus_paths(project)["report"].exists()
    assert main(["corpus", "--project", str(project.root), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["report"]["total"]["books"] == 3 and summary["documents"] == 3


def test_report_of_records_written_before_the_report_existed(tmp_path):
    from core.project import append_jsonl

    project = Project.open(tmp_path / "project")
    append_jsonl(corpus_paths(project)["documents"], {"id": "a" * 16, "title": "Old", "sections": [
        {"heading": "One", "level": 1, "paragraphs": ["three words here", "and two"]}]})
    report = corpus_report(project)
    assert report["books"][0]["words"] == 5 and report["books"][0]["recovered"] == ""
    assert report["total"]["books"] == 1 and report["failed"] == []
