"""No wasted tokens: pack samples into fixed-length blocks that never attend across samples.

Samples (``input_ids`` + ``labels`` with -100 over prompts) are placed into blocks of
``block_len`` tokens by first-fit decreasing. Inside a block every sample gets position ids that
restart at 0; transformers turns restarting position ids (with ``attention_mask=None``) into a
block-diagonal causal mask, so a sample sees only itself — the same maths as training it alone.
The label of each sample's first token is masked: otherwise the previous sample's last token
would be trained to predict it.

The loss is computed here (sum of token losses ÷ target tokens of the whole optimizer step), so
packed and unpacked batches, and any split into micro-batches or ranks, give the same number.
"""
from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class Block:
    input_ids: list[int]
    labels: list[int]
    position_ids: list[int]
    used: int  # tokens that belong to samples (the rest is padding)
    kl: list[bool] | None = None  # per token: a replay target, where a KL penalty towards the base may apply

    @property
    def target_tokens(self) -> int:
        return sum(1 for label in self.labels[1:] if label != -100)


def pack(samples: list[dict], block_len: int, pad_id: int) -> list[Block]:
    """First-fit decreasing into blocks of exactly ``block_len`` tokens (tail padded, masked)."""
    order = sorted(range(len(samples)), key=lambda i: -len(samples[i]["input_ids"]))
    bins: list[list[dict]] = []
    room: list[int] = []
    for i in order:
        sample = {k: v[:block_len] for k, v in samples[i].items() if k in ("input_ids", "labels")}
        sample["replay"] = bool(samples[i].get("replay"))
        size = len(sample["input_ids"])
        for b, free in enumerate(room):
            if size <= free:
                bins[b].append(sample)
                room[b] -= size
                break
        else:
            bins.append([sample])
            room.append(block_len - size)
    blocks = []
    for contents in bins:
        ids, labels, positions, kl = [], [], [], []
        for sample in contents:
            n = len(sample["input_ids"])
            ids += sample["input_ids"]
            labels += [-100] + sample["labels"][1:]   # never predict across the boundary
            positions += list(range(n))
            kl += [sample["replay"]] * n
        used = len(ids)
        pad = block_len - used
        if pad:
            ids += [pad_id] * pad
            labels += [-100] * pad
            positions += list(range(pad))              # padding is its own (ignored) sequence
            kl += [False] * pad
        blocks.append(Block(ids, labels, positions, used, kl if any(kl) else None))
    return blocks


def packing_efficiency(blocks: list[Block]) -> float:
    """Share of block tokens that belong to real samples (1.0 = no padding at all)."""
    return sum(b.used for b in blocks) / max(sum(len(b.input_ids) for b in blocks), 1)


def batches(blocks: list[Block], batch_size: int, seed: int, start: int = 0):
    """Endless shuffled epochs of micro-batches; ``start`` skips that many (resume mid-epoch)."""
    rng = random.Random(seed)
    produced = 0
    while True:
        order = list(range(len(blocks)))
        rng.shuffle(order)
        for i in range(0, len(order), batch_size):
            if produced >= start:
                yield [blocks[j] for j in order[i:i + batch_size]]
            produced += 1


def collate(blocks: list[Block], device: str):
    """Tensors for a micro-batch; unequal blocks (packing off) are padded to the longest one.

    Padding is masked from the loss and, with positions restarting at 0, is a sequence of its
    own that real tokens never attend to, so no attention mask is needed."""
    import torch

    width = max(len(b.input_ids) for b in blocks)

    def padded(values: list[int], fill: list[int]) -> list[int]:
        return values + fill[:width - len(values)]

    tail = list(range(width))
    batch = {"input_ids": torch.tensor([padded(b.input_ids, [0] * width) for b in blocks], device=device),
             "labels": torch.tensor([padded(b.labels, [-100] * width) for b in blocks], device=device),
             "position_ids": torch.tensor([padded(b.position_ids, tail) for b in blocks], device=device)}
    if any(b.kl for b in blocks):
        batch["kl"] = torch.tensor([padded(b.kl or [False] * len(b.input_ids), [False] * width) for b in blocks],
                                   device=device)
    return batch


def kl_to_base(model, base, batch, hidden, rows, chunk: int = 256):
    """Σ KL(base ‖ tuned) of the next-token distributions at ``rows`` (replay targets).

    The base is the same model with its adapter off, run without gradients; the tuned side is the
    hidden states this step already computed. Chunked: vocabulary-wide rows are large."""
    import torch

    if not bool(rows.any()):
        return hidden.new_zeros(())
    with torch.no_grad(), model.disable_adapter():
        base_hidden = base.model(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                                 use_cache=False).last_hidden_state[:, :-1][rows]
    tuned_hidden = hidden[rows]
    weight = base.get_output_embeddings().weight
    total = hidden.new_zeros((), dtype=torch.float32)
    for start in range(0, tuned_hidden.shape[0], chunk):
        with torch.no_grad():
            p = torch.log_softmax((base_hidden[start:start + chunk] @ weight.T.to(base_hidden.dtype)).float(), -1)
        q = torch.log_softmax((tuned_hidden[start:start + chunk] @ weight.T.to(tuned_hidden.dtype)).float(), -1)
        total = total + (p.exp() * (p - q)).sum()
    return total


def loss_sum(model, batch, kl_weight: float = 0.0) -> "tuple[object, int]":
    """(sum of next-token cross-entropy over target tokens, number of target tokens).

    With a plain frozen LM head (see ``fused.fusable``) the loss comes from the decoder's hidden
    states through the chunked ``linear_cross_entropy``, skipping rows with no target; otherwise
    from full logits. Under DDP the wrapped model's own forward must run, so logits are used."""
    import torch.nn.functional as F

    from core.train.fused import fusable, linear_cross_entropy

    targets = batch["labels"][:, 1:]
    count = int((targets != -100).sum())
    # use_cache=False matters: with a cache transformers skips the packed-sequence (block-diagonal) mask
    if fusable(model):
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        hidden = base.model(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                            use_cache=False).last_hidden_state[:, :-1]
        keep = targets != -100
        total = linear_cross_entropy(hidden[keep], base.get_output_embeddings().weight, targets[keep])
        if kl_weight and "kl" in batch and hasattr(model, "disable_adapter"):
            total = total + kl_weight * kl_to_base(model, base, batch, hidden, keep & batch["kl"][:, 1:])
        return total, count
    logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits
    logits = logits[:, :-1].float()
    total = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100,
                            reduction="sum")
    return total, count
