"""`lab score`: a format's training samples scored on a tiny model, books ranked, a selection
written and used by the next dataset build; clear errors for a project without samples."""
from __future__ import annotations

import json

import pytest

from core.config import FormatConfig, ModelConfig
from core.ingest.pipeline import corpus_paths
from core.project import Project, append_jsonl, read_jsonl

TEXTS = ["The river ran past the old mill, and the miller counted the boats that went by.",
         "In the evening the librarian read aloud, and the children listened without a sound.",
         "A letter arrived on Tuesday. It was written in green ink and smelled of pine needles."]


@pytest.fixture
def project(tmp_path, tiny_model_dir):
    project = Project.open(tmp_path / "p")
    project.set_model(ModelConfig(str(tiny_model_dir)))
    where = corpus_paths(project)
    for doc, title in (("a" * 16, "River"), ("b" * 16, "Letters")):
        for i, text in enumerate(TEXTS * 2):
            append_jsonl(where["chunks"], {"doc_id": doc, "title": title, "chunk": i, "section": 0,
                                           "heading": "One", "text": f"{title}: {text}", "tokens": 30})
        append_jsonl(where["documents"], {"id": doc, "title": title, "sections": []})
    return project


def run_cli(capsys, *args):
    from core.cli import main

    code = main(list(args))
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1])


def test_lab_score_ranks_books_and_writes_a_selection_the_next_build_uses(project, capsys):
    from core.formats.builder import build_dataset
    from core.models import load_tokenizer, resolve

    code, _ = run_cli(capsys, "format", "--project", str(project.root), "--format", "chat", "--json")
    assert code == 0
    code, summary = run_cli(capsys, "lab", "score", "--project", str(project.root), "--top-percent", "50", "--json")
    assert code == 0 and summary["command"] == "lab" and summary["format"] == "chat"
    trained = summary["samples"]
    assert trained > 0 and summary["samples_per_s"] > 0
    assert {b["title"] for b in summary["books"]} == {"River", "Letters"}
    scores = list(read_jsonl(project.root / "lab" / "scores" / "chat" / "scores.jsonl"))
    assert len(scores) == trained and all(s["ifd"] is not None for s in scores)  # chat samples all have a prompt
    fitting = {s["id"]: s["ifd"] for s in scores if s["ifd"] <= 1.0}  # above 1 the prompt does not fit: dropped
    top = sorted(fitting, key=lambda i: -fitting[i])[:max(1, -(-len(fitting) // 2))]  # then the top half by IFD
    assert summary["kept"] == sum(1 for s in scores if s["id"] in top)
    tokenizer = load_tokenizer(resolve(project.model.source))
    built = build_dataset(project, FormatConfig(format="chat", select=summary["selection"]), tokenizer)
    assert len(built.train) == summary["kept"] and built.meta["selection"]["dropped"] == trained - summary["kept"]


def test_lab_score_without_samples_says_what_to_do(project, capsys):
    code, summary = run_cli(capsys, "lab", "score", "--project", str(project.root), "--format", "qa", "--json")
    assert code == 1 and "no 'qa' training samples yet" in summary["error"] and "format" in summary["error"]


def test_lab_without_a_command_shows_help(capsys):
    from core.cli import main

    assert main(["lab"]) == 2
    assert "score" in capsys.readouterr().out
