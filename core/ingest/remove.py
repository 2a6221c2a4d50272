"""Take books out of a project's corpus: ``corpus --remove BOOK`` and the Corpus page's Remove.

A book is named by its file path (as added), its file name, its title or its id. Its document
record and chunks leave ``corpus/documents.jsonl`` and ``corpus/chunks.jsonl`` (each rewritten
whole into a temporary file and swapped in: a crash leaves the old corpus or the new one, never
half), its row leaves ``corpus/files.json``, its exam questions leave the exam, and the
``corpus/dataset`` copy and ``report.json`` are rebuilt. Runs already trained keep what they
learned; the next dataset build leaves the book out. Adding the file again reads it anew.
"""
from __future__ import annotations

import json
from pathlib import Path

from core.ingest.store import build_dataset, complete_documents, corpus_paths, save_report
from core.project import Project, ProjectError, atomic_write_json, atomic_write_text, read_jsonl


def find_books(project: Project, names: list[str]) -> dict[str, dict]:
    """id → document record for each name; a name that matches no book (or several) is an error naming it."""
    documents = complete_documents(project)
    found: dict[str, dict] = {}
    for name in names:
        key = str(name).strip()
        hits = [d for d in documents if key in (d.get("id"), d.get("path"), d.get("title"))
                or (d.get("path") and Path(d["path"]).name == key)]
        if not hits:
            titles = ", ".join(f"“{d.get('title') or d.get('id')}”" for d in documents) or "none"
            raise ProjectError(f"{key}: no such book in the corpus (books: {titles})")
        if len(hits) > 1:
            raise ProjectError(f"{key}: {len(hits)} books match; name one by its path or id "
                               f"({', '.join(d['id'] for d in hits)})")
        found[hits[0]["id"]] = hits[0]
    return found


def _rewrite_jsonl(path: Path, keep) -> int:
    """Rewrite a JSONL log with the records ``keep`` accepts; returns how many were dropped."""
    if not path.exists():
        return 0
    kept, dropped = [], 0
    for record in read_jsonl(path):
        if keep(record):
            kept.append(json.dumps(record, ensure_ascii=False))
        else:
            dropped += 1
    if dropped:
        atomic_write_text(path, "".join(line + "\n" for line in kept))
    return dropped


def remove_books(project: Project, names: list[str]) -> dict:
    """Remove the named books (see the module doc); returns what went: titles, chunks, exam questions."""
    books = find_books(project, names)
    ids = set(books)
    where = corpus_paths(project)
    chunks = _rewrite_jsonl(where["chunks"], lambda c: c.get("doc_id") not in ids)
    _rewrite_jsonl(where["documents"], lambda d: d.get("id") not in ids)
    if where["files"].exists():
        try:
            rows = json.loads(where["files"].read_text(encoding="utf-8"))
        except ValueError:
            rows = []
        atomic_write_json(where["files"], [r for r in rows if r.get("doc_id") not in ids])
    from core.evaluate.exam import load_exam, save_exam
    exam = load_exam(project)
    kept = [q for q in exam if q.doc_id not in ids]
    if len(kept) < len(exam):
        save_exam(project, kept)   # (meta.json stays: the exam is not written again for the books left)
    questions = len(exam) - len(kept)
    build_dataset(project)
    save_report(project)
    return {"removed": [{"id": i, "title": d.get("title") or i, "path": d.get("path", "")} for i, d in books.items()],
            "chunks_removed": chunks, "exam_questions_removed": questions,
            "books_left": len(complete_documents(project))}
