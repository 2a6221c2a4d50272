"""Experiments as YAML: a format comparison on a tiny model gives one row per format, resumes
without training a finished format again, and refuses a recipe it cannot run, naming why."""
from __future__ import annotations

import json

import pytest
import yaml

from core.config import CorpusConfig, EvalConfig, ModelConfig
from core.project import Project

RECIPE = {"name": "two-formats", "kind": "formats", "formats": ["plain", "chat"],
          "format": {"eval_fraction": 0.2},
          "train": {"steps": 2, "batch_size": 2, "max_seq_len": 96, "eval_every": 0, "precision": "fp32"},
          "evaluate": {"exam_questions": 3, "general_items": 2, "reasoning_items": 2, "answer_tokens": 8,
                       "languages": "en", "step_by_step": False}}


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir, sample_texts_dir):
    from core.ingest import ingest
    from core.models import load_tokenizer, resolve

    p = Project.open(tmp_path_factory.mktemp("experiment") / "p")
    p.set_model(ModelConfig(str(tiny_model_dir)))
    ingest(p, [sample_texts_dir / "book.md"], load_tokenizer(resolve(str(tiny_model_dir))),
           CorpusConfig(chunk_tokens=32))  # (small chunks: enough of them to hold some out)
    p.save_settings(evaluate=EvalConfig(**RECIPE["evaluate"]))
    return p


def test_format_comparison_runs_resumes_and_writes_its_table(project, tmp_path, capsys, monkeypatch):
    from core.cli import main

    recipe = tmp_path / "experiment.yaml"
    recipe.write_text(yaml.safe_dump(RECIPE), encoding="utf-8")
    assert main(["lab", "run", str(recipe), "--project", str(project.root), "--json"]) == 0
    results = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    rows = {r["format"]: r for r in results["rows"]}
    assert list(rows) == ["plain", "chat"] and results["budget"]["steps"] == 2
    for row in rows.values():
        # (a random model with a tiny book: the exam and the general probes may have nothing to score)
        assert {"exam_base", "exam_tuned", "retention", "reasoning_tuned"} <= set(row) and row["minutes"] >= 0
        assert row["book_ppl_base"] > 0 and row["book_ppl_tuned"] > 0
    assert rows["plain"]["book_ppl_base"] == pytest.approx(rows["chat"]["book_ppl_base"])  # same held-out text
    folder = project.root / "lab" / "two-formats"
    assert (folder / "results.csv").read_text().splitlines()[0].startswith("format,run,exam_base")

    import core.train as training  # a second run resumes: nothing is trained again

    monkeypatch.setattr(training, "train", lambda *a, **k: pytest.fail("trained a finished format again"))
    assert main(["lab", "run", str(recipe), "--project", str(project.root)]) == 0
    assert "plain" in capsys.readouterr().out


@pytest.mark.parametrize("change, message", [({"formats": ["plain"]}, "at least two formats"),
                                             ({"kind": "magic"}, "choose one of"),
                                             ({"train": {"lr": -1}}, "lr"),
                                             ({"name": ""}, "needs a name")])
def test_bad_recipes_say_why(project, change, message):
    from core.lab.experiment import run_experiment
    from core.lab.score_job import LabError

    with pytest.raises(LabError, match=message):
        run_experiment(project, {**RECIPE, **change})
