"""Memory estimate: a real 2-step dry run in a child process, nothing left in the project."""
from __future__ import annotations

from core.config import FormatConfig, ModelConfig, TrainConfig
from core.ingest.pipeline import corpus_paths
from core.project import Project, append_jsonl
from core.train.memory import estimate, gpu_formula_gb


def test_dry_run_measures_peak_memory_and_writes_no_run(tmp_path, tiny_model_dir):
    project = Project.open(tmp_path / "p")
    where = corpus_paths(project)
    for i in range(8):
        append_jsonl(where["chunks"], {"doc_id": "e" * 16, "title": "T", "chunk": i, "heading": "", "section": 0,
                                       "text": f"Sentence number {i} about a quiet harbour at dawn.", "tokens": 12})
    append_jsonl(where["documents"], {"id": "e" * 16, "title": "T", "sections": []})
    result = estimate(project, ModelConfig(str(tiny_model_dir)), FormatConfig(format="plain"),
                      TrainConfig(steps=500, batch_size=2, max_seq_len=32, precision="fp32"))
    assert result["dry_run_steps"] == 2
    assert 0.05 < result["measured_peak_rss_gb"] < 8
    assert result["gpu_qlora_estimate_gb"] >= 0.6  # a tiny model: mostly the CUDA context
    assert project.runs() == []


def test_gpu_formula_grows_with_the_batch():
    small = gpu_formula_gb(7_000_000_000, 32, 4096, 32000, 2048, 1, 40_000_000)
    large = gpu_formula_gb(7_000_000_000, 32, 4096, 32000, 2048, 4, 40_000_000)
    assert 4 < small < large < 40  # a 7B QLoRA fits a 24 GB card at batch 1
