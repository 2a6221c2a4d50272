"""Training-time fast paths: per-sequence attention for packed blocks and a chunked linear cross-entropy.

Both exist because profiling a packed LoRA step on CPU showed that, next to the real matmuls,
most time went to two avoidable costs:

* **Attention over a block-diagonal mask.** transformers turns restarting position ids into a
  dense (T×T) mask; SDPA then cannot skip the masked blocks, repeats the KV heads for GQA and
  computes every sample against every other one only to throw it away. ``packed_attention``
  instead runs causal SDPA once per packed sequence (found where position ids restart at 0),
  so the work is Σ Lᵢ² instead of T², with native GQA and no mask at all.
* **Full-vocabulary logits.** ``logits.float()`` of a (tokens × vocab) tensor, then a
  log-softmax and its backward, each a pass over hundreds of MB. ``linear_cross_entropy``
  computes the loss and its gradient chunk by chunk in the forward (the LM head is frozen, so
  only the hidden-state gradient is needed) and skips rows whose label is ignored.

The numbers are the same as the plain path (tested); anything unusual (sliding windows, logit
soft-capping, a trainable LM head) falls back to it.
"""
from __future__ import annotations

import torch

ATTENTION = "scriptorium_packed"
# model types whose causal LM is decoder → final norm → lm_head with nothing after it
PLAIN_HEAD_TYPES = {"llama", "mistral", "qwen2", "qwen3", "phi3", "smollm3", "olmo2", "gemma"}
EAGER_UP_TO = 1024  # CPU: longer sequences go to SDPA (the eager score matrix grows as length²)
CHUNK_BYTES = 48 * 2**20  # fp32-sized logits per chunk: big matmuls, yet bf16 chunks stay under the 32 MB below


def sequence_bounds(position_ids: torch.Tensor) -> list[list[tuple[int, int]]]:
    """Per row, the (start, end) of each packed sequence: a sequence starts where the position is 0."""
    rows = []
    width = position_ids.shape[-1]
    for row in position_ids.tolist():
        starts = [i for i, p in enumerate(row) if p == 0] or [0]
        if starts[0] != 0:
            starts.insert(0, 0)
        rows.append(list(zip(starts, starts[1:] + [width])))
    return rows


def packed_attention(module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None,
                     position_ids=None, **kwargs):
    """Causal SDPA run separately over each packed sequence (query/key/value: batch, heads, time, dim)."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if position_ids is None or query.shape[2] == 1 or attention_mask is not None or kwargs.get("softcap") \
            or position_ids.shape[-1] != query.shape[2]:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      position_ids=position_ids, **kwargs)
    gqa = query.shape[1] != key.shape[1]
    bounds, masks = _this_forward(position_ids, query.shape[0])
    rows = []
    # unbind/split rather than slicing: their backward is one stack/cat, not a zero-filled copy per piece
    for spans, q, k, v in zip(bounds, query.unbind(0), key.unbind(0), value.unbind(0)):
        lengths = [e - s for s, e in spans]
        parts = [_causal(qs[None], ks[None], vs[None], dropout, scaling, gqa, masks)
                 for qs, ks, vs in zip(q.split(lengths, 1), k.split(lengths, 1), v.split(lengths, 1))]
        rows.append(parts[0] if len(parts) == 1 else torch.cat(parts, dim=2))
    out = rows[0] if len(rows) == 1 else torch.cat(rows, dim=0)
    return out.transpose(1, 2).contiguous(), None


_FORWARD: dict = {"key": None}


def _this_forward(position_ids: torch.Tensor, batch: int) -> tuple[list, dict]:
    """(sequence bounds, causal-mask cache) shared by every layer of one forward pass.

    All layers get the same position ids, so the bounds are read once per forward rather than per
    layer, and each mask is built once and then reused by the other layers. The cache is dropped
    when the next batch arrives, so it holds only this batch's lengths."""
    # the tensor itself (held, so its memory cannot be reused by the next batch's ids) and its version
    if _FORWARD.get("ids") is not position_ids or _FORWARD["key"] != (position_ids._version, batch):
        ids = position_ids if position_ids.shape[0] == batch else position_ids.expand(batch, -1)
        _FORWARD.update(ids=position_ids, key=(position_ids._version, batch), bounds=sequence_bounds(ids), masks={})
    return _FORWARD["bounds"], _FORWARD["masks"]


