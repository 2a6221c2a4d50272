"""Packing: blocks are full, samples never see each other, and the loss is the unpacked loss."""
from __future__ import annotations

import random

import pytest
import torch

from core.train.packing import collate, loss_sum, pack, packing_efficiency


@pytest.fixture(scope="module")
def model_and_samples(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    rng = random.Random(0)
    samples = []
    for n in (5, 17, 9, 30, 3, 12, 41, 8, 22):
        ids = [rng.randrange(10, model.config.vocab_size) for _ in range(n)]
        samples.append({"input_ids": ids, "labels": [-100] * (n // 3) + ids[n // 3:]})  # prompt part masked
    return model, samples


def unpacked_loss(model, samples) -> float:
    total, count = 0.0, 0
    with torch.no_grad():
        for s in samples:
            logits = model(torch.tensor([s["input_ids"]])).logits[0, :-1]
            targets = torch.tensor(s["labels"][1:])
            total += float(torch.nn.functional.cross_entropy(logits, targets, ignore_index=-100, reduction="sum"))
            count += int((targets != -100).sum())
    return total / count


def test_packed_loss_equals_unpacked_per_sample_loss(model_and_samples):
    model, samples = model_and_samples
    blocks = pack(samples, 48, pad_id=0)
    assert len(blocks) < len(samples)
    assert all(len(b.input_ids) == 48 for b in blocks)
    with torch.no_grad():
        s, n = loss_sum(model, collate(blocks, "cpu"))
    assert n == sum(sum(1 for x in smp["labels"][1:] if x != -100) for smp in samples)
    assert float(s) / n == pytest.approx(unpacked_loss(model, samples), rel=1e-5)


def test_samples_do_not_attend_across_the_boundary(model_and_samples):
    model, _ = model_and_samples
    a, b = list(range(10, 20)), list(range(30, 37))
    blocks = pack([{"input_ids": a, "labels": a}, {"input_ids": b, "labels": b}], 17, 0)
    batch = collate(blocks, "cpu")
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        alone = {len(x): model(torch.tensor([x])).logits[0] for x in (a, b)}
    first = len(a) if blocks[0].input_ids[:len(a)] == a else len(b)
    second = 17 - first
    assert torch.allclose(packed[:first], alone[first], atol=1e-5)
    assert torch.allclose(packed[first:], alone[second], atol=1e-5)


def test_first_token_of_each_sample_is_never_a_target():
    blocks = pack([{"input_ids": [5, 6, 7], "labels": [5, 6, 7]}, {"input_ids": [8, 9], "labels": [8, 9]}], 8, 0)
    block = blocks[0]
    starts = [i for i, p in enumerate(block.position_ids) if p == 0]
    assert all(block.labels[i] == -100 for i in starts)
    assert block.used == 5 and packing_efficiency(blocks) == pytest.approx(5 / 8)


def test_long_samples_are_cut_to_the_block():
    blocks = pack([{"input_ids": list(range(100)), "labels": list(range(100))}], 32, 0)
    assert len(blocks) == 1 and len(blocks[0].input_ids) == 32
