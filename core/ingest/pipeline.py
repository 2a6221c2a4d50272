"""The ingest job: files and folders in, documents and chunks appended to the project's corpus.

Each file gets an outcome (ok / skipped / failed) with a one-line reason. The corpus is written
after every file, so a crash mid-drop keeps everything already read; a file whose content is
already in the corpus is skipped (re-dropping the same book is a no-op).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from core.config import CorpusConfig
from core.events import CancelToken, Reporter, StageReporter
from core.ingest.chunking import chunk_document, tokenizer_counter
from core.ingest.readers import SUPPORTED, IngestError, read_file
from core.project import Project, append_jsonl, atomic_write_json, read_jsonl


@dataclass
class FileOutcome:
    path: str
    status: str            # ok | skipped | failed
    reason: str = ""
    doc_id: str = ""
    chunks: int = 0
    tokens: int = 0
    encoding: str = ""


@dataclass
class IngestResult:
    outcomes: list[FileOutcome] = field(default_factory=list)
    cancelled: bool = False

    @property
    def ok(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "ok"]

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def summary(self) -> dict:
        return {"files": len(self.outcomes), "ingested": len(self.ok), "failed": len(self.failed),
                "skipped": sum(o.status == "skipped" for o in self.outcomes),
                "chunks": sum(o.chunks for o in self.outcomes), "tokens": sum(o.tokens for o in self.outcomes),
                "errors": [o.reason for o in self.failed], "cancelled": self.cancelled}


def expand_paths(paths: Iterable[Path | str]) -> list[Path]:
    """Folders are walked recursively for supported files; plain paths are kept as given."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED))
        else:
            out.append(path)
    return out


def corpus_paths(project: Project) -> dict[str, Path]:
    d = project.corpus_dir
    return {"documents": d / "documents.jsonl", "chunks": d / "chunks.jsonl", "files": d / "files.json"}


def load_chunks(project: Project) -> list[dict]:
    """Chunks of complete documents only (a crash between the two appends leaves orphans)."""
    where = corpus_paths(project)
    complete = {d["id"] for d in read_jsonl(where["documents"])}
    return [c for c in read_jsonl(where["chunks"]) if c["doc_id"] in complete]


def ingest(project: Project, paths: Iterable[Path | str], tokenizer, config: CorpusConfig | None = None,
           report: Reporter | None = None, cancel: CancelToken | None = None) -> IngestResult:
    """Read every file, chunk it with ``tokenizer``, append to the corpus; never stop on a bad file."""
    config = config or CorpusConfig()
    cancel = cancel or CancelToken()
    say = StageReporter(report, "ingest")
    where = corpus_paths(project)
    known = {d["id"] for d in read_jsonl(where["documents"])}
    files = expand_paths(paths)
    count = tokenizer_counter(tokenizer)
    result = IngestResult()

    for index, path in enumerate(files):
        if cancel.cancelled:
            result.cancelled = True
            say.warning("Ingest cancelled; files read so far are kept")
            break
        say.progress(index, len(files), f"Reading {path.name}", file=str(path))
        outcome = _ingest_one(path, config, tokenizer, count, known, where)
        result.outcomes.append(outcome)
        if outcome.status == "failed":
            say.error(outcome.reason, file=str(path))
        elif outcome.status == "skipped":
            say.log(outcome.reason, file=str(path))
        else:
            say.log(f"{path.name}: {outcome.chunks} chunks, {outcome.tokens} tokens ({outcome.encoding})", file=str(path))
        _save_outcomes(where["files"], result.outcomes)
    say.progress(len(files), len(files), "Ingest finished")
    return result


def _ingest_one(path: Path, config: CorpusConfig, tokenizer, count, known: set[str], where: dict) -> FileOutcome:
    name = path.name or str(path)
    try:
        if not path.exists():
            raise IngestError(f"{path}: file not found")
        if not path.is_file():
            raise IngestError(f"{path}: not a regular file")
        size_mb = path.stat().st_size / 1e6
        if size_mb > config.max_file_mb:
            raise IngestError(f"{name}: {size_mb:.0f} MB is over the {config.max_file_mb:.0f} MB limit per file")
        doc_id = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        if doc_id in known:
            return FileOutcome(str(path), "skipped", f"{name}: already in the corpus (unchanged)", doc_id)
        doc = read_file(path)
        chunks = list(chunk_document(doc, config.chunk_tokens, count, config.min_chunk_tokens, tokenizer))
        if not chunks:
            raise IngestError(f"{name}: no paragraph long enough to train on")
    except IngestError as exc:
        return FileOutcome(str(path), "failed", str(exc))
    except OSError as exc:
        return FileOutcome(str(path), "failed", f"{name}: cannot be read ({exc.strerror or exc})")
    # Chunks first, the document record last: a document listed in documents.jsonl is complete.
    for i, chunk in enumerate(chunks):
        append_jsonl(where["chunks"], {"doc_id": doc_id, "title": doc.title, "chunk": i, **chunk})
    record = {"id": doc_id, **doc.to_dict(), "chunks": len(chunks), "tokens": sum(c["tokens"] for c in chunks)}
    append_jsonl(where["documents"], record)
    known.add(doc_id)
    return FileOutcome(str(path), "ok", "", doc_id, len(chunks), record["tokens"], doc.encoding)


def _save_outcomes(path: Path, outcomes: list[FileOutcome]) -> None:
    previous = {}
    if path.exists():
        import json
        previous = {o["path"]: o for o in json.loads(path.read_text(encoding="utf-8"))}
    previous.update({o.path: o.__dict__ for o in outcomes})
    atomic_write_json(path, list(previous.values()))
