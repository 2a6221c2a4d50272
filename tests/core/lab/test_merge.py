"""Adapter merging on a tiny model: SLERP's ends are its parents and its rank is exact; cat is the
exact weighted sum; a TIES merge becomes a run that chat and evaluation load; clear refusals."""
from __future__ import annotations

import json

import pytest
import torch

from core.config import EvalConfig, FormatConfig, ModelConfig, TrainConfig
from core.project import Project

SMALL = EvalConfig(exam_questions=3, general_items=2, reasoning_items=1, answer_tokens=8, languages="en",
                   step_by_step=False)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, tiny_model_dir, sample_texts_dir):
    from core.ingest import ingest
    from core.models import load_tokenizer, resolve
    from core.train import train

    p = Project.open(tmp_path_factory.mktemp("merge") / "p")
    p.set_model(ModelConfig(str(tiny_model_dir)))
    ingest(p, [sample_texts_dir / "book.md"], load_tokenizer(resolve(str(tiny_model_dir))))
    p.save_settings(evaluate=SMALL)
    runs = []
    for seed, rank in ((1, 4), (2, 4)):
        result = train(p, p.model, FormatConfig(eval_fraction=0.0),
                       TrainConfig(steps=2, batch_size=2, max_seq_len=96, eval_every=0, precision="fp32", lr=5e-3,
                                   lora_r=rank, lora_alpha=8, seed=seed, evaluate_at_end=False))
        runs.append(result.run_dir.name)
    return p, runs


def deltas(adapter_dir) -> dict[str, torch.Tensor]:
    """ΔW = scale·B·A of every adapted layer of a saved adapter."""
    from safetensors.torch import load_file

    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    scale = config["lora_alpha"] / config["r"]
    weights = load_file(str(adapter_dir / "adapter_model.safetensors"))
    return {k.replace(".lora_A.weight", ""): scale * (weights[k.replace("lora_A", "lora_B")].float() @ w.float())
            for k, w in weights.items() if "lora_A" in k}


def test_slerp_ends_are_the_parents_and_cat_is_the_weighted_sum(two_runs):
    from core.lab.merge import merge_runs

    project, runs = two_runs
    first, second = (deltas(project.run_dir(r) / "adapter") for r in runs)
    for t, expected in ((0.0, first), (1.0, second)):
        merged = merge_runs(project, runs, "slerp", [1 - t, t])
        got = deltas(project.run_dir(merged["run"]) / "adapter")
        assert got.keys() == expected.keys()
        assert all(torch.allclose(got[k], expected[k], atol=1e-5) for k in got)
    merged = merge_runs(project, runs, "cat", [0.3, 0.7])
    got = deltas(project.run_dir(merged["run"]) / "adapter")
    assert all(torch.allclose(got[k], 0.3 * first[k] + 0.7 * second[k], atol=1e-5) for k in got)


def test_ties_merge_is_a_run_that_evaluates(two_runs, capsys):
    from core.cli import main

    project, runs = two_runs
    code = main(["lab", "merge", "--project", str(project.root), "--runs", ",".join(runs), "--method", "ties",
                 "--density", "0.5", "--evaluate", "--json"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and summary["method"] == "ties" and summary["runs"] == runs
    info = json.loads((project.run_dir(summary["run"]) / "run.json").read_text())
    assert info["merged_from"]["runs"] == runs and info["model"]["load_dir"]
    assert summary["evaluation"][summary["run"]]["verdict"].startswith("Learned")


def test_merge_refuses_what_it_cannot_do(two_runs):
    from core.lab.merge import merge_runs
    from core.lab.score_job import LabError

    project, runs = two_runs
    with pytest.raises(LabError, match="two runs"):
        merge_runs(project, runs[:1], "ties")
    with pytest.raises(LabError, match="choose one of"):
        merge_runs(project, runs, "average")
    with pytest.raises(LabError, match="one weight per run"):
        merge_runs(project, runs, "ties", [1.0])
