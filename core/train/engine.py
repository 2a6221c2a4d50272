"""The training recipe: one function, read top to bottom (torchtune style).

run folder → corpus → dataset (format stage) → packed blocks → device/precision plan → base model
(+ 4-bit for QLoRA) → LoRA → AdamW + warm-up/cosine → (resume) → steps with eval, checkpoints,
early stop → adapter saved (also when cancelled).

It runs the same in one process and under ``torchrun`` / ``accelerate launch`` (one rank per
process, gloo on CPU, nccl on GPU): every rank builds the same global micro-batches and takes
its share, and the loss is normalised by the target tokens of the whole step, so the loss curve
does not depend on how the work is split. Only rank 0 writes files and reports.
"""
from __future__ import annotations

import dataclasses
import math
import os
import time
from pathlib import Path

from core.config import EvalConfig, FormatConfig, ModelConfig, TrainConfig, load_yaml, save_yaml
from core.events import CancelToken, Reporter, StageReporter, null_reporter
from core.project import Project, atomic_write_json
from core.train import autoplan, checkpoint
from core.train.packing import Block, batches, collate, loss_sum, pack, packing_efficiency
from core.train.results import TrainError, TrainResult, peak_memory_mb, recorder, versions
from core.train.watch import Watch


def _distributed() -> tuple[int, int]:
    """(rank, world size); joins the process group when launched by torchrun/accelerate."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        import torch
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world


def _shared_run_dir(project: Project, resume: str | None, rank: int, world: int, dry_run: bool) -> Path:
    if dry_run:  # a memory probe leaves nothing in the project
        import tempfile
        return Path(tempfile.mkdtemp(prefix="scriptorium-dry-run-"))
    run_dir = project.run_dir(resume) if resume else (project.new_run_dir() if rank == 0 else None)
    if world > 1 and not resume:
        import torch.distributed as dist
        box = [str(run_dir) if rank == 0 else None]
        dist.broadcast_object_list(box, src=0)
        run_dir = Path(box[0])
    return Path(run_dir)


def _dataset(project: Project, fmt_cfg: FormatConfig, tokenizer, say, cancel: CancelToken, rank: int, world: int):
    """Rank 0 builds the dataset (generating qa/paraphrase samples if needed); other ranks then read it.

    One writer only: several ranks generating the same missing samples would race on one file."""
    from core.formats import build_dataset

    if rank == 0:
        write_exam_first(project, say, cancel)
    data = build_dataset(project, fmt_cfg, tokenizer, say, cancel) if rank == 0 else None
    if world > 1:
        import torch.distributed as dist
        dist.barrier()
        if rank != 0:
            read_only = CancelToken()
            read_only.cancel()  # a cancelled token makes generation a no-op: use what rank 0 wrote
            data = build_dataset(project, fmt_cfg, tokenizer, None, read_only)
    if cancel.cancelled:
        raise TrainError(f"Stopped while preparing the {fmt_cfg.format} samples, before training began. "
                         f"Every finished sample is kept and reused when you start again.")
    return data


def write_exam_first(project: Project, say, cancel: CancelToken) -> None:
    """The exam is written before the training samples are built, so that no exam question or its answer
    sentence can become a training Q&A pair. A failure to write it never blocks training: the run is
    then checked on the general probes only (and says so)."""
    from core.evaluate.job import ensure_exam
    from core.events import Cancelled

    from core.evaluate.fit import language_fit, warnings_of

    try:
        ensure_exam(project, project.settings("evaluate"), say, cancel)
    except Cancelled:
        raise TrainError("Stopped while writing the exam, before training began") from None
    except Exception as exc:  # noqa: BLE001 — the exam is a report about training, not a prerequisite
        say.warning(f"The exam could not be written ({exc}); this run is checked on the general questions only")
    try:  # a book in a language the base model does not know cannot be learned: say so before the hours go in
        for message in warnings_of(language_fit(project, report=say)):
            say.warning(message)
    except Exception as exc:  # noqa: BLE001 — a check, never a reason to stop
        say.log(f"Could not check the books' language against the base model ({exc})")


def evaluate(model, blocks: list[Block], device: str, batch_size: int, autocast) -> float | None:
    """Token-weighted mean loss over the held-out blocks."""
    import torch

    if not blocks:
        return None
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad(), autocast():
        for i in range(0, len(blocks), batch_size):
            s, n = loss_sum(model, collate(blocks[i:i + batch_size], device))
            total, count = total + float(s), count + n
    model.train()
    return total / max(count, 1)


def train(project: Project, model_cfg: ModelConfig, fmt_cfg: FormatConfig, cfg: TrainConfig,
          report: Reporter | None = None, cancel: CancelToken | None = None, resume: str | None = None,
          dry_run: bool = False, eval_cfg: EvalConfig | None = None) -> TrainResult:
    import contextlib

    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    from core.formats import encode
    from core.models import load_model, load_tokenizer, resolve
    from core.train.fused import fuse_lora_updates, reuse_freed_memory, skip_lora_input_casts, use_packed_attention
    from core.train.precision import plan as make_plan

    cancel = cancel or CancelToken()
    rank, world = _distributed()
    run_dir = _shared_run_dir(project, resume, rank, world, dry_run)
    if resume:  # the run's own recipe wins: a resumed run continues exactly what was started
        saved = load_yaml(run_dir / "config.yaml")
        model_cfg, fmt_cfg, cfg = saved["model"], saved["format"], saved["train"]
        eval_cfg = saved.get("evaluate", eval_cfg)
    eval_cfg = eval_cfg if eval_cfg is not None else project.settings("evaluate")
    say = StageReporter(recorder(run_dir, report) if rank == 0 else null_reporter, "train")
    if rank == 0 and not resume:
        save_yaml(run_dir / "config.yaml", {"model": model_cfg, "format": fmt_cfg, "train": cfg, "evaluate": eval_cfg})
    say.log(f"Run folder: {run_dir}", run_dir=str(run_dir), pid=os.getpid())

    # 1. Model source and data, packed into blocks
    resolved = resolve(model_cfg.source, say)
    tokenizer = load_tokenizer(resolved)
    data = _dataset(project, fmt_cfg, tokenizer, say, cancel, rank, world)
    built = (data.meta or {}).get("format") or {}
    if rank == 0 and not resume and built and (built["parts"], built["replay"]) != (fmt_cfg.parts, fmt_cfg.replay):
        # the recipe fell back (an unfaithful writer model): the run records what it really trained on
        fmt_cfg = dataclasses.replace(fmt_cfg, parts=built["parts"], replay=built["replay"])
        save_yaml(run_dir / "config.yaml", {"model": model_cfg, "format": fmt_cfg, "train": cfg, "evaluate": eval_cfg})
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    encoded = [{**e, "replay": s.get("kind") == "replay"} for s, e in
               ((s, encode(s, tokenizer, cfg.max_seq_len)) for s in data.train)
               if any(label != -100 for label in e["labels"][1:])]
    if not encoded:
        raise TrainError("no training samples left after cutting to max_seq_len; raise max_seq_len")
    as_blocks = (lambda xs: pack(xs, cfg.max_seq_len, pad_id)) if cfg.packing else _unpacked
    blocks = as_blocks(encoded)
    eval_blocks = as_blocks([encode(s, tokenizer, cfg.max_seq_len) for s in data.eval])
    cfg, why = autoplan.plan(cfg, fmt_cfg.format, sum(b.used for b in blocks), world)
    if why:
        say.log(why)
    steps = cfg.steps if cfg.epochs <= 0 else max(1, math.ceil(cfg.epochs * len(blocks) / (cfg.batch_size * cfg.grad_accum)))
    if cfg.batch_size < world:
        raise TrainError(f"batch_size {cfg.batch_size} is smaller than the {world} processes; raise batch_size")
    if rank == 0:
        atomic_write_json(run_dir / "run.json", {
            "model": resolved.to_dict(), "format": fmt_cfg.format, "dataset_fingerprint": data.meta["fingerprint"],
            "chat_template": data.meta["chat_template"], "stop_tokens": data.meta["stop_tokens"],
            "system_prompt": fmt_cfg.system_prompt, "samples": len(encoded), "blocks": len(blocks),
            "packing_efficiency": round(packing_efficiency(blocks), 4), "steps": steps, "world_size": world,
            "plan": why or "manual", "planned": {k: getattr(cfg, k) for k in ("steps", "lr", "lora_r", "lora_alpha",
                                                                              "eval_every")},
            "pid": os.getpid(), "versions": versions()})

    # 2. Device, precision, base model, LoRA
    plan = make_plan(cfg)
    device = plan.device if world == 1 or plan.device != "cuda" else f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
    say.log(f"Training plan: {plan.describe()}. {len(encoded)} samples in {len(blocks)} blocks "
            f"({packing_efficiency(blocks):.0%} real tokens), {len(eval_blocks)} held-out, {steps} steps")
    if cfg.dora:
        say.warning("DoRA adapters cannot be exported to llama.cpp/Ollama (only merged in transformers)")
    torch.manual_seed(cfg.seed)
    model = load_model(resolved, device, plan.quantization,
                       dtype=torch.bfloat16 if plan.autocast == "bfloat16" and device == "cpu" else None)
    if plan.quantization == "nf4":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=plan.gradient_checkpointing)
    elif plan.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    reuse_freed_memory()
    if use_packed_attention(model, cfg.max_seq_len):
        say.log("Attention runs per packed sample (no cross-sample mask to compute)")
    targets = cfg.target_modules if cfg.target_modules == "all-linear" else [
        t.strip() for t in cfg.target_modules.split(",") if t.strip()]
    model = get_peft_model(model, LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                                             target_modules=targets, use_rslora=cfg.rslora, use_dora=cfg.dora,
                                             task_type="CAUSAL_LM"))
    for p in model.parameters():  # trainable LoRA weights stay fp32 even on a bf16 base
        if p.requires_grad:
            p.data = p.data.float()
    fuse_lora_updates(model)
    if plan.autocast:
        skip_lora_input_casts(model)
    peft_model = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel
        model = DistributedDataParallel(model, device_ids=[device] if device.startswith("cuda") else None)
    params = [p for p in model.parameters() if p.requires_grad]
    if plan.optimizer == "paged_adamw_8bit":
        import bitsandbytes as bnb  # optimizer state can page to CPU instead of an OOM
        optimizer = bnb.optim.PagedAdamW8bit(params, lr=cfg.lr, weight_decay=0.0)
    else:
        optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _WarmupCosine(min(cfg.warmup_steps, steps - 1), steps))
    autocast = (lambda: torch.autocast(device.split(":")[0], dtype=getattr(torch, plan.autocast))) \
        if plan.autocast else contextlib.nullcontext

    # 3. Resume: model, optimizer, scheduler, RNG and data position
    state = {"step": 0, "micro_batches": 0, "best_eval": None, "bad_evals": 0, "split": 1}
    last = checkpoint.latest(run_dir) if resume else None
    if last is not None:
        state.update(checkpoint.load(last, peft_model, optimizer, scheduler))
        say.log(f"Resumed from {last.name}: continuing at step {state['step'] + 1}")
    elif resume:
        say.warning("No checkpoint in this run yet; starting it from step 1")

    # 4. The exam and general questions checked at every evaluation (base answers first)
    watch = Watch.start(project, eval_cfg, cfg, data, peft_model, tokenizer, device, autocast, plan.autocast,
                        say, cancel, run_dir) if rank == 0 and not dry_run and world == 1 else None

    # 5. The loop
    model.train()
    stream = batches(blocks, cfg.batch_size, cfg.seed, start=state["micro_batches"])
    first_loss = last_loss = eval_loss = None
    cancelled, stopped_early, started, seen = False, False, time.time(), 0
    start_step = state["step"]
    while state["step"] < steps:
        if cancel.cancelled:
            cancelled = True
            say.warning(f"Cancelled at step {state['step']}; saving the adapter and a checkpoint")
            break
        global_batches = [next(stream) for _ in range(cfg.grad_accum)]
        state["micro_batches"] += cfg.grad_accum
        targets_in_step = sum(b.target_tokens for gb in global_batches for b in gb)
        step_sum = _step(model, global_batches, rank, world, device, autocast, targets_in_step, state, say,
                         cfg.kl_weight if world == 1 else 0.0)
        if world > 1:
            import torch.distributed as dist
            box = torch.tensor([step_sum], dtype=torch.float64)
            dist.all_reduce(box)
            step_sum = float(box[0])
        step_loss = step_sum / max(targets_in_step, 1)
        if not math.isfinite(step_loss):
            good = checkpoint.latest(run_dir)
            raise TrainError(f"loss became {step_loss} at step {state['step'] + 1}; lower the learning rate. "
                             f"Last good checkpoint: {good or 'none yet'}")
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, 1.0))
        lr_used = optimizer.param_groups[0]["lr"]  # the rate this step ran at (the scheduler moves on next)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        state["step"] += 1
        seen += sum(b.used for gb in global_batches for b in gb)
        first_loss = step_loss if first_loss is None else first_loss
        last_loss = step_loss
        elapsed = time.time() - started
        done_here = state["step"] - start_step
        say.metric(step=state["step"], loss=round(step_loss, 5), lr=lr_used,
                   grad_norm=round(grad_norm, 4), tokens_per_s=round(seen / max(elapsed, 1e-9), 1),
                   eta_s=round(elapsed / done_here * (steps - state["step"]), 1), **peak_memory_mb())
        if (cfg.eval_every and state["step"] % cfg.eval_every == 0) or state["step"] == steps:
            eval_loss = evaluate(peft_model, eval_blocks, device, cfg.batch_size, autocast)
            if eval_loss is not None:
                say.metric(step=state["step"], eval_loss=round(eval_loss, 5))
                stopped_early = _early_stop(state, eval_loss, cfg.early_stop)
            if watch is not None:
                stopped_early = watch.check(state["step"], eval_loss, peft_model, run_dir) or stopped_early
        if rank == 0 and not dry_run and cfg.save_every and state["step"] % cfg.save_every == 0:
            _checkpoint(run_dir, peft_model, optimizer, scheduler, state, say)
        say.progress(state["step"], steps, f"step {state['step']}/{steps} loss {step_loss:.3f}")
        if stopped_early:
            say.log(watch.stop_reason if watch is not None and watch.stop_reason else
                    f"Early stop: eval loss did not improve for {cfg.early_stop} evaluations")
            break

    if rank == 0 and not dry_run:
        _checkpoint(run_dir, peft_model, optimizer, scheduler, state, say)
        peft_model.save_pretrained(run_dir / "adapter")
        tokenizer.save_pretrained(run_dir / "adapter")
    best = watch.finish(run_dir, state["step"], cfg.keep_best) if watch is not None else None
    result = TrainResult(run_dir, run_dir / "adapter", state["step"], first_loss, last_loss, eval_loss, cancelled,
                         stopped_early, best)
    if rank == 0:
        atomic_write_json(run_dir / "summary.json", result.summary())
        say.log(f"Adapter saved to {result.adapter_dir}")
    return result


def _unpacked(samples: list[dict]) -> list[Block]:
    return [Block(s["input_ids"], [-100] + s["labels"][1:], list(range(len(s["input_ids"]))), len(s["input_ids"]))
            for s in samples]


def _step(model, global_batches, rank, world, device, autocast, targets_in_step, state, say,
          kl_weight: float = 0.0) -> float:
    """Forward/backward of one optimizer step; on CUDA OOM, split micro-batches in two and retry."""
    import torch

    while True:
        try:
            total = 0.0
            for gb in global_batches:
                local = gb[rank::world]
                size = max(1, math.ceil(len(local) / state["split"]))
                for i in range(0, len(local), size):
                    with autocast():
                        batch = collate(local[i:i + size], device)
                        s, _n = loss_sum(model, batch, kl_weight) if kl_weight else loss_sum(model, batch)
                    (s * world / max(targets_in_step, 1)).backward()  # DDP averages over ranks
                    total += float(s.detach())
            return total
        except torch.cuda.OutOfMemoryError:
            model.zero_grad(set_to_none=True)
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            if max(len(gb[rank::world]) for gb in global_batches) <= state["split"]:
                raise TrainError("out of memory even with one block per micro-batch; lower max_seq_len") from None
            state["split"] *= 2
            say.warning(f"Out of GPU memory: halving the micro-batch and doubling accumulation "
                        f"(now {state['split']} pieces per micro-batch) and retrying the step")


class _WarmupCosine:
    """LR factor for optimizer step i (0-based): linear warm-up that never spends a step at lr 0, then cosine.

    transformers' schedule gives the first step a factor of 0, so a short run wastes a step."""

    def __init__(self, warmup: int, total: int) -> None:
        self.warmup, self.total = max(0, warmup), max(1, total)

    def __call__(self, i: int) -> float:
        if i < self.warmup:
            return (i + 1) / (self.warmup + 1)
        progress = (i - self.warmup) / max(1, self.total - self.warmup)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))))


def _early_stop(state: dict, eval_loss: float, patience: int) -> bool:
    if state["best_eval"] is None or eval_loss < state["best_eval"] - 1e-4:
        state["best_eval"], state["bad_evals"] = eval_loss, 0
        return False
    state["bad_evals"] += 1
    return bool(patience) and state["bad_evals"] >= patience


def _checkpoint(run_dir, model, optimizer, scheduler, state, say) -> None:
    try:
        path = checkpoint.save(run_dir, model, optimizer, scheduler, dict(state))
        say.log(f"Checkpoint saved: {path.name}")
    except checkpoint.CheckpointError as exc:
        say.error(str(exc))
