"""The training recipe: one function, read top to bottom (torchtune style).

corpus → dataset (format stage) → base model (+ 4-bit for QLoRA) → LoRA → AdamW + warm-up/cosine
→ steps with eval on the held-out split → adapter saved (also when cancelled).

Everything it reports goes to ``report`` *and* into the run folder: metric events become
``metrics.jsonl`` lines, messages go to ``log.txt``.
"""
from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

from core.config import FormatConfig, ModelConfig, TrainConfig, save_yaml
from core.events import CancelToken, Event, Reporter, StageReporter
from core.project import Project, append_jsonl, atomic_write_json


class TrainError(RuntimeError):
    """Training cannot go on; the message says why and what was kept."""


@dataclass
class TrainResult:
    run_dir: Path
    adapter_dir: Path
    steps: int
    first_loss: float | None
    last_loss: float | None
    eval_loss: float | None
    cancelled: bool

    def summary(self) -> dict:
        return {"run_dir": str(self.run_dir), "adapter": str(self.adapter_dir), "steps": self.steps,
                "first_loss": self.first_loss, "last_loss": self.last_loss, "eval_loss": self.eval_loss,
                "cancelled": self.cancelled}


def _recorder(run_dir: Path, report: Reporter | None) -> Reporter:
    """Tee events to the caller and to the run folder (metrics.jsonl, log.txt)."""
    def emit(event: Event) -> None:
        if event.kind == "metric":
            append_jsonl(run_dir / "metrics.jsonl", event.to_dict())
        elif event.message and event.kind != "progress":
            with open(run_dir / "log.txt", "a", encoding="utf-8") as fh:
                fh.write(f"{time.strftime('%H:%M:%S')} {event.kind}: {event.message}\n")
        if report:
            report(event)
    return emit


def _batches(samples: list[dict], batch_size: int, seed: int):
    """Endless shuffled epochs of micro-batches (a step budget, not an epoch budget, ends training)."""
    rng = random.Random(seed)
    while True:
        order = list(range(len(samples)))
        rng.shuffle(order)
        for i in range(0, len(order), batch_size):
            yield [samples[j] for j in order[i:i + batch_size]]


def _collate(batch: list[dict], pad_id: int, device: str):
    import torch

    width = max(len(s["input_ids"]) for s in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, s in enumerate(batch):
        n = len(s["input_ids"])
        ids[row, :n] = torch.tensor(s["input_ids"])
        labels[row, :n] = torch.tensor(s["labels"])
        mask[row, :n] = 1
    return {"input_ids": ids.to(device), "labels": labels.to(device), "attention_mask": mask.to(device)}


def evaluate(model, samples: list[dict], pad_id: int, device: str, batch_size: int) -> float | None:
    """Token-weighted mean loss over the held-out samples."""
    import torch

    if not samples:
        return None
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(samples), batch_size):
            batch = _collate(samples[i:i + batch_size], pad_id, device)
            n = int((batch["labels"][:, 1:] != -100).sum())
            total += float(model(**batch).loss) * n
            count += n
    model.train()
    return total / max(count, 1)


