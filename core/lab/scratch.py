"""LoRA vs from scratch: a small randomly initialised model trained on the same data and budget.

The lab's question "is a LoRA on a pretrained model better than a small model of my own?" needs
a fair opponent: the base model's tokenizer (the same tokens, so losses and budgets compare), an
architecture of the base's family, and about as many trainable weights as the LoRA has. The
LoRA's count is taken from the base's own linear layers (r·(in + out) for each one the adapter
targets, the output head excepted, as PEFT's "all-linear" does); the scratch model's width and depth
are then picked so that its whole parameter count (tied embeddings included: with a 50k-token
vocabulary they are most of a small model) comes closest to it.

It trains every weight with the same blocks, block length, batch and steps as the LoRA run
(a higher learning rate: a random model starts far from anything) and is saved as a model folder
in its run (``runs/<id>/model``, ``run.json`` kind "scratch"), so the evaluation stage scores it like
any model: the exam, the general probes (how much of what the base model knew it knows — near
nothing, which is the point), reasoning and perplexity.
"""
from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

from core.config import FormatConfig, ModelConfig, TrainConfig, save_yaml
from core.events import CancelToken, Reporter, StageReporter
from core.lab.score_job import LabError
from core.project import Project, atomic_write_json

SCRATCH_LR = 2e-3
HEAD_DIM = 32
MAX_LAYERS = 12


def _linear_shapes(load_dir: str) -> list[tuple[str, int, int]]:
    """(name, in, out) of the base model's linear layers, built on the meta device (no weights read)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(load_dir)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    head = model.get_output_embeddings()
    return [(name, m.in_features, m.out_features) for name, m in model.named_modules()
            if isinstance(m, torch.nn.Linear) and m is not head]


def lora_trainable(load_dir: str, cfg: TrainConfig) -> int:
    """Trainable weights of the LoRA this train config puts on the base model."""
    wanted = None if cfg.target_modules == "all-linear" else \
        {t.strip() for t in cfg.target_modules.split(",") if t.strip()}
    return sum(cfg.lora_r * (fan_in + fan_out) for name, fan_in, fan_out in _linear_shapes(load_dir)
               if wanted is None or name.rsplit(".", 1)[-1] in wanted)


def llama_like_count(vocab: int, hidden: int, layers: int, intermediate: int) -> int:
    """Parameters of a Llama-style decoder with tied embeddings and as many key/value heads as heads."""
    per_layer = 4 * hidden * hidden + 3 * hidden * intermediate + 2 * hidden
    return vocab * hidden + layers * per_layer + hidden


def scratch_config(load_dir: str, target: int):
    """The base's config made small: width and depth whose parameter count is closest to ``target``."""
    from transformers import AutoConfig

    base = AutoConfig.from_pretrained(load_dir)
    needed = ("hidden_size", "num_hidden_layers", "intermediate_size", "num_attention_heads", "vocab_size")
    if not all(hasattr(base, k) for k in needed):
        raise LabError(f"{Path(load_dir).name}: the from-scratch comparison needs a Llama-like base model "
                       f"(a config with {', '.join(needed)})")
    best = None
    for hidden in range(HEAD_DIM, max(HEAD_DIM, base.hidden_size) + 1, HEAD_DIM):
        for layers in range(1, min(MAX_LAYERS, base.num_hidden_layers) + 1):
            inter = int(round(hidden * base.intermediate_size / base.hidden_size / 8)) * 8 or 8
            count = llama_like_count(base.vocab_size, hidden, layers, inter)
            key = (abs(count - target), -layers)  # as close as possible; deeper on a tie
            if best is None or key < best[0]:
                best = (key, hidden, layers, inter)
    _key, hidden, layers, inter = best
    small = base.__class__.from_dict(base.to_dict())
    small.hidden_size, small.num_hidden_layers, small.intermediate_size = hidden, layers, inter
    small.num_attention_heads = small.num_key_value_heads = hidden // HEAD_DIM
    if hasattr(small, "head_dim"):
        small.head_dim = HEAD_DIM
    small.tie_word_embeddings = True
    return small


