"""Leave one book out: a run with every book and one without each, the left-out book's samples (and only
they) gone from its training set, and a per-book influence table."""
from __future__ import annotations

import csv
import json

import pytest

from core.config import CorpusConfig, EvalConfig, ModelConfig
from core.project import Project

EVALUATE = {"exam_questions": 4, "general_items": 2, "reasoning_items": 2, "answer_tokens": 8, "languages": "en",
            "step_by_step": False, "open_book_k": 0}
RECIPE = {"name": "books", "kind": "books", "formats": ["plain"], "format": {"eval_fraction": 0.0},
          "train": {"steps": 2, "batch_size": 2, "max_seq_len": 96, "eval_every": 0, "precision": "fp32"},
          "evaluate": EVALUATE}


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir, sample_texts_dir):
    from core.ingest import ingest
    from core.models import load_tokenizer, resolve

    p = Project.open(tmp_path_factory.mktemp("loo") / "p")
    p.set_model(ModelConfig(str(tiny_model_dir)))
    ingest(p, [sample_texts_dir / "book.md", sample_texts_dir / "rus-cp1251.txt"],
           load_tokenizer(resolve(str(tiny_model_dir))), CorpusConfig(chunk_tokens=32))
    p.save_settings(evaluate=EvalConfig(**EVALUATE))
    return p


def test_every_book_left_out_in_turn(project):
    from core.config import FormatConfig
    from core.formats import build_dataset
    from core.models import load_tokenizer, resolve
    from core.lab.experiment import run_experiment
    from core.lab.scoring import sample_id

    results = run_experiment(project, RECIPE)
    labels = [r["format"] for r in results["rows"]]
    assert labels[0] == "all books" and len(labels) == 3 and all(x.startswith("without ") for x in labels[1:])
    folder = project.root / "lab" / "books"
    for row in results["rows"][1:]:
        chosen = json.loads(next(p for p in folder.glob("without-*.json")
                                 if f"without {json.loads(p.read_text())['title']}" == row["format"]).read_text())
        config = (project.run_dir(row["run"]) / "config.yaml").read_text()
        assert "select: " in config
        kept = set(chosen["ids"])
        # the left-out book's training samples are exactly the ones not kept
        train = build_dataset(project, FormatConfig(format="plain", eval_fraction=0.0),
                              load_tokenizer(resolve(project.model.source))).train
        assert {r["doc_id"] for r in train if sample_id(r) not in kept} == {chosen["left_out"]}
    assert {b["doc_id"] for b in results["books"]} == {json.loads(p.read_text())["left_out"]
                                                       for p in folder.glob("without-*.json")}
    for book in results["books"]:
        assert book["influence"] == book["exam_with"] - book["exam_without"]
    with open(folder / "influence.csv", encoding="utf-8") as stream:
        assert len(list(csv.DictReader(stream))) == 2
    assert results["finding"].startswith("Most needed:")


def test_one_book_is_not_enough(tmp_path, tiny_model_dir, sample_texts_dir):
    from core.ingest import ingest
    from core.lab.experiment import run_experiment
    from core.lab.score_job import LabError
    from core.models import load_tokenizer, resolve

    p = Project.open(tmp_path / "one")
    p.set_model(ModelConfig(str(tiny_model_dir)))
    ingest(p, [sample_texts_dir / "book.md"], load_tokenizer(resolve(str(tiny_model_dir))), CorpusConfig(chunk_tokens=32))
    with pytest.raises(LabError, match="at least two books"):
        run_experiment(p, RECIPE)
    with pytest.raises(LabError, match="trains one format"):
        run_experiment(p, {**RECIPE, "formats": ["plain", "chat"]})