def train(project: Project, model_cfg: ModelConfig, fmt_cfg: FormatConfig, cfg: TrainConfig,
          report: Reporter | None = None, cancel: CancelToken | None = None) -> TrainResult:
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import get_cosine_schedule_with_warmup

    from core.formats import build_dataset, encode
    from core.models import load_model, load_tokenizer, pick_device, resolve

    cancel = cancel or CancelToken()
    run_dir = project.new_run_dir()
    say = StageReporter(_recorder(run_dir, report), "train")
    save_yaml(run_dir / "config.yaml", {"model": model_cfg, "format": fmt_cfg, "train": cfg})

    # 1. Model source and data
    resolved = resolve(model_cfg.source, say)
    tokenizer = load_tokenizer(resolved)
    data = build_dataset(project, fmt_cfg, tokenizer, say)
    train_set = [encode(s, tokenizer, cfg.max_seq_len) for s in data.train]
    eval_set = [encode(s, tokenizer, cfg.max_seq_len) for s in data.eval]
    train_set = [s for s in train_set if any(label != -100 for label in s["labels"])]
    if not train_set:
        raise TrainError("no training samples left after cutting to max_seq_len; raise max_seq_len")
    atomic_write_json(run_dir / "run.json", {"model": resolved.to_dict(), "format": fmt_cfg.format,
                                             "dataset_fingerprint": data.meta["fingerprint"],
                                             "chat_template": data.meta["chat_template"],
                                             "stop_tokens": data.meta["stop_tokens"],
                                             "system_prompt": fmt_cfg.system_prompt,
                                             "versions": _versions()})

    # 2. Device, precision, base model, LoRA
    device = pick_device(cfg.device)
    quant = cfg.quantization if cfg.quantization != "auto" else ("nf4" if device == "cuda" else "none")
    say.log(f"Training on {device}{' with a 4-bit (QLoRA) base' if quant == 'nf4' else ''}: "
            f"{resolved.name}, {len(train_set)} samples, {len(eval_set)} held out")
    torch.manual_seed(cfg.seed)
    model = load_model(resolved, device, quant)
    if quant == "nf4":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=device == "cuda")
    targets = cfg.target_modules if cfg.target_modules == "all-linear" else [
        t.strip() for t in cfg.target_modules.split(",") if t.strip()]
    model = get_peft_model(model, LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                                             target_modules=targets, task_type="CAUSAL_LM"))
    params = [p for p in model.parameters() if p.requires_grad]
    if device == "cuda":
        import bitsandbytes as bnb  # paged 8-bit AdamW: optimizer state can spill to CPU instead of OOM
        optimizer = bnb.optim.PagedAdamW8bit(params, lr=cfg.lr, weight_decay=0.0)
    else:
        optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    scheduler = get_cosine_schedule_with_warmup(optimizer, min(cfg.warmup_steps, cfg.steps - 1), cfg.steps)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    # 3. The loop
    model.train()
    batches = _batches(train_set, cfg.batch_size, cfg.seed)
    first_loss = last_loss = eval_loss = None
    step, cancelled, started, seen_tokens = 0, False, time.time(), 0
    while step < cfg.steps:
        if cancel.cancelled:
            cancelled = True
            say.warning(f"Cancelled at step {step}; saving the adapter trained so far")
            break
        step_loss, tokens = 0.0, 0
        for _ in range(cfg.grad_accum):
            batch = _collate(next(batches), pad_id, device)
            loss = model(**batch).loss / cfg.grad_accum
            loss.backward()
            step_loss += loss.item()
            tokens += int(batch["attention_mask"].sum())
        if not math.isfinite(step_loss):
            _save_adapter(model, tokenizer, run_dir)
            raise TrainError(f"loss became {step_loss} at step {step + 1}; lower the learning rate "
                             f"(adapter of step {step} kept in {run_dir / 'adapter'})")
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, 1.0))
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        seen_tokens += tokens
        first_loss = step_loss if first_loss is None else first_loss
        last_loss = step_loss
        elapsed = time.time() - started
        say.metric(step=step, loss=round(step_loss, 5), lr=scheduler.get_last_lr()[0], grad_norm=round(grad_norm, 4),
                   tokens_per_s=round(seen_tokens / max(elapsed, 1e-9), 1),
                   eta_s=round(elapsed / step * (cfg.steps - step), 1))
        if (cfg.eval_every and step % cfg.eval_every == 0) or step == cfg.steps:
            eval_loss = evaluate(model, eval_set, pad_id, device, cfg.batch_size)
            if eval_loss is not None:
                say.metric(step=step, eval_loss=round(eval_loss, 5))
        say.progress(step, cfg.steps, f"step {step}/{cfg.steps} loss {step_loss:.3f}")

    adapter_dir = _save_adapter(model, tokenizer, run_dir)
    result = TrainResult(run_dir, adapter_dir, step, first_loss, last_loss, eval_loss, cancelled)
    atomic_write_json(run_dir / "summary.json", result.summary())
    say.log(f"Adapter saved to {adapter_dir}")
    return result


def _save_adapter(model, tokenizer, run_dir: Path) -> Path:
    adapter_dir = run_dir / "adapter"
    model.save_pretrained(adapter_dir)
    tokenizer.save_pretrained(adapter_dir)
    return adapter_dir


def _versions() -> dict:
    import peft
    import torch
    import transformers

    from core import __version__
    return {"scriptorium": __version__, "torch": torch.__version__, "transformers": transformers.__version__,
            "peft": peft.__version__}


def read_metrics(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()] if path.exists() else []
