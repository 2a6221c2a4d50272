"""The window's ingest job, in a child process (``core.child``): tokenizer, reading, chunking, totals.

Loading the model's tokenizer imports transformers (and with it torch and sympy) and, the first
time, converts a GGUF model; in the window's own process each import held the GIL for up to
0.16 s and a first conversion up to 0.4 s (``bench/gui_stall.py``), so a drop froze the window.
In a child the window only reads events. The CLI calls ``ingest`` directly.
"""
from __future__ import annotations

from pathlib import Path

from core.child import ChildDied, run_in_child
from core.events import CancelToken, Reporter
from core.ingest.pipeline import IngestResult
from core.ingest.readers import IngestError
from core.project import Project


def ingest_with_model_tokenizer(root: str, paths: list[str], report=None, cancel=None) -> IngestResult:
    """Ingest ``paths`` chunked by the project's model tokenizer; the result carries the corpus totals."""
    from core.ingest.pipeline import ingest
    from core.ingest.store import corpus_stats
    from core.models import load_tokenizer, resolve

    project = Project(root)
    tokenizer = load_tokenizer(resolve(project.model.source, report))
    result = ingest(project, [Path(p) for p in paths], tokenizer, project.settings("corpus"), report=report,
                    cancel=cancel)
    try:  # the totals read every book's record: here, off the window's process
        result.stats = corpus_stats(project)
    except Exception:  # noqa: BLE001 — a damaged log: the page reads what it can later
        pass
    return result


def ingest_in_child(project: Project, paths: list[Path], report: Reporter | None = None,
                    cancel: CancelToken | None = None) -> IngestResult:
    try:
        return run_in_child("core.ingest.in_child:ingest_with_model_tokenizer",
                            {"root": str(project.root), "paths": [str(p) for p in paths]}, report, cancel,
                            name="scriptorium-ingest", what="the reading process")
    except ChildDied as exc:
        raise IngestError(str(exc)) from None
