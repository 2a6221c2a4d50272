"""Training fast paths: per-sequence attention and chunked linear cross-entropy give the plain numbers."""
from __future__ import annotations

import random

import pytest
import torch

import core.train.fused as fused
from core.train.packing import collate, loss_sum, pack


def _model(tiny_model_dir, packed: bool, dtype=torch.float32):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=dtype)
    assert model.config._attn_implementation == "sdpa"
    if packed:
        assert fused.use_packed_attention(model, 64)
    torch.manual_seed(1)
    model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM",
                                             init_lora_weights=False))
    for p in model.parameters():
        if p.requires_grad:
            p.data = p.data.float()
    return model


def _batch(vocab: int):
    rng = random.Random(0)
    samples = []
    for n in (5, 17, 9, 30, 3, 12, 41, 8, 22):
        ids = [rng.randrange(10, vocab) for _ in range(n)]
        samples.append({"input_ids": ids, "labels": [-100] * (n // 3) + ids[n // 3:]})
    return collate(pack(samples, 64, pad_id=0), "cpu")


def _loss_and_grads(model, batch, monkeypatch, fuse: bool):
    with monkeypatch.context() as m:
        if not fuse:
            m.setattr(fused, "fusable", lambda _model: False)
        model.zero_grad()
        s, n = loss_sum(model, batch)
        (s / n).backward()
    return float(s.detach()), n, torch.cat([p.grad.flatten() for p in model.parameters() if p.requires_grad])


@pytest.mark.parametrize("eager_up_to", [1024, 0])  # the CPU matmul path, and SDPA per sequence
def test_fast_paths_match_masked_attention_and_full_logits(tiny_model_dir, monkeypatch, eager_up_to):
    monkeypatch.setattr(fused, "EAGER_UP_TO", eager_up_to)
    plain, fast = _model(tiny_model_dir, packed=False), _model(tiny_model_dir, packed=True)
    assert fused.fuse_lora_updates(fast) == 2 * 7  # every LoRA linear of the 2-layer llama
    batch = _batch(plain.config.vocab_size)
    assert len(fused.sequence_bounds(batch["position_ids"])[0]) > 1  # really several samples per block
    ref_loss, ref_n, ref_grad = _loss_and_grads(plain, batch, monkeypatch, fuse=False)
    loss, n, grad = _loss_and_grads(fast, batch, monkeypatch, fuse=True)
    assert n == ref_n
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    assert float((grad - ref_grad).norm() / ref_grad.norm()) < 1e-4


def test_bf16_autocast_fast_path_stays_close(tiny_model_dir, monkeypatch):
    plain, fast = _model(tiny_model_dir, packed=False), _model(tiny_model_dir, packed=True)
    batch = _batch(plain.config.vocab_size)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fused.skip_lora_input_casts(fast)
        fused.fuse_lora_updates(fast)
        ref_loss, _, ref_grad = _loss_and_grads(plain, batch, monkeypatch, fuse=False)
        loss, _, grad = _loss_and_grads(fast, batch, monkeypatch, fuse=True)
    assert loss == pytest.approx(ref_loss, rel=2e-2)
    assert float((grad - ref_grad).norm() / ref_grad.norm()) < 0.1


def test_sequence_bounds_split_where_positions_restart():
    pos = torch.tensor([[0, 1, 2, 0, 1, 0], [0, 1, 2, 3, 4, 5]])
    assert fused.sequence_bounds(pos) == [[(0, 3), (3, 5), (5, 6)], [(0, 6)]]


def test_unusual_models_keep_the_plain_path(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    model.config.sliding_window = 16  # a window shorter than the block changes which tokens attend
    assert not fused.use_packed_attention(model, 64)
    assert model.config._attn_implementation == "sdpa"
    model.lm_head.weight.requires_grad_(True)  # a trainable head needs its own gradient: full logits
    assert not fused.fusable(model)
    model.lm_head.weight.requires_grad_(False)
    assert fused.fusable(model)


def test_evaluation_sum_needs_no_gradient(tiny_model_dir):
    model = _model(tiny_model_dir, packed=True)
    batch = _batch(model.config.vocab_size)
    with torch.no_grad():
        s, n = loss_sum(model, batch)
    assert not s.requires_grad and n > 0 and torch.isfinite(s)


def test_fused_lora_update_defers_to_peft_when_adapters_are_off(tiny_model_dir):
    model = _model(tiny_model_dir, packed=False)
    ids = torch.tensor([[5, 6, 7, 8, 9]])
    with torch.no_grad():
        with_adapter = model(input_ids=ids).logits
        with model.disable_adapter():
            base = model(input_ids=ids).logits
        fused.fuse_lora_updates(model)
        assert torch.allclose(model(input_ids=ids).logits, with_adapter, atol=1e-5)
        with model.disable_adapter():
            assert torch.allclose(model(input_ids=ids).logits, base, atol=1e-6)
    assert not torch.allclose(with_adapter, base, atol=1e-3)


def test_a_target_the_model_rules_out_gives_a_finite_loss():
    hidden = torch.tensor([[100.0, 0.0]], requires_grad=True)
    weight = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])  # logits 100 and -100: p(target 1) underflows
    loss = fused.linear_cross_entropy(hidden, weight, torch.tensor([1]))
    loss.backward()
    assert torch.isfinite(loss) and loss > 50 and torch.isfinite(hidden.grad).all()


def test_bounds_and_masks_are_shared_within_a_forward_and_renewed_for_the_next():
    first = torch.tensor([[0, 1, 2, 0, 1]])
    bounds, masks = fused._this_forward(first, 1)
    masks["x"] = 1
    assert fused._this_forward(first, 1) == (bounds, masks)  # the next layer of the same forward
    second = torch.tensor([[0, 1, 0, 1, 2]])  # same shape, new batch
    assert fused._this_forward(second, 1) == ([[(0, 2), (2, 5)]], {})
    second[0, 2] = 5  # changed in place: read again
    assert fused._this_forward(second, 1)[0] == [[(0, 5)]]


def test_freed_memory_setting_is_harmless_to_call():
    import platform
    import sys

    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert fused.reuse_freed_memory() is glibc  # applied on glibc Linux, a no-op elsewhere
    assert torch.ones(2048, 2048).sum() == 2048 * 2048  # big allocations still work
