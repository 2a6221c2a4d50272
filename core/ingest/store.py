"""The corpus on disk: JSONL append logs, a ``datasets`` copy for tools, text export, stats and report.

``corpus/documents.jsonl`` and ``corpus/chunks.jsonl`` stay the source of truth: they are
appended file by file, so a crash mid-drop keeps everything already read. At the end of an
ingest ``build_dataset`` rewrites ``corpus/dataset/`` — a Hugging Face ``DatasetDict`` saved
with ``save_to_disk`` with two splits:

- ``documents``: one row per book (id, path, title, author, language, format, encoding,
  chapters, and the per-document stats: characters, tokens, paragraphs, noise ratio,
  duplicates removed, what cleaning changed);
- ``chunks``: one row per training chunk with its book id (``doc_id``), chapter index
  (``section``), ``chapter_id`` ("<doc_id>:<section>"), heading, title, text and tokens.

It is rebuilt whole into a temporary folder and swapped in, so it is always complete.

``corpus_report`` says what the corpus holds per book and in total — words, tokens, language,
noise and junk dropped, duplicates removed, parts recovered from damaged files — plus the files
that failed or were skipped; ``save_report`` writes it to ``corpus/report.json`` (after every
ingest) and ``report_table`` renders it for a terminal.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from core.project import Project, read_jsonl

STAT_KEYS = ("characters", "tokens", "paragraphs", "sections", "chunks", "noise_ratio", "noisy_dropped",
             "noisy_flagged", "duplicate_paragraphs", "duplicate_chunks", "header_lines_removed", "hyphens_joined",
             "paragraphs_reflowed", "gutenberg_removed", "mojibake_fixed", "soft_hyphens_removed", "pages",
             "words", "junk_dropped", "junk_flagged", "junk_lines_removed", "parts_read", "parts_total")


def corpus_paths(project: Project) -> dict[str, Path]:
    d = project.corpus_dir
    return {"documents": d / "documents.jsonl", "chunks": d / "chunks.jsonl", "files": d / "files.json",
            "dataset": d / "dataset", "report": d / "report.json"}


def complete_documents(project: Project) -> list[dict]:
    """Document records, first copy of each id (a record is written only after its chunks)."""
    seen, out = set(), []
    for record in read_jsonl(corpus_paths(project)["documents"]):
        if record.get("id") not in seen:
            seen.add(record.get("id"))
            out.append(record)
    return out


def document_row(record: dict) -> dict:
    stats = record.get("stats") or {}
    row = {k: record.get(k, "") or "" for k in ("id", "path", "title", "author", "language", "format", "encoding")}
    row["chapters"] = [s.get("heading", "") for s in record.get("sections", [])]
    row.update({k: float(stats.get(k, 0) or 0) if k == "noise_ratio" else int(stats.get(k, 0) or 0) for k in STAT_KEYS})
    row["tokens"] = int(record.get("tokens", row["tokens"]) or 0)
    row["chunks"] = int(record.get("chunks", row["chunks"]) or 0)
    return row


def build_dataset(project: Project) -> Path:
    """Rewrite ``corpus/dataset`` from the JSONL logs; returns its folder."""
    from datasets import Dataset, DatasetDict, Features, Sequence, Value

    where = corpus_paths(project)
    documents = complete_documents(project)
    ids = {d["id"] for d in documents}
    doc_features = Features({"id": Value("string"), "path": Value("string"), "title": Value("string"),
                             "author": Value("string"), "language": Value("string"), "format": Value("string"),
                             "encoding": Value("string"), "chapters": Sequence(Value("string")),
                             **{k: Value("float64" if k == "noise_ratio" else "int64") for k in STAT_KEYS}})
    chunk_features = Features({"doc_id": Value("string"), "chunk": Value("int64"), "section": Value("int64"),
                               "chapter_id": Value("string"), "heading": Value("string"), "title": Value("string"),
                               "text": Value("string"), "tokens": Value("int64")})

    def chunk_rows():
        for c in read_jsonl(where["chunks"]):
            if c.get("doc_id") in ids:
                yield {"doc_id": c["doc_id"], "chunk": int(c.get("chunk", 0)), "section": int(c.get("section", 0)),
                       "chapter_id": f"{c['doc_id']}:{int(c.get('section', 0))}", "heading": c.get("heading") or "",
                       "title": c.get("title") or "", "text": c["text"], "tokens": int(c.get("tokens", 0))}

    import datasets as hf_datasets

    dataset = DatasetDict({
        "documents": Dataset.from_list([document_row(d) for d in documents], features=doc_features),
        "chunks": Dataset.from_list(list(chunk_rows()), features=chunk_features),
    })
    target = where["dataset"]
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    quiet = hf_datasets.are_progress_bars_disabled()
    hf_datasets.disable_progress_bars()  # the ingest job reports its own progress
    try:
        dataset.save_to_disk(str(tmp))
    finally:
        if not quiet:
            hf_datasets.enable_progress_bars()
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def load_dataset(project: Project):
    """The ``DatasetDict`` saved by ``build_dataset`` (documents and chunks splits)."""
    from datasets import load_from_disk

    return load_from_disk(str(corpus_paths(project)["dataset"]))


def corpus_stats(project: Project) -> dict:
    """Totals over the corpus plus one line of stats per document."""
    documents = [document_row(d) for d in complete_documents(project)]
    languages: dict[str, int] = {}
    for d in documents:
        languages[d["language"] or "unknown"] = languages.get(d["language"] or "unknown", 0) + 1
    return {"documents": len(documents), "chunks": sum(d["chunks"] for d in documents),
            "tokens": sum(d["tokens"] for d in documents), "characters": sum(d["characters"] for d in documents),
            "languages": languages,
            "duplicates_removed": sum(d["duplicate_paragraphs"] + d["duplicate_chunks"] for d in documents),
            "noisy_paragraphs": sum(d["noisy_dropped"] + d["noisy_flagged"] for d in documents),
            "per_document": [{k: d[k] for k in ("id", "title", "author", "language", "format", "characters", "tokens",
                                                "paragraphs", "sections", "chunks", "noise_ratio",
                                                "duplicate_paragraphs", "duplicate_chunks")} | {"path": d["path"]}
                             for d in documents]}


def document_text(record: dict) -> str:
    """A document as plain text: title, then each chapter heading and its paragraphs, blank-line separated."""
    blocks = [record.get("title") or ""]
    if record.get("author"):
        blocks.append(record["author"])
    for section in record.get("sections", []):
        heading = section.get("heading") or ""
        if heading and heading != record.get("title"):
            blocks.append(heading)
        blocks.extend(section.get("paragraphs", []))
    return "\n\n".join(b for b in blocks if b.strip()) + "\n"


def export_text(project: Project, folder: Path | str) -> list[Path]:
    """Write every document's cleaned text as ``<name>-<id>.txt`` (UTF-8) into ``folder``."""
    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for record in complete_documents(project):
        stem = Path(str(record.get("path", "")).rstrip("/")).name or record.get("title") or "document"
        stem = re.sub(r"[^\w.-]+", "_", stem, flags=re.UNICODE).strip("._")[:80] or "document"
        target = folder / f"{stem}-{record['id'][:8]}.txt"
        target.write_text(document_text(record), encoding="utf-8")
        written.append(target)
    return written


