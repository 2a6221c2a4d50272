"""Ingest: files → documents (sections of paragraphs) → token-bounded chunks in the corpus."""
from core.ingest.pipeline import FileOutcome, IngestResult, ingest, load_chunks
from core.ingest.readers import IngestError, read_file

__all__ = ["FileOutcome", "IngestError", "IngestResult", "ingest", "load_chunks", "read_file"]
