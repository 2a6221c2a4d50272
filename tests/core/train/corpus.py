"""A project whose corpus is given chunks of one book: what the training tests train on."""
from __future__ import annotations

from core.ingest.pipeline import corpus_paths
from core.project import Project, append_jsonl


def make_project(root, texts, *, doc_id: str = "d" * 16, title: str = "Book", parts: int = 3,
                 tokens: int = 16) -> Project:
    """``texts`` as chunks of one document, spread over ``parts`` headed sections."""
    project = Project.open(root)
    where = corpus_paths(project)
    for i, text in enumerate(texts):
        append_jsonl(where["chunks"], {"doc_id": doc_id, "title": title, "chunk": i, "heading": f"Part {i % parts}",
                                       "section": i % parts, "text": text, "tokens": tokens})
    append_jsonl(where["documents"], {"id": doc_id, "title": title, "sections": []})
    return project