def save_outcomes(path: Path, outcomes: list) -> None:
    """files.json: the newest outcome of every file the project has seen."""
    from core.project import atomic_write_json

    previous = {}
    if path.exists():
        try:
            previous = {o["path"]: o for o in json.loads(path.read_text(encoding="utf-8"))}
        except (ValueError, KeyError, TypeError):
            previous = {}  # a damaged files.json is only a log; start it again
    for o in outcomes:
        before = previous.get(o.path) or {}
        if o.status == "skipped" and before.get("status") in ("ok", "warning") and before.get("doc_id") == o.doc_id:
            continue  # the same file added again, unchanged: its row keeps what was read (numbers, warnings)
        previous[o.path] = o.__dict__
    atomic_write_json(path, list(previous.values()))


def _words(record: dict) -> int:
    stats = record.get("stats") or {}
    if stats.get("words"):
        return int(stats["words"])
    return sum(len(p.split()) for section in record.get("sections", []) for p in section.get("paragraphs", []))


def _recovered(stats: dict) -> str:
    """'10 of 20 pages', '9 chapter files' … for a book read from a damaged file ('' otherwise)."""
    unit = stats.get("parts_unit")
    if not unit:
        return ""
    read, total = int(stats.get("parts_read", 0)), int(stats.get("parts_total", 0))
    return f"{read} of {total} {unit}" if total else f"{read} {unit}"


