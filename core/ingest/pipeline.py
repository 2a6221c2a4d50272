"""The ingest job: files, folders and archives in; documents and chunks appended to the corpus.

Per document: size check → content id (an unchanged file already in the corpus is skipped) →
read and clean within the time budget (``worker.py``) → near-duplicate check against the
corpus (MinHash) → exact duplicate paragraphs dropped → token-bounded chunks (duplicates
dropped) → chunks appended, then the document record. A document listed in documents.jsonl is
therefore complete, and a crash mid-drop keeps every document already read. At the end the
``datasets`` copy of the corpus is rebuilt and ``corpus/report.json`` rewritten (``store.py``).

Each file gets an outcome with a one-line reason: ok, warning (ok, but something was lost or
looks off — the reason says what), skipped (already there) or failed.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from core.config import CorpusConfig
from core.events import CancelToken, Cancelled, Reporter, StageReporter
from core.ingest.archives import expand_paths, expand_sources  # noqa: F401  (expand_paths: public API)
from core.ingest.chunking import chunk_document, tokenizer_counter
from core.ingest.dedup import CorpusIndex, signature
from core.ingest.document import Document, IngestError
from core.ingest.limits import Limits, check_size
from core.ingest.store import build_dataset, complete_documents, corpus_paths, save_outcomes, save_report  # noqa: F401
from core.ingest.worker import ReaderWorker, Source
from core.project import Project, append_jsonl, read_jsonl


@dataclass
class FileOutcome:
    path: str
    status: str            # ok | warning (ok, with a note) | skipped | failed
    reason: str = ""
    doc_id: str = ""
    chunks: int = 0
    tokens: int = 0
    encoding: str = ""
    title: str = ""
    language: str = ""
    duplicates: int = 0    # paragraphs + chunks dropped as exact duplicates

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class IngestResult:
    outcomes: list[FileOutcome] = field(default_factory=list)
    cancelled: bool = False
    dataset: str = ""

    @property
    def ok(self) -> list[FileOutcome]:
        """Every file that went into the corpus (with or without warnings)."""
        return [o for o in self.outcomes if o.status in ("ok", "warning")]

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def summary(self) -> dict:
        return {"files": len(self.outcomes), "ingested": len(self.ok), "failed": len(self.failed),
                "skipped": sum(o.status == "skipped" for o in self.outcomes),
                "warnings": sum(o.status == "warning" for o in self.outcomes),
                "chunks": sum(o.chunks for o in self.outcomes), "tokens": sum(o.tokens for o in self.outcomes),
                "duplicates_removed": sum(o.duplicates for o in self.outcomes),
                "errors": [o.reason for o in self.failed], "cancelled": self.cancelled,
                "outcomes": [{"path": o.path, "status": o.status, "reason": o.reason, "chunks": o.chunks,
                              "tokens": o.tokens, "title": o.title, "language": o.language} for o in self.outcomes]}


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
    limits = Limits.from_config(config)
    documents = complete_documents(project)
    index = CorpusIndex.load(documents, list(read_jsonl(where["chunks"])), config.near_dup_threshold)
    sources = expand_sources(paths, limits)
    job = _Job(config, tokenizer, index, where, limits)
    result = IngestResult()

    with ReaderWorker(config.file_timeout_s) as worker:
        for number, (source, problem) in enumerate(sources):
            if cancel.cancelled:
                break
            say.progress(number, len(sources), f"Reading {source.name}", file=source.display)
            try:
                outcome = FileOutcome(source.display, "failed", problem) if problem else job.run(source, worker, cancel)
            except Cancelled:
                break
            result.outcomes.append(outcome)
            if outcome.status == "failed":
                say.error(outcome.reason, file=source.display)
            elif outcome.status == "skipped":
                say.log(outcome.reason, file=source.display)
            else:
                note = f" — {outcome.reason}" if outcome.reason else ""
                say.log(f"{source.name}: {outcome.chunks} chunks, {outcome.tokens} tokens"
                        f"{', ' + outcome.language if outcome.language else ''}{note}", file=source.display)
            save_outcomes(where["files"], result.outcomes)
    if cancel.cancelled:
        result.cancelled = True
        say.warning("Ingest cancelled; files read so far are kept")
    if result.ok or (documents and not where["dataset"].exists()):
        try:
            say.progress(len(sources), len(sources), "Saving the corpus dataset")
            result.dataset = str(build_dataset(project))
        except Exception as exc:  # the JSONL corpus is complete; the datasets copy can be rebuilt later
            say.warning(f"Could not save the corpus as a dataset ({type(exc).__name__}: {exc}); "
                        f"the corpus itself is saved")
    try:
        save_report(project)  # corpus/report.json: what the corpus now holds, per book and in total
    except (OSError, ValueError, TypeError) as exc:  # a report is a summary; the corpus is what counts
        say.warning(f"Could not write the corpus report ({exc}); the corpus itself is saved")
    say.progress(len(sources), len(sources), "Ingest finished")
    return result


class _Job:
    """One ingest's shared state: settings, tokenizer, the duplicate index, content-hash cache."""

    def __init__(self, config: CorpusConfig, tokenizer, index: CorpusIndex, where: dict, limits: Limits) -> None:
        self.config, self.tokenizer, self.index, self.where, self.limits = config, tokenizer, index, where, limits
        self.count = tokenizer_counter(tokenizer)
        self._hashes: dict[str, str] = {}

    def content_id(self, source: Source) -> str:
        if source.path not in self._hashes:
            digest = hashlib.sha256()
            with open(source.path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            self._hashes[source.path] = digest.hexdigest()
        whole = self._hashes[source.path]
        if not source.member:
            return whole[:16]
        return hashlib.sha256(f"{whole}/{source.member}".encode("utf-8")).hexdigest()[:16]

    def run(self, source: Source, worker: ReaderWorker, cancel: CancelToken) -> FileOutcome:
        path, name = Path(source.path), source.name
        try:
            if not path.exists():
                raise IngestError(f"{source.path}: file not found")
            if not path.is_file():
                raise IngestError(f"{source.path}: not a regular file")
            if not source.member:
                check_size(path.stat().st_size, name, self.limits)
                if path.stat().st_size == 0:
                    raise IngestError(f"{name}: the file is empty")
            doc_id = self.content_id(source)
            if doc_id in self.index.doc_ids:
                return FileOutcome(source.display, "skipped", f"{name}: already in the corpus (unchanged)", doc_id)
            doc = worker.read(source, self.config, cancel)
            return self.store(source, doc_id, doc)
        except IngestError as exc:
            return FileOutcome(source.display, "failed", str(exc))
        except OSError as exc:
            return FileOutcome(source.display, "failed", f"{name}: cannot be read ({exc.strerror or exc})")

    def store(self, source: Source, doc_id: str, doc: Document) -> FileOutcome:
        name = source.name
        values = signature(doc.text) if self.index.threshold < 1 else None
        twin = self.index.near_duplicate(values) if values else None
        if twin:
            title = self.index.titles.get(twin[0], twin[0])
            return FileOutcome(source.display, "skipped", f"{name}: the same text as “{title}”, already in the corpus "
                               f"({twin[1]:.0%} alike)", doc_id, title=doc.title)
        dup_paragraphs, new_paragraphs = (self.index.drop_seen_paragraphs(doc) if self.config.dedup_paragraphs
                                          else (0, set()))
        if not doc.sections:
            return FileOutcome(source.display, "skipped", f"{name}: every paragraph is already in the corpus", doc_id)
        chunks = list(chunk_document(doc, self.config.chunk_tokens, self.count, self.config.min_chunk_tokens,
                                     self.tokenizer))
        dup_chunks = 0
        new_chunks: set[str] = set()
        if self.config.dedup_paragraphs:
            before = len(chunks)
            chunks, new_chunks = self.index.drop_seen_chunks(chunks)
            dup_chunks = before - len(chunks)
        if not chunks:
            raise IngestError(f"{name}: no paragraph long enough to train on")
        # Chunks first, the document record last: a document listed in documents.jsonl is complete.
        for i, chunk in enumerate(chunks):
            append_jsonl(self.where["chunks"], {"doc_id": doc_id, "title": doc.title, "chunk": i,
                                                "chapter_id": f"{doc_id}:{chunk['section']}", **chunk})
        tokens = sum(c["tokens"] for c in chunks)
        stats = {**doc.stats, "characters": sum(len(p) for s in doc.sections for p in s.paragraphs),
                 "words": sum(len(p.split()) for s in doc.sections for p in s.paragraphs),
                 "paragraphs": doc.paragraph_count, "sections": len(doc.sections), "tokens": tokens,
                 "chunks": len(chunks), "duplicate_paragraphs": dup_paragraphs, "duplicate_chunks": dup_chunks}
        record = {"id": doc_id, **doc.to_dict(), "source": source.display, "chunks": len(chunks), "tokens": tokens,
                  "stats": stats, "warnings": doc.warnings, "minhash": values}
        append_jsonl(self.where["documents"], record)
        self.index.commit(record, values, new_paragraphs, new_chunks)
        status = "warning" if doc.warnings else "ok"
        return FileOutcome(source.display, status, f"{name}: " + "; ".join(doc.warnings) if doc.warnings else "",
                           doc_id, len(chunks), tokens, doc.encoding, doc.title, doc.language,
                           dup_paragraphs + dup_chunks)
