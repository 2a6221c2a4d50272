"""A Hugging Face folder → base GGUF → adapter GGUF: llama.cpp agrees with PEFT (issue 15)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.export.gguf_lora import ExportError, export_adapter, read_base_info
from core.export.hf_gguf import llama3_rope_factors, write_base_gguf
from core.export.verify import verify

from test_gguf_lora import make_adapter, token_ids  # noqa: E402 — the tiny models' helpers


def test_written_base_and_adapter_agree_with_peft(tiny_gguf_model, tmp_path):
    kind, hf, _hand_written = tiny_gguf_model
    written = write_base_gguf(hf, tmp_path / "base-f32.gguf", dtype="f32")
    assert written["arch"] == kind and written["tokenizer_mismatches"] == 0, written
    print(kind, "pre-tokenizer:", written["pre_tokenizer"])  # the tiny models borrow SmolLM2's tokenizer
    adapter = make_adapter(hf, tmp_path / "adapter")
    base = read_base_info(tmp_path / "base-f32.gguf")
    export_adapter(adapter, base, tmp_path / "adapter.gguf", "f32")
    report = verify(str(hf), adapter, token_ids(hf), tmp_path / "base-f32.gguf", tmp_path / "adapter.gguf")
    print(kind, json.dumps({k: report[k] for k in ("base", "adapter", "adapter_effect")}))
    assert report["base"]["argmax_agreement"] >= 0.98 and report["base"]["mean_abs_diff"] < 1e-3
    assert report["adapter_effect"] >= 0.2 and report["adapter"]["argmax_agreement"] >= 0.98 and report["passed"]


def test_f16_base_keeps_norms_in_f32_and_stays_close(tiny_gguf_model, tmp_path):
    import gguf
    kind, hf, _ = tiny_gguf_model
    write_base_gguf(hf, tmp_path / "base-f16.gguf")
    reader = gguf.GGUFReader(str(tmp_path / "base-f16.gguf"))
    types = {t.name: t.tensor_type.name for t in reader.tensors}
    assert types["blk.0.attn_q.weight"] == "F16" and types["blk.0.attn_norm.weight"] == "F32"
    assert reader.fields["tokenizer.chat_template"].contents()  # the chat template travels with the model
    adapter = make_adapter(hf, tmp_path / "a")
    export_adapter(adapter, read_base_info(tmp_path / "base-f16.gguf"), tmp_path / "a.gguf", "f16")
    report = verify(str(hf), adapter, token_ids(hf), tmp_path / "base-f16.gguf", tmp_path / "a.gguf")
    assert report["base"]["argmax_agreement"] >= 0.98 and report["passed"]


def test_export_job_writes_the_base_from_a_hf_folder(tiny_gguf_model, tmp_path, monkeypatch):
    """A project whose base is a HF folder exports and verifies with no --base-gguf at all."""
    from core.config import ModelConfig
    from core.export.job import export_run
    from core.project import Project

    kind, hf, _ = tiny_gguf_model
    monkeypatch.setenv("SCRIPTORIUM_CACHE", str(tmp_path / "cache"))
    project = Project.open(tmp_path / "p")
    project.set_model(ModelConfig(str(hf)))
    run = project.runs_dir / "20260101-000000"
    make_adapter(hf, run / "adapter")
    (run / "config.yaml").write_text(f"model:\n  source: {hf}\n", encoding="utf-8")
    (run / "run.json").write_text(json.dumps({"model": {"source": str(hf)}, "chat_template": None,
                                              "stop_tokens": []}), encoding="utf-8")
    summary = export_run(project, run.name, "adapter", adapter_type="f32")
    assert "hf-gguf" in summary["base_gguf"] and summary["verification"]["passed"], summary["verification"]
    again = export_run(project, run.name, "adapter", adapter_type="f32", verify=False)
    assert again["base_gguf"] == summary["base_gguf"]  # cached, not written twice


def test_unsupported_architecture_says_what_to_do(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "mamba", "num_hidden_layers": 1}))
    with pytest.raises(ExportError, match="'mamba'.*--base-gguf"):
        write_base_gguf(tmp_path, tmp_path / "x.gguf")


def test_llama3_rope_factors_blend_between_the_bands():
    config = {"hidden_size": 2048, "num_attention_heads": 32, "rope_theta": 500000.0,
              "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                               "original_max_position_embeddings": 8192}}
    factors = llama3_rope_factors(config)
    assert factors.shape == (32,) and factors[0] == 1.0 and factors[-1] == 32.0
    assert np.all(np.diff(factors) >= 0)  # high frequencies untouched, low ones scaled, smooth between


def test_gemma_norms_and_tied_embeddings(smol_tokenizer_dir, tmp_path):
    """Gemma stores RMSNorm as (1 + w) and ties its output to the embeddings: both must reach llama.cpp right."""
    import torch
    from transformers import AutoTokenizer, GemmaConfig, GemmaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(smol_tokenizer_dir)
    torch.manual_seed(0)
    model = GemmaForCausalLM(GemmaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                                         max_position_embeddings=1024, rms_norm_eps=1e-6,
                                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id))
    with torch.no_grad():
        for _name, p in model.named_parameters():
            p.normal_(0, 0.08)  # norms too: (1 + w) must not be read as w
    hf = tmp_path / "hf"
    model.save_pretrained(hf)
    tokenizer.save_pretrained(hf)
    written = write_base_gguf(hf, tmp_path / "base.gguf", dtype="f32")
    assert written["arch"] == "gemma"
    adapter = make_adapter(hf, tmp_path / "adapter")
    export_adapter(adapter, read_base_info(tmp_path / "base.gguf"), tmp_path / "a.gguf", "f32")
    report = verify(str(hf), adapter, token_ids(hf), tmp_path / "base.gguf", tmp_path / "a.gguf")
    print("gemma", json.dumps({k: report[k] for k in ("base", "adapter")}))
    assert report["base"]["argmax_agreement"] >= 0.98 and report["passed"]