def corpus_report(project: Project) -> dict:
    """Per book and in total: words, tokens, language, noise and junk dropped, duplicates removed,
    parts recovered; and the files that failed or were skipped, with their reasons. The GUI's
    Books page and ``corpus --report`` show this; ``save_report`` writes it."""
    books = []
    for record in complete_documents(project):
        stats = record.get("stats") or {}
        books.append({"id": record.get("id", ""), "title": record.get("title") or "", "author": record.get("author") or "",
                      "path": record.get("source") or record.get("path") or "", "format": record.get("format") or "",
                      "language": record.get("language") or "", "words": _words(record),
                      "tokens": int(record.get("tokens", 0) or 0), "chunks": int(record.get("chunks", 0) or 0),
                      "paragraphs": int(stats.get("paragraphs", 0) or 0),
                      **{key: int(stats.get(key, 0) or 0) for key in ("noisy_dropped", "noisy_flagged", "junk_dropped",
                                                                      "junk_flagged", "junk_lines_removed")},
                      "duplicates_removed": int(stats.get("duplicate_paragraphs", 0) or 0)
                      + int(stats.get("duplicate_chunks", 0) or 0),
                      "recovered": _recovered(stats), "warnings": list(record.get("warnings") or [])})
    languages: dict[str, dict] = {}
    for book in books:
        entry = languages.setdefault(book["language"] or "unknown", {"books": 0, "words": 0, "tokens": 0})
        entry["books"] += 1
        entry["words"] += book["words"]
        entry["tokens"] += book["tokens"]
    files = _outcomes(project)
    failed = [{"path": o.get("path", ""), "reason": o.get("reason", "")} for o in files if o.get("status") == "failed"]
    skipped = [{"path": o.get("path", ""), "reason": o.get("reason", "")} for o in files if o.get("status") == "skipped"]
    total = {key: sum(book[key] for book in books) for key in ("words", "tokens", "chunks", "paragraphs", "noisy_dropped",
                                                               "noisy_flagged", "junk_dropped", "junk_flagged",
                                                               "junk_lines_removed", "duplicates_removed")}
    total.update(books=len(books), languages=languages, recovered_books=sum(1 for b in books if b["recovered"]),
                 books_with_warnings=sum(1 for b in books if b["warnings"]), failed_files=len(failed),
                 duplicate_books_skipped=sum(1 for o in skipped if "the same text as" in o["reason"]))
    return {"books": books, "total": total, "failed": failed, "skipped": skipped}


def _outcomes(project: Project) -> list[dict]:
    path = corpus_paths(project)["files"]
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    except (ValueError, OSError):
        return []  # files.json is a log; a damaged one leaves the report without failures


def save_report(project: Project) -> Path:
    """Write ``corpus/report.json`` (atomically) and return its path."""
    from core.project import atomic_write_json

    path = corpus_paths(project)["report"]
    atomic_write_json(path, corpus_report(project))
    return path


def report_table(report: dict) -> str:
    """The report as a terminal table: a line per book, the totals, then the files not read."""
    def short(text: str, width: int) -> str:
        return text if len(text) <= width else text[:width - 1] + "…"

    lines = [f"{'Book':36} {'lang':4} {'words':>9} {'tokens':>9} {'noise':>6} {'junk':>6} {'dups':>6}  recovered"]
    for b in report["books"]:
        lines.append(f"{short(b['title'] or b['path'], 36):36} {b['language'] or '?':4} {b['words']:>9} {b['tokens']:>9} "
                     f"{b['noisy_dropped'] + b['noisy_flagged']:>6} {b['junk_dropped'] + b['junk_flagged']:>6} "
                     f"{b['duplicates_removed']:>6}  {b['recovered']}")
    t = report["total"]
    languages = ", ".join(f"{lang} {v['books']} ({v['words']} words)" for lang, v in sorted(t["languages"].items()))
    lines.append(f"{'total: ' + str(t['books']) + ' books':36} {'':4} {t['words']:>9} {t['tokens']:>9} "
                 f"{t['noisy_dropped'] + t['noisy_flagged']:>6} {t['junk_dropped'] + t['junk_flagged']:>6} "
                 f"{t['duplicates_removed']:>6}  {t['recovered_books']} recovered")
    lines.append(f"languages: {languages or 'none'}; noise and junk are paragraphs dropped (or flagged), dups are "
                 f"paragraphs and chunks already in the corpus; {t['duplicate_books_skipped']} duplicate books skipped")
    lines.extend(f"failed: {o['reason'] or o['path']}" for o in report["failed"])
    return "\n".join(lines)
