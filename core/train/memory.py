"""Memory estimate before a long run: a real 2-step dry run here, plus a formula for a GPU.

The dry run trains two steps in a child process with the exact settings (model, block length,
batch, precision) and reports the peak resident memory it measured; nothing is written to the
project. The formula estimates QLoRA on a CUDA GPU, which this machine may not have.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from core.config import FormatConfig, ModelConfig, TrainConfig
from core.events import CancelToken, Reporter


def gpu_formula_gb(n_params: int, n_layers: int, hidden: int, vocab: int, seq: int, batch: int,
                   lora_params: int, nf4: bool = True) -> float:
    """QLoRA (nf4 + gradient checkpointing + paged 8-bit AdamW) memory on a GPU, in GB."""
    weights = n_params * (0.55 if nf4 else 2.0)        # nf4 + double-quantised constants, or bf16
    lora = lora_params * (4 + 4 + 2)                   # fp32 weights + grads + two 8-bit Adam states
    checkpoints = batch * seq * hidden * n_layers * 2  # one bf16 hidden state per layer
    layer = batch * seq * (hidden * 16 + 4 * seq) * 2  # one layer recomputed in backward (attn + MLP)
    logits = batch * seq * vocab * 4 * 2               # fp32 logits and their gradient
    return (weights + lora + checkpoints + layer + logits) / 1e9 + 0.6  # CUDA context, fragmentation


def estimate(project, model_cfg: ModelConfig, fmt_cfg: FormatConfig, cfg: TrainConfig,
             report: Reporter | None = None, cancel: CancelToken | None = None) -> dict:
    from core.models import resolve
    from core.train.runner import run_training

    dry = dataclasses.replace(cfg, steps=2, epochs=0.0, eval_every=0, save_every=0, early_stop=0)
    peaks: list[float] = []

    def relay(event) -> None:
        if event.kind == "metric" and "peak_rss_mb" in event.data:
            peaks.append(event.data["peak_rss_mb"])
        if report:
            report(event)

    result = run_training(project, model_cfg, fmt_cfg, dry, relay, cancel, dry_run=True)
    config = json.loads((Path(resolve(model_cfg.source).load_dir) / "config.json").read_text())
    n_params = _count_params(config)
    lora = cfg.lora_r * 7 * (2 * config["hidden_size"] + config.get("intermediate_size", 4 * config["hidden_size"])) \
        * config["num_hidden_layers"]
    gpu = gpu_formula_gb(n_params, config["num_hidden_layers"], config["hidden_size"], config["vocab_size"],
                         cfg.max_seq_len, cfg.batch_size, lora)
    return {"measured_peak_rss_gb": round(max(peaks) / 1024, 2) if peaks else None,
            "measured_on": "this machine (2-step dry run)", "gpu_qlora_estimate_gb": round(gpu, 2),
            "dry_run_steps": result.steps}


def _count_params(config: dict) -> int:
    h, layers, vocab = config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]
    inter = config.get("intermediate_size", 4 * h)
    heads, kv = config.get("num_attention_heads", 1), config.get("num_key_value_heads", config.get("num_attention_heads", 1))
    head_dim = config.get("head_dim") or h // heads
    attn = h * heads * head_dim * 2 + h * kv * head_dim * 2
    embed = vocab * h * (1 if config.get("tie_word_embeddings") else 2)
    return layers * (attn + 3 * h * inter) + embed