def train_scratch(project: Project, fmt_cfg: FormatConfig, cfg: TrainConfig, report: Reporter | None = None,
                  cancel: CancelToken | None = None, lr: float = SCRATCH_LR) -> Path:
    """Train the from-scratch opponent of a LoRA run with ``cfg``'s budget; returns its run folder."""
    import torch
    from transformers import AutoModelForCausalLM

    from core.formats import build_dataset, encode
    from core.models import load_tokenizer, resolve
    from core.train.engine import _WarmupCosine
    from core.train.fused import use_packed_attention
    from core.train.packing import batches, collate, loss_sum, pack
    from core.train.results import recorder, versions

    cancel = cancel or CancelToken()
    run_dir = project.new_run_dir()
    say = StageReporter(recorder(run_dir, report), "train")
    resolved = resolve(project.model.source, say)
    tokenizer = load_tokenizer(resolved)
    data = build_dataset(project, fmt_cfg, tokenizer, say, cancel)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    encoded = [e for e in (encode(s, tokenizer, cfg.max_seq_len) for s in data.train)
               if any(label != -100 for label in e["labels"][1:])]
    if not encoded:
        raise LabError("no training samples left after cutting to max_seq_len; raise max_seq_len")
    blocks = pack(encoded, cfg.max_seq_len, pad_id)
    lora = lora_trainable(resolved.load_dir, cfg)
    config = scratch_config(resolved.load_dir, lora)
    torch.manual_seed(cfg.seed)
    model = AutoModelForCausalLM.from_config(config)
    params = sum(p.numel() for p in model.parameters())
    save_yaml(run_dir / "config.yaml", {"model": ModelConfig(str(run_dir / "model")), "format": fmt_cfg, "train": cfg,
                                        "evaluate": project.settings("evaluate")})
    say.log(f"From scratch: a random {config.num_hidden_layers}-layer model {config.hidden_size} wide with the "
            f"base model's tokenizer, {params / 1e6:.2f} M weights, all trained (the LoRA trains {lora / 1e6:.2f} M); "
            f"{cfg.steps} steps of {cfg.batch_size} × {cfg.max_seq_len} tokens, learning rate {lr:g}")
    atomic_write_json(run_dir / "run.json", {
        "kind": "scratch", "model": {"source": str(run_dir / "model"), "kind": "hf_dir",
                                     "load_dir": str(run_dir / "model"), "name": f"scratch-{run_dir.name}"},
        "format": fmt_cfg.format, "dataset_fingerprint": data.meta["fingerprint"],
        "chat_template": data.meta["chat_template"], "stop_tokens": data.meta["stop_tokens"],
        "system_prompt": fmt_cfg.system_prompt, "samples": len(encoded), "blocks": len(blocks), "steps": cfg.steps,
        "params": params, "lora_params": lora, "base_model": resolved.to_dict(), "versions": versions()})
    use_packed_attention(model, cfg.max_seq_len)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _WarmupCosine(max(1, cfg.steps // 10), cfg.steps))
    stream = batches(blocks, cfg.batch_size, cfg.seed)
    started, step = time.time(), 0
    while step < cfg.steps and not cancel.cancelled:
        micro = [next(stream) for _ in range(cfg.grad_accum)]
        targets = sum(b.target_tokens for gb in micro for b in gb)
        total = 0.0
        for gb in micro:
            s, _n = loss_sum(model, collate(gb, "cpu"))
            (s / max(targets, 1)).backward()
            total += float(s.detach())
        loss = total / max(targets, 1)
        if not math.isfinite(loss):
            raise LabError(f"the from-scratch model's loss became {loss} at step {step + 1}; lower its learning rate")
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        elapsed = time.time() - started
        say.metric(step=step, loss=round(loss, 5), eta_s=round(elapsed / step * (cfg.steps - step), 1))
        say.progress(step, cfg.steps, f"from scratch: step {step}/{cfg.steps} loss {loss:.3f}")
    if cancel.cancelled:
        raise LabError(f"stopped while training the from-scratch model (step {step}); run the experiment again")
    model.save_pretrained(run_dir / "model")
    tokenizer.save_pretrained(run_dir / "model")
    atomic_write_json(run_dir / "summary.json", {"steps": step, "final_loss": round(loss, 5), "params": params,
                                                 "lora_params": lora, "scratch": True})
    say.log(f"From-scratch model saved to {run_dir / 'model'}")
    return run_dir


def same_budget(cfg: TrainConfig) -> TrainConfig:
    """The budget of a comparison, as the scratch run reads it (no plan, no evaluation inside)."""
    return dataclasses.replace(cfg, plan="manual", epochs=0.0, eval_every=0, save_every=0)
