"""Faults a long run must survive: kill -9 + resume, cancel, CUDA OOM, NaN, full disk."""
from __future__ import annotations

import errno
import os
import signal

import pytest
import torch

from core.config import FormatConfig, ModelConfig, TrainConfig
from core.events import CancelToken
from core.train import TrainError, checkpoint, packing, read_metrics, train
from core.train.runner import run_training
from corpus import make_project

TEXTS = [f"Line {i}: the river ran past mill {i}, and the miller counted {i % 7} boats before dawn." for i in range(24)]
CFG = dict(steps=12, batch_size=2, max_seq_len=48, eval_every=0, save_every=3, warmup_steps=1, lora_r=4,
           lora_alpha=8, lr=5e-3, precision="fp32")


@pytest.fixture
def setup(tmp_path, tiny_model_dir):
    return make_project(tmp_path / "p", TEXTS, doc_id="b" * 16, title="Mill", parts=4, tokens=20), ModelConfig(str(tiny_model_dir)), FormatConfig(format="plain")


def losses(run_dir) -> list[float]:
    return [m["loss"] for m in read_metrics(run_dir) if "loss" in m and "step" in m]


def test_kill_9_then_resume_matches_an_uninterrupted_run(setup):
    project, model_cfg, fmt_cfg = setup
    cfg = TrainConfig(**{**CFG, "steps": 30})
    reference = run_training(project, model_cfg, fmt_cfg, cfg)

    child = {}

    def kill_after_a_checkpoint(event) -> None:
        if event.kind == "log" and "Checkpoint saved: step-000006" in event.message:
            os.kill(child["pid"], signal.SIGKILL)

    with pytest.raises(TrainError, match="SIGKILL.*last good checkpoint"):
        run_training(project, model_cfg, fmt_cfg, cfg, kill_after_a_checkpoint,
                     on_start=lambda proc: child.update(pid=proc.pid))
    killed = project.runs()[-1]
    assert checkpoint.latest(killed) is not None
    done_before = losses(killed)
    assert 6 <= len(done_before) < 30

    resumed = run_training(project, model_cfg, fmt_cfg, cfg, resume=killed.name)
    assert resumed.run_dir == killed and resumed.steps == 30
    steps = [m["step"] for m in read_metrics(killed) if "loss" in m and "step" in m]
    start = checkpoint_step = steps.index(steps[len(done_before)])  # the step counter continues after the kill
    assert steps[start] <= len(done_before) + 1 and steps[-1] == 30 and checkpoint_step >= 0
    assert resumed.last_loss == pytest.approx(reference.last_loss, rel=1e-4)


def test_cancel_stops_within_a_step_and_saves(setup):
    project, model_cfg, fmt_cfg = setup
    cancel = CancelToken()

    def cancel_at_step_2(event) -> None:
        if event.kind == "metric" and event.data.get("step") == 2:
            cancel.cancel()

    result = train(project, model_cfg, fmt_cfg, TrainConfig(**{**CFG, "steps": 50}), cancel_at_step_2, cancel)
    assert result.cancelled and result.steps == 2
    assert (result.adapter_dir / "adapter_model.safetensors").exists()
    assert checkpoint.latest(result.run_dir).name == "step-000002"


def test_cancel_while_generating_samples_stops_before_training(setup):
    project, model_cfg, _ = setup
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(TrainError, match="before training began"):
        train(project, model_cfg, FormatConfig(format="qa"), TrainConfig(**CFG), None, cancel)
    assert not list((project.root / "runs").glob("*/adapter"))


def test_cuda_oom_halves_the_micro_batch_and_retries(setup, monkeypatch):
    project, model_cfg, fmt_cfg = setup
    real = packing.loss_sum
    calls = {"n": 0}

    def flaky(model, batch):
        calls["n"] += 1
        if calls["n"] == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (injected)")
        return real(model, batch)

    from core.train import engine
    monkeypatch.setattr(engine, "loss_sum", flaky)
    warnings = []
    cfg = TrainConfig(**{**CFG, "steps": 3, "packing": False, "batch_size": 4})
    result = train(project, model_cfg, fmt_cfg, cfg, lambda e: warnings.append(e) if e.kind == "warning" else None)
    assert result.steps == 3
    assert any("Out of GPU memory" in w.message for w in warnings)


def test_nan_loss_stops_with_a_message_and_keeps_the_checkpoint(setup, monkeypatch):
    project, model_cfg, fmt_cfg = setup
    real = packing.loss_sum
    calls = {"n": 0}

    def poisoned(model, batch):
        s, n = real(model, batch)
        calls["n"] += 1
        return (s * float("nan"), n) if calls["n"] > 4 else (s, n)  # steps 1-4 fine, then NaN

    from core.train import engine
    monkeypatch.setattr(engine, "loss_sum", poisoned)
    with pytest.raises(TrainError, match="loss became nan at step 5.*step-000003"):
        train(project, model_cfg, fmt_cfg, TrainConfig(**{**CFG, "steps": 10, "grad_accum": 1}))
    assert checkpoint.latest(project.runs()[-1]).name == "step-000003"


def test_disk_full_on_checkpoint_keeps_the_previous_one(setup, monkeypatch):
    project, model_cfg, fmt_cfg = setup
    real_save = torch.save
    calls = {"n": 0}

    def full_second_time(obj, path, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, path, *a, **k)

    monkeypatch.setattr(torch, "save", full_second_time)
    errors = []
    result = train(project, model_cfg, fmt_cfg, TrainConfig(**{**CFG, "steps": 6}),
                   lambda e: errors.append(e.message) if e.kind == "error" else None)
    assert any("No space left" in m and "previous checkpoint is intact" in m for m in errors)
    names = [p.name for p in checkpoint.checkpoints(result.run_dir)]
    assert "step-000003" in names and not any(n.endswith(".partial") for n in os.listdir(result.run_dir / "checkpoints"))
