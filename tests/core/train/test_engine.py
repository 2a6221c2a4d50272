"""core.train.engine: a real LoRA run on the tiny model — run folder, metrics, adapter, cancel."""
from __future__ import annotations

import json

import pytest

from core.config import FormatConfig, ModelConfig, TrainConfig, load_yaml
from core.events import CancelToken
from core.project import Project, ProjectError
from core.train import TrainError, read_metrics, train
from corpus import make_project

TEXTS = ["The river ran past the old mill, and the miller counted the boats.",
         "In the evening the librarian read aloud to the children.",
         "Река текла мимо старой мельницы, и мельник считал лодки.",
         "A storm came in from the sea, and by morning the harbour was quiet.",
         "The baker opened his shop before dawn.", "Every book had a small card with a name on it.",
         "She counted ships, gulls and the windows of the lighthouse.",
         "Вечером библиотекарь читала вслух, а дети слушали.",
         "A letter arrived on Tuesday, written in green ink.", "Chapter two ends with a quiet morning."]
# fp32 on CPU where the setting exists: bf16 autocast spends seconds compiling kernels for each new shape
FP32 = {"precision": "fp32"} if "precision" in TrainConfig.__dataclass_fields__ else {}
SMALL = dict(steps=8, batch_size=2, max_seq_len=64, eval_every=4, warmup_steps=1, lora_r=4, lora_alpha=8, **FP32)


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_model_dir):
    project = make_project(tmp_path_factory.mktemp("train") / "p", TEXTS)
    events = []
    configs = (ModelConfig(str(tiny_model_dir)), FormatConfig(eval_fraction=0.2), TrainConfig(**SMALL))
    result = train(project, *configs, report=events.append)
    return project, configs, result, events


def test_result(run):
    project, _, result, _ = run
    assert result.steps == 8 and not result.cancelled
    assert result.run_dir.parent == project.runs_dir
    assert result.adapter_dir == result.run_dir / "adapter"
    assert result.first_loss > 0 and result.last_loss > 0 and result.eval_loss > 0
    summary = json.loads((result.run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary == json.loads(json.dumps(result.summary()))
    assert project.run_dir() == result.run_dir


def test_config_yaml_and_run_json(run, tiny_model_dir):
    _, (model_cfg, fmt_cfg, train_cfg), result, _ = run
    saved = load_yaml(result.run_dir / "config.yaml")
    assert saved == {"model": model_cfg, "format": fmt_cfg, "train": train_cfg, "evaluate": saved["evaluate"]}
    info = json.loads((result.run_dir / "run.json").read_text(encoding="utf-8"))
    assert info["model"]["source"] == str(tiny_model_dir) and info["model"]["kind"] == "hf_dir"
    assert info["format"] == "chat" and info["dataset_fingerprint"]
    assert "<|im_start|>" in info["chat_template"] and "<|im_end|>" in info["stop_tokens"]
    assert {"torch", "transformers", "peft", "scriptorium"} <= set(info["versions"])


def test_metrics(run):
    _, _, result, events = run
    metrics = read_metrics(result.run_dir)
    steps = [m for m in metrics if "loss" in m]
    assert [m["step"] for m in steps] == list(range(1, 9))
    for m in steps:
        assert {"loss", "lr", "grad_norm", "tokens_per_s", "eta_s"} <= set(m)
        assert m["kind"] == "metric" and m["stage"] == "train"
        assert m["loss"] > 0 and m["grad_norm"] >= 0 and m["tokens_per_s"] > 0 and m["eta_s"] >= 0
    assert steps[-1]["eta_s"] == 0
    assert steps[0]["lr"] == pytest.approx(0.5e-3)  # one warm-up step: half the peak rate, never a step at 0
    assert steps[1]["lr"] == pytest.approx(1e-3)
    evals = [m for m in metrics if "eval_loss" in m]
    assert [m["step"] for m in evals] == [4, 8]
    assert evals[-1]["eval_loss"] == pytest.approx(result.eval_loss, abs=1e-4)
    # the caller saw the same stream, plus progress
    assert sum(e.kind == "metric" for e in events) == len(metrics)
    progress = [e for e in events if e.kind == "progress" and e.stage == "train"]
    assert progress[-1].data == {"done": 8, "total": 8}
    assert "Adapter saved" in (result.run_dir / "log.txt").read_text(encoding="utf-8")


def test_adapter_loads_with_peft(run, tiny_model_dir):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    _, _, result, _ = run
    assert (result.adapter_dir / "adapter_config.json").exists()
    assert (result.adapter_dir / "tokenizer.json").exists()
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    model = PeftModel.from_pretrained(base, str(result.adapter_dir))
    lora = [n for n, _ in model.named_parameters() if "lora_B" in n]
    assert lora
    assert any(float(p.abs().sum()) > 0 for n, p in model.named_parameters() if "lora_B" in n)  # it learned
    with torch.no_grad():
        out = model(input_ids=torch.tensor([[1, 2, 3]]))
    assert out.logits.shape[-1] == base.config.vocab_size


def test_loss_falls_on_repeated_text(tmp_path, tiny_model_dir):
    project = make_project(tmp_path / "p", ["The river ran past the old mill."] * 4)
    cfg = TrainConfig(steps=12, batch_size=2, max_seq_len=64, lr=0.01, warmup_steps=0, lora_dropout=0.0,
                      eval_every=0, lora_r=8, lora_alpha=16, **FP32)
    result = train(project, ModelConfig(str(tiny_model_dir)), FormatConfig(format="plain", eval_fraction=0.0), cfg)
    losses = [m["loss"] for m in read_metrics(result.run_dir) if "loss" in m]
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.3, losses
    assert result.eval_loss is None  # nothing held out


def test_cancel_after_step_two_keeps_the_adapter(tmp_path, tiny_model_dir):
    project = make_project(tmp_path / "p", TEXTS)
    cancel = CancelToken()
    events = []

    def report(event):
        events.append(event)
        if event.kind == "metric" and event.data.get("step") == 2:
            cancel.cancel()

    result = train(project, ModelConfig(str(tiny_model_dir)), FormatConfig(), TrainConfig(**{**SMALL, "steps": 50}),
                   report=report, cancel=cancel)
    assert result.cancelled and result.steps == 2
    assert (result.adapter_dir / "adapter_config.json").exists()
    assert json.loads((result.run_dir / "summary.json").read_text(encoding="utf-8"))["cancelled"] is True
    assert any(e.kind == "warning" and "Cancelled at step 2" in e.message for e in events)
    assert max(m["step"] for m in read_metrics(result.run_dir)) == 2


def test_nothing_left_to_learn_after_cut(tmp_path, tiny_model_dir):
    project = make_project(tmp_path / "p", TEXTS)
    with pytest.raises(TrainError, match="max_seq_len"):  # the chat prompt alone is longer than 8 tokens
        train(project, ModelConfig(str(tiny_model_dir)), FormatConfig(), TrainConfig(**{**SMALL, "max_seq_len": 8}))


def test_empty_corpus(tmp_path, tiny_model_dir):
    with pytest.raises(ProjectError, match="corpus is empty"):
        train(Project.open(tmp_path / "p"), ModelConfig(str(tiny_model_dir)), FormatConfig(), TrainConfig(**SMALL))
