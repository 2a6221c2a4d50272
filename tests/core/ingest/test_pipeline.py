"""core.ingest.pipeline: good and broken files side by side, skips, folders, orphan chunks."""
from __future__ import annotations

import json

import pytest

from core.config import CorpusConfig
from core.events import CancelToken
from core.ingest import ingest, load_chunks
from core.ingest.pipeline import corpus_paths
from core.project import Project, append_jsonl

CONFIG = CorpusConfig(chunk_tokens=48, min_chunk_tokens=2)

STORY = """# The Mill

## Morning

The river ran past the old mill, and the miller counted the boats that went by.

The baker opened his shop before dawn, and the whole street woke up to the smell of bread.

## Evening

In the evening the librarian read aloud, and the children listened without a sound.
"""
LETTER = """A letter arrived on Tuesday. It was written in green ink and smelled of pine needles.

She walked along the harbour wall, counting ships, gulls and the windows of the lighthouse.
"""
RUSSIAN = """Письмо пришло во вторник. Оно было написано зелёными чернилами и пахло хвоей.

Пекарь открывал лавку до рассвета, и вся улица просыпалась от запаха хлеба.
"""


@pytest.fixture
def project(tmp_path):
    return Project.open(tmp_path / "project")


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "inputs"
    (folder / "sub").mkdir(parents=True)
    (folder / "story.md").write_text(STORY, encoding="utf-8")
    (folder / "sub" / "letter.txt").write_text(LETTER, encoding="utf-8")
    (folder / "sub" / "russian.txt").write_bytes(RUSSIAN.encode("cp1251"))
    return folder


def test_good_and_broken_files(project, tokenizer, inputs, tmp_path):
    junk = tmp_path / "photo.txt"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    missing = tmp_path / "missing.md"
    events = []
    result = ingest(project, [inputs / "story.md", junk, empty, missing, inputs / "sub" / "letter.txt"],
                    tokenizer, CONFIG, events.append)

    by_name = {o.path.rsplit("/", 1)[-1]: o for o in result.outcomes}
    assert set(by_name) == {"story.md", "photo.txt", "empty.txt", "missing.md", "letter.txt"}
    for name in ("photo.txt", "empty.txt", "missing.md"):
        outcome = by_name[name]
        assert outcome.status == "failed"
        assert name in outcome.reason, outcome.reason
    assert "binary" in by_name["photo.txt"].reason
    assert "empty" in by_name["empty.txt"].reason
    assert "not found" in by_name["missing.md"].reason
    assert {o.path for o in result.ok} == {str(inputs / "story.md"), str(inputs / "sub" / "letter.txt")}
    assert all(o.chunks > 0 and o.tokens > 0 for o in result.ok)

    summary = result.summary()
    assert (summary["files"], summary["ingested"], summary["failed"]) == (5, 2, 3)
    assert len(summary["errors"]) == 3
    errors = [e for e in events if e.kind == "error"]
    assert len(errors) == 3 and all(e.stage == "ingest" and e.data.get("file") for e in errors)
    assert events[-1].kind == "progress" and events[-1].data["done"] == events[-1].data["total"]

    chunks = load_chunks(project)
    assert sum(o.chunks for o in result.ok) == len(chunks)
    assert {c["doc_id"] for c in chunks} == {o.doc_id for o in result.ok}
    headings = sorted({c["heading"] for c in chunks if c["title"] == "The Mill"})
    assert len(headings) == 2 and headings[0].endswith("Evening") and headings[1].endswith("Morning")
    recorded = json.loads(corpus_paths(project)["files"].read_text(encoding="utf-8"))
    assert {r["status"] for r in recorded} == {"ok", "failed"} and len(recorded) == 5


def test_reingesting_the_same_file_is_skipped(project, tokenizer, inputs):
    first = ingest(project, [inputs / "story.md"], tokenizer, CONFIG)
    chunks = load_chunks(project)
    again = ingest(project, [inputs / "story.md"], tokenizer, CONFIG)
    (outcome,) = again.outcomes
    assert outcome.status == "skipped" and "story.md" in outcome.reason
    assert outcome.doc_id == first.outcomes[0].doc_id
    assert load_chunks(project) == chunks  # nothing appended twice


def test_folder_is_walked_recursively(project, tokenizer, inputs):
    (inputs / "sub" / "ignored.xyz").write_text("not a supported type")
    (inputs / ".hidden").mkdir()
    (inputs / ".hidden" / "secret.txt").write_text("hidden folders are not read " * 5)
    result = ingest(project, [inputs], tokenizer, CONFIG)
    names = sorted(o.path.rsplit("/", 1)[-1] for o in result.outcomes)
    assert names == ["letter.txt", "russian.txt", "story.md"]
    assert all(o.status == "ok" for o in result.outcomes), [o.reason for o in result.outcomes]
    russian = next(o for o in result.outcomes if o.path.endswith("russian.txt"))
    assert russian.encoding == "cp1251"
    texts = " ".join(c["text"] for c in load_chunks(project))
    assert "Пекарь открывал лавку" in texts


def test_load_chunks_ignores_orphans(project, tokenizer, inputs):
    ingest(project, [inputs / "story.md"], tokenizer, CONFIG)
    good = load_chunks(project)
    # A crash between appending chunks and the document record leaves chunks without a document.
    append_jsonl(corpus_paths(project)["chunks"], {"doc_id": "deadbeefdeadbeef", "title": "Lost", "chunk": 0,
                                                   "heading": "", "section": 0, "text": "orphan text", "tokens": 2})
    assert load_chunks(project) == good
    assert all(c["doc_id"] != "deadbeefdeadbeef" for c in load_chunks(project))


def test_empty_project_has_no_chunks(project):
    assert load_chunks(project) == []


def test_cancelled_before_start_reads_nothing(project, tokenizer, inputs):
    cancel = CancelToken()
    cancel.cancel()
    result = ingest(project, [inputs], tokenizer, CONFIG, cancel=cancel)
    assert result.cancelled and result.outcomes == []
    assert load_chunks(project) == []