def _causal(q, k, v, dropout: float, scaling, gqa: bool, masks: dict):
    """Causal attention of one sequence (1, heads, time, dim); GQA keys/values are shared, not repeated."""
    length = q.shape[2]
    if q.device.type != "cpu" or length > EAGER_UP_TO or dropout:
        return torch.nn.functional.scaled_dot_product_attention(
            q, k, v, dropout_p=dropout, scale=scaling, is_causal=True, enable_gqa=gqa)
    # CPU: plain batched matmuls + softmax measured 2-2.5x faster (forward+backward) than SDPA's CPU flash
    # kernel at head_dim 64 and these lengths. The query heads sharing a KV head are stacked along
    # time, so one (group*T × T) score matrix per KV head replaces repeating K and V.
    heads, dim, kv_heads = q.shape[1], q.shape[3], k.shape[1]
    group = heads // kv_heads
    key = (length, group, q.dtype)
    mask = masks.get(key)
    if mask is None:  # additive: 0 on and below the diagonal, -inf above, one row block per grouped head
        causal = torch.full((length, length), float("-inf"), dtype=q.dtype).triu_(1)
        mask = masks[key] = causal.repeat(group, 1)[None]
    # one kernel for scale, mask and QKᵀ
    scores = torch.baddbmm(mask, q[0].reshape(kv_heads, group * length, dim), k[0].transpose(-1, -2),
                           alpha=scaling if scaling is not None else dim ** -0.5)
    out = torch.matmul(torch.softmax(scores, dim=-1), v[0])
    return out.reshape(1, heads, length, dim)


def use_packed_attention(model, max_seq_len: int) -> bool:
    """Switch a causal LM to ``packed_attention`` for training when its attention is plain causal SDPA."""
    from transformers import AttentionInterface

    config = model.config
    window = getattr(config, "sliding_window", None)
    if config.model_type not in PLAIN_HEAD_TYPES or getattr(config, "_attn_implementation", None) != "sdpa":
        return False
    if window and getattr(config, "use_sliding_window", True) and window < max_seq_len:
        return False  # a window shorter than the block changes which tokens may attend
    AttentionInterface.register(ATTENTION, packed_attention)
    config._attn_implementation = ATTENTION
    for sub in model.modules():  # sub-configs (e.g. text_config) read their own copy
        sub_config = getattr(sub, "config", None)
        if sub_config is not None and getattr(sub_config, "_attn_implementation", None) == "sdpa":
            sub_config._attn_implementation = ATTENTION
    return True


class plain_attention:
    """Context in which a model switched by ``use_packed_attention`` uses plain SDPA again.

    Generation (the exam checked during training) pads and caches keys; packed attention is for
    packed training blocks, and splitting a padded prompt per sequence only costs time there."""

    def __init__(self, model) -> None:
        self.configs = [c for c in {id(c): c for c in (getattr(m, "config", None) for m in model.modules())
                                    if c is not None}.values()
                        if getattr(c, "_attn_implementation", None) == ATTENTION]

    def __enter__(self):
        for c in self.configs:
            c._attn_implementation = "sdpa"
        return self

    def __exit__(self, *exc) -> None:
        for c in self.configs:
            c._attn_implementation = ATTENTION


class _LinearCrossEntropy(torch.autograd.Function):
    """Σ cross-entropy(hidden @ weightᵀ, targets) with the hidden-state gradient computed in the forward."""

    @staticmethod
    def forward(ctx, hidden, weight, targets, rows_per_chunk: int):
        dtype = torch.get_autocast_dtype(hidden.device.type) if torch.is_autocast_enabled(hidden.device.type) \
            else hidden.dtype
        w = weight.to(dtype)
        grad = torch.empty_like(hidden)
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        for s in range(0, hidden.shape[0], rows_per_chunk):
            h, t = hidden[s:s + rows_per_chunk].to(dtype), targets[s:s + rows_per_chunk]
            logits = h @ w.t()
            probs = torch.softmax(logits, dim=-1, out=logits)  # in place; d(loss)/d(logits) = softmax − onehot
            rows = torch.arange(t.shape[0], device=t.device)
            # −log p(target), from the softmax already there (no second pass over the vocabulary); the
            # floor keeps a target the model rules out entirely at a large finite loss, not inf
            total -= probs[rows, t].float().clamp_min(1e-38).log().sum()
            probs[rows, t] -= 1.0
            grad[s:s + rows_per_chunk] = (probs @ w).to(hidden.dtype)
        ctx.save_for_backward(grad)
        return total

    @staticmethod
    def backward(ctx, grad_output):
        (grad,) = ctx.saved_tensors
        return grad * grad_output.to(grad.dtype), None, None, None


