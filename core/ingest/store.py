"""The corpus on disk: JSONL append logs, a ``datasets`` copy for tools, text export and stats.

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
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from core.project import Project, read_jsonl

STAT_KEYS = ("characters", "tokens", "paragraphs", "sections", "chunks", "noise_ratio", "noisy_dropped",
             "noisy_flagged", "duplicate_paragraphs", "duplicate_chunks", "header_lines_removed", "hyphens_joined",
             "paragraphs_reflowed", "gutenberg_removed", "mojibake_fixed", "soft_hyphens_removed", "pages")


def corpus_paths(project: Project) -> dict[str, Path]:
    d = project.corpus_dir
    return {"documents": d / "documents.jsonl", "chunks": d / "chunks.jsonl", "files": d / "files.json",
            "dataset": d / "dataset"}


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
    previous.update({o.path: o.__dict__ for o in outcomes})
    atomic_write_json(path, list(previous.values()))
