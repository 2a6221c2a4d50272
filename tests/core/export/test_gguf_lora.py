"""Adapter → GGUF LoRA: llama.cpp computes what PEFT computes, for permuted and unpermuted layouts."""
from __future__ import annotations

import errno
import json

import numpy as np
import pytest

from core.export.gguf_lora import (ExportError, check_adapter_config, export_adapter, needs_permute, permute_rows,
                                   read_base_info)
from core.export.gguf_merge import quantize, write_merged
from core.export.job import check_base_matches
from core.export.verify import VERIFY_TEXT, compare, peft_logits, verify


def make_adapter(hf_dir, out_dir, **lora) -> str:
    """A LoRA with random (non-zero) A and B, so its effect is large without training."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_pretrained(hf_dir)
    config = LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", init_lora_weights=False, **lora)
    get_peft_model(model, config).save_pretrained(out_dir)
    return str(out_dir)


def token_ids(hf_dir) -> list[int]:
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(hf_dir)(VERIFY_TEXT, add_special_tokens=False)["input_ids"]


def test_layout_decision_per_architecture():
    assert needs_permute("llama") is True
    assert needs_permute("qwen2") is False
    with pytest.raises(ExportError, match="architecture 'mamba'"):
        needs_permute("mamba")


def test_permute_rows_is_undone_by_transformers_gguf_loader():
    """transformers un-permutes llama.cpp's q/k layout when it loads a GGUF: ours must be its inverse."""
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    rows = np.arange(12 * 16 * 3, dtype=np.float32).reshape(12 * 16, 3)
    processor = LlamaTensorProcessor(config={"num_attention_heads": 12, "num_key_value_heads": 4})
    for n_head, name in ((12, "blk.0.attn_q.weight"), (4, "blk.0.attn_k.weight")):
        permuted = permute_rows(rows[: n_head * 16], n_head)
        assert not np.array_equal(permuted, rows[: n_head * 16])
        restored = processor.process(permuted, name).weights
        assert np.array_equal(restored, rows[: n_head * 16])


def test_adapter_agrees_with_peft(tiny_gguf_model, tmp_path):
    kind, hf, base_path = tiny_gguf_model
    adapter = make_adapter(hf, tmp_path / "adapter")
    base = read_base_info(base_path)
    out = export_adapter(adapter, base, tmp_path / "adapter.gguf", "f32")
    assert out["permuted"] is (kind == "llama")
    ids = token_ids(hf)
    report = verify(str(hf), adapter, ids, base_path, tmp_path / "adapter.gguf")
    print(kind, json.dumps(report))
    assert report["tokens"] >= 64
    assert report["adapter_effect"] >= 0.2
    assert report["base"]["argmax_agreement"] >= 0.98
    assert report["adapter"]["argmax_agreement"] >= 0.98 and report["passed"]


def test_wrong_layout_is_caught(tiny_gguf_model, tmp_path):
    """Exporting with the other layout must fail the same check (the check can fail)."""
    kind, hf, base_path = tiny_gguf_model
    adapter = make_adapter(hf, tmp_path / "adapter")
    base = read_base_info(base_path)
    export_adapter(adapter, base, tmp_path / "wrong.gguf", "f32", permute=(kind != "llama"))
    report = verify(str(hf), adapter, token_ids(hf), base_path, tmp_path / "wrong.gguf")
    print(kind, "wrong layout", json.dumps(report["adapter"]))
    assert report["adapter"]["argmax_agreement"] < 0.98 and not report["passed"]


def test_rslora_and_alpha_pattern_are_folded(tiny_gguf_model, tmp_path):
    kind, hf, base_path = tiny_gguf_model
    adapter = make_adapter(hf, tmp_path / "adapter", use_rslora=True, alpha_pattern={"v_proj": 64})
    export_adapter(adapter, read_base_info(base_path), tmp_path / "a.gguf", "f32")
    report = verify(str(hf), adapter, token_ids(hf), base_path, tmp_path / "a.gguf")
    assert report["adapter"]["argmax_agreement"] >= 0.98, report


def test_merged_f32_and_q8_0(tiny_gguf_model, tmp_path):
    kind, hf, base_path = tiny_gguf_model
    adapter = make_adapter(hf, tmp_path / "adapter")
    base = read_base_info(base_path)
    merged = tmp_path / "merged-f32.gguf"
    write_merged(base, adapter, merged, "f32", chat_template="{{ messages }}", eos_token_id=7)
    report = verify(str(hf), adapter, token_ids(hf), base_path, None, merged, exact_merged=True)
    assert report["merged"]["argmax_agreement"] >= 0.98 and report["passed"], report
    q8 = quantize(merged, tmp_path / "merged-Q8_0.gguf", "Q8_0")
    assert q8["bytes"] < merged.stat().st_size
    from core.chat.llamacpp_backend import LlamaCppModel
    model = LlamaCppModel(q8["path"])
    assert model.llm.metadata["tokenizer.chat_template"] == "{{ messages }}"  # training template embedded
    assert model.llm.metadata["tokenizer.ggml.eos_token_id"] == "7"           # and the training EOS
    assert model.llm.create_completion("Once upon a time", max_tokens=5)["choices"][0]["text"] is not None


def test_refusals():
    with pytest.raises(ExportError, match="DoRA"):
        check_adapter_config({"use_dora": True})
    with pytest.raises(ExportError, match="modules_to_save"):
        check_adapter_config({"modules_to_save": ["lm_head"]})


def test_wrong_base_is_refused(tiny_gguf_model, smol_tokenizer_dir, tmp_path):
    from core.models import embedded_gguf
    kind, hf, base_path = tiny_gguf_model
    adapter = make_adapter(hf, tmp_path / "adapter")
    with pytest.raises(ExportError, match="different base model|no matching tensor"):
        export_adapter(adapter, read_base_info(embedded_gguf()), tmp_path / "x.gguf")
    assert not (tmp_path / "x.gguf").exists()
    with pytest.raises(ExportError, match="not the base model"):
        check_base_matches(read_base_info(embedded_gguf()), str(hf))


def test_disk_full_leaves_no_partial_file(tiny_gguf_model, tmp_path, monkeypatch):
    import gguf
    kind, hf, base_path = tiny_gguf_model
    adapter = make_adapter(hf, tmp_path / "adapter")

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(gguf.GGUFWriter, "write_tensors_to_file", full)
    with pytest.raises(ExportError, match="No space left"):
        export_adapter(adapter, read_base_info(base_path), tmp_path / "out" / "adapter.gguf")
    assert list((tmp_path / "out").iterdir()) == []


def test_compare_metrics():
    a = np.random.default_rng(0).normal(size=(10, 5))
    assert compare(a, a)["argmax_agreement"] == 1.0 and compare(a, a)["mean_abs_diff"] == 0
    assert compare(a, -a)["argmax_agreement"] < 0.5


def test_peft_logits_shapes(tiny_gguf_model, tmp_path):
    kind, hf, _ = tiny_gguf_model
    adapter = make_adapter(hf, tmp_path / "adapter")
    tuned, base = peft_logits(str(hf), adapter, [1, 2, 3])
    assert tuned.shape == base.shape and tuned.shape[0] == 3