def linear_cross_entropy(hidden, weight, targets):
    """Summed next-token loss of ``hidden`` (rows × dim) against ``targets`` (rows), frozen ``weight``."""
    rows = max(16, CHUNK_BYTES // (4 * weight.shape[0]))
    if torch.is_grad_enabled() and hidden.requires_grad:
        return _LinearCrossEntropy.apply(hidden, weight, targets, rows)
    total = torch.zeros((), dtype=torch.float32, device=hidden.device)
    for s in range(0, hidden.shape[0], rows):  # evaluation: the same sum, no gradient kept
        logits = torch.nn.functional.linear(hidden[s:s + rows], weight).float()
        total += torch.nn.functional.cross_entropy(logits, targets[s:s + rows], reduction="sum")
    return total


def fusable(model) -> bool:
    """True when the loss can be taken from the decoder's hidden states and a frozen, plain LM head."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = getattr(base, "config", None)  # None for a DDP wrapper: its own forward must run
    if config is None:
        return False
    head = base.get_output_embeddings() if hasattr(base, "get_output_embeddings") else None
    return (config.model_type in PLAIN_HEAD_TYPES and head is not None and type(head) is torch.nn.Linear
            and head.bias is None and not head.weight.requires_grad and hasattr(base, "model")
            and not getattr(config, "final_logit_softcapping", None) and not getattr(config, "logit_scale", None))


def skip_lora_input_casts(model) -> int:
    """Under autocast, stop PEFT from casting every LoRA input up to the fp32 adapter dtype.

    autocast casts it straight back to bf16 for the matmul, so the round trip (a copy forward and
    one backward per LoRA layer) changes nothing but time. Only valid while autocast is on."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    layers = [m for m in model.modules() if isinstance(m, BaseTunerLayer)]
    for layer in layers:
        layer.cast_input_dtype_enabled = False
    return len(layers)


def fuse_lora_updates(model) -> int:
    """Make each plain LoRA linear add its update with one GEMM: ``addmm(base_out, A(x), Bᵀ, alpha=scale)``.

    PEFT computes ``base_out + B(A(x)) * scale``: the update is written, scaled and added in three
    passes over a (tokens × out_features) tensor, and on CPU those passes over the wide MLP
    outputs cost more than the rank-r matmul itself. Only the single-adapter, no-DoRA, unmerged
    training case takes the fused path; anything else runs PEFT's own forward."""
    import types

    from peft.tuners.lora.layer import Linear

    count = 0
    for module in model.modules():
        if type(module) is Linear:  # exact type: quantized (bnb) variants keep their own forward
            module.forward = types.MethodType(_lora_forward, module)
            count += 1
    return count


def _lora_forward(self, x, *args, **kwargs):
    from peft.tuners.lora.layer import Linear

    name = self.active_adapters[0] if len(self.active_adapters) == 1 else None
    if (args or kwargs or name is None or self.disable_adapters or self.merged or name not in self.lora_A
            or name in self.lora_variant or self.lora_B[name].bias is not None):
        return Linear.forward(self, x, *args, **kwargs)
    result = self.base_layer(x)
    lora_a = self.lora_A[name]
    h = lora_a(self.lora_dropout[name](self._cast_input_dtype(x, lora_a.weight.dtype)))
    out = torch.addmm(result.reshape(-1, result.shape[-1]), h.reshape(-1, h.shape[-1]), self.lora_B[name].weight.t(),
                      alpha=self.scaling[name])
    return out.view(result.shape).to(result.dtype)


def reuse_freed_memory() -> bool:
    """glibc only: keep freed blocks up to 32 MB (its maximum) in the heap instead of mmap/munmap.

    By default glibc serves large allocations from fresh mmaps and returns them on free, so every
    step's activations are page-faulted in again; measured here, that doubled and scattered the
    time of attention at 450–512 tokens (4.2 ms → 8–10 ms). Returns whether the setting took."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # from malloc.h
        return bool(libc.mallopt(m_mmap_threshold, 32 * 2**20)) and bool(libc.mallopt(m_trim_threshold, 2**30))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt): nothing to tune
        return False
