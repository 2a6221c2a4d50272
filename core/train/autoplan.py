"""The right amount of training, chosen for the data and the goal (``TrainConfig.plan = "auto"``).

A small book and a shelf of novels need very different runs; a fixed "60 steps" overfits the
first and barely touches the second. The plan sizes the run in passes over the training tokens
(epochs), picks a learning rate and LoRA shape known to work for the goal, and spreads the
evaluation points so the best checkpoint can be found and the run stopped when the exam stops
rising (``exam_patience``). Everything it chose is returned with a sentence saying why, which the
run writes to its log and run.json. The numbers come from the ablations measured on the embedded
model (DESIGN.md); a bigger base model takes the same plan.
"""
from __future__ import annotations

import dataclasses
import math

from core.config import TrainConfig

# goal → (passes over the training tokens, learning rate, LoRA rank, alpha)
PLANS = {
    "knowledge": (8.0, 5e-4, 16, 32),
    "style": (3.0, 3e-4, 16, 32),
}
MIN_STEPS, MAX_STEPS = 20, 3000
# the presets: how many of the goal's passes they make (quick: a first look; thorough: more, found best by the exam)
PRESETS = {"quick": (1 / 3, "a quick try"), "auto": (1.0, "balanced"), "thorough": (2.0, "thorough")}
EVAL_POINTS = 8


def goal_for_format(fmt: str) -> str:
    return "knowledge" if fmt == "knowledge" else "style"


def plan(cfg: TrainConfig, fmt: str, train_tokens: int, world: int = 1) -> tuple[TrainConfig, str]:
    """The settings this run should use and why; ``cfg`` unchanged when its plan is manual."""
    if cfg.plan not in PRESETS:
        return cfg, ""
    goal = goal_for_format(fmt)
    epochs, lr, rank, alpha = PLANS[goal]
    scale, preset = PRESETS[cfg.plan]
    epochs = round(epochs * scale, 2)
    per_step = cfg.batch_size * cfg.grad_accum * cfg.max_seq_len
    steps = max(MIN_STEPS if cfg.plan != "quick" else MIN_STEPS // 2,
                min(MAX_STEPS, math.ceil(epochs * train_tokens / per_step)))
    every = max(5, steps // EVAL_POINTS)
    chosen = dataclasses.replace(cfg, steps=steps, epochs=0.0, lr=lr, lora_r=rank, lora_alpha=alpha,
                                 target_modules="all-linear", eval_every=every,
                                 save_every=every if cfg.save_every else 0, warmup_steps=min(cfg.warmup_steps,
                                                                                            steps // 10 or 1))
    capped = " (capped)" if steps in (MIN_STEPS, MIN_STEPS // 2, MAX_STEPS) else ""
    why = (f"Plan for the {goal} goal ({preset}): {train_tokens} training tokens × {epochs:g} passes ÷ {per_step} tokens per "
           f"step = {steps} steps{capped}; learning rate {lr:g}, LoRA rank {rank} (alpha {alpha}) on all linear "
           f"layers; evaluated every {every} steps" + (f", stopping when the exam has not improved for "
                                                       f"{cfg.exam_patience} evaluations" if cfg.exam_patience else ""))
    return chosen, why
