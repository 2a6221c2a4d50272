"""The same recipe under torchrun: two CPU processes (gloo) give the loss curve of one process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import FormatConfig, ModelConfig, TrainConfig
from core.ingest.pipeline import corpus_paths
from core.project import Project, append_jsonl
from core.train import read_metrics, train

ROOT = Path(__file__).resolve().parents[3]
TEXTS = [f"Chapter {i}: the lighthouse keeper wrote {i * 3} letters and sent {i % 5} of them by boat." for i in range(20)]


def test_two_gloo_processes_match_one_process(tmp_path, tiny_model_dir):
    project = Project.open(tmp_path / "p")
    where = corpus_paths(project)
    for i, text in enumerate(TEXTS):
        append_jsonl(where["chunks"], {"doc_id": "c" * 16, "title": "Keeper", "chunk": i, "heading": "One",
                                       "section": 0, "text": text, "tokens": 20})
    append_jsonl(where["documents"], {"id": "c" * 16, "title": "Keeper", "sections": []})
    # no dropout: each rank would draw different dropout masks, which is noise, not a bug
    cfg = TrainConfig(steps=6, batch_size=4, max_seq_len=40, eval_every=0, save_every=0, warmup_steps=1,
                      lora_r=4, lora_alpha=8, lora_dropout=0.0, lr=5e-3, precision="fp32", packing=False)
    single = train(project, ModelConfig(str(tiny_model_dir)), FormatConfig(format="plain"), cfg)

    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(ROOT / "main.py"), "train", "--project", str(project.root),
                           "--recipe", str(single.run_dir / "config.yaml"), "--json", "--quiet"],
                          capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summaries = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(summaries) == 2 and summaries[0]["run_dir"] == summaries[1]["run_dir"]
    ddp_run = Path(summaries[0]["run_dir"])
    assert json.loads((ddp_run / "run.json").read_text())["world_size"] == 2

    one = [m["loss"] for m in read_metrics(single.run_dir) if "loss" in m and "step" in m]
    two = [m["loss"] for m in read_metrics(ddp_run) if "loss" in m and "step" in m]
    assert len(one) == len(two) == 6
    assert two == pytest.approx(one, rel=1e-4)
