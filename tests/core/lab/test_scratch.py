"""LoRA vs from scratch: the LoRA's weight count is PEFT's own, the scratch model is sized to it, and a
format comparison with ``scratch: true`` trains, evaluates and tables the scratch model beside the LoRA."""
from __future__ import annotations

import json

import pytest

from core.config import TrainConfig


@pytest.mark.parametrize("targets", ["all-linear", "q_proj,v_proj"])
def test_lora_count_is_what_peft_trains(tiny_model_dir, targets):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from core.lab.scratch import lora_trainable

    cfg = TrainConfig(lora_r=4, target_modules=targets)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    wanted = "all-linear" if targets == "all-linear" else targets.split(",")
    peft_model = get_peft_model(model, LoraConfig(r=4, target_modules=wanted, task_type="CAUSAL_LM"))
    trained = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    assert lora_trainable(str(tiny_model_dir), cfg) == trained


def test_scratch_model_is_sized_to_the_lora(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    from core.lab.scratch import llama_like_count, scratch_config

    target = 60_000
    config = scratch_config(str(tiny_model_dir), target)
    built = sum(p.numel() for p in AutoModelForCausalLM.from_config(config).parameters())
    assert built == llama_like_count(config.vocab_size, config.hidden_size, config.num_hidden_layers,
                                     config.intermediate_size)
    # no other width and depth of the grid comes closer
    grid = [abs(llama_like_count(config.vocab_size, h, n, max(8, round(h * 2 / 8) * 8)) - target)
            for h in range(32, 65, 32) for n in range(1, 3)]
    assert abs(built - target) <= min(grid)
    assert config.tie_word_embeddings and config.vocab_size > 0


def test_experiment_adds_a_scratch_row(tiny_model_dir, sample_texts_dir, tmp_path, capsys):
    from core.cli import main
    from core.config import CorpusConfig, EvalConfig, ModelConfig
    from core.ingest import ingest
    from core.models import load_tokenizer, resolve
    from core.project import Project
    import yaml

    project = Project.open(tmp_path / "p")
    project.set_model(ModelConfig(str(tiny_model_dir)))
    ingest(project, [sample_texts_dir / "book.md"], load_tokenizer(resolve(str(tiny_model_dir))),
           CorpusConfig(chunk_tokens=32))
    evaluate = {"exam_questions": 3, "general_items": 2, "reasoning_items": 2, "answer_tokens": 8,
                "languages": "en", "step_by_step": False}
    project.save_settings(evaluate=EvalConfig(**evaluate))
    recipe = {"name": "lora-vs-scratch", "formats": ["plain", "chat"], "scratch": True,
              "format": {"eval_fraction": 0.2}, "evaluate": evaluate,
              "train": {"steps": 2, "batch_size": 2, "max_seq_len": 96, "eval_every": 0, "precision": "fp32"}}
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    assert main(["lab", "run", str(path), "--project", str(project.root), "--json"]) == 0
    rows = {r["format"]: r for r in json.loads(capsys.readouterr().out.strip().splitlines()[-1])["rows"]}
    assert list(rows) == ["plain", "chat", "scratch (plain)"]
    scratch = rows["scratch (plain)"]
    assert scratch["exam_base"] == rows["plain"]["exam_base"] and scratch["book_ppl_base"] == rows["plain"]["book_ppl_base"]
    assert scratch["book_ppl_tuned"] > 0 and scratch["exam_items"] == rows["plain"]["exam_items"]
    info = json.loads((project.run_dir(scratch["run"]) / "run.json").read_text())
    assert info["kind"] == "scratch" and info["steps"] == 2 and info["params"] > 0
    assert not list((project.root / "exam" / "baseline").glob("*scratch*"))
    with pytest.raises(Exception, match="scratch: true or false"):
        from core.lab.experiment import load_recipe
        load_recipe({**recipe, "scratch": "yes"})
