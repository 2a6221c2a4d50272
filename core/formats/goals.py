"""What the user wants decides the recipe: know the facts of the books, or write like them.

The Format step (and ``--goal`` on the CLI) asks this first. Each goal is a preset over the
format and training settings — a starting point the user can still change field by field:

- ``knowledge`` — "Know the facts in my books": the knowledge format (each chunk with its book
  and chapter, restatements, questions answered by the book's own sentences), replay of the base
  model's own answers so it keeps what it knew, and a training plan sized to the data that stops
  when the exam stops rising. Slower to prepare (the writer model works first); the model answers
  questions about the books, in its own usual style. With a writer model whose restatements fail the
  faithfulness checks (the embedded 135M one's do) it trains on the text with its source only, no
  replay (``FormatConfig.weak_writer``): on three manuals that taught as many facts in far less time.
- ``style`` — "Write like my books": the chunks as chat answers (today's recipe), a little replay,
  a shorter plan. Fast to prepare; the model takes on the books' voice and vocabulary but will not
  reliably answer questions about their facts.
- ``custom`` — the settings as the user left them.
"""
from __future__ import annotations

import dataclasses

from core.config import ConfigError, FormatConfig, TrainConfig

GOALS = ("knowledge", "style", "custom")
DESCRIPTIONS = {
    "knowledge": ("Know the facts in my books",
                  "The model learns what your books say and answers questions about them; it keeps its general "
                  "knowledge. Preparing the data takes longer (restatements and questions are written first)."),
    "style": ("Write like my books",
              "The model takes on your books' voice and vocabulary. Fast to prepare, but it will not reliably "
              "answer questions about the facts in them."),
    "custom": ("Custom format", "Choose the format and every setting yourself."),
}
FORMAT_PRESETS = {
    "knowledge": {"format": "knowledge", "restatements": 4, "qa_pairs": 8, "source_prefix": True, "replay": 0.25,
                  "eval_fraction": 0.0},
    "style": {"format": "chat", "replay": 0.1, "eval_fraction": 0.1},
}
TRAIN_PRESETS = {
    "knowledge": {"plan": "auto", "exam_patience": 3, "keep_best": True},
    "style": {"plan": "auto", "exam_patience": 0, "keep_best": True},
}


def goal_of(fmt: FormatConfig) -> str:
    """The goal a format setting belongs to (for a form that shows the goal first)."""
    if fmt.format == "knowledge":
        return "knowledge"
    if fmt.format == "chat":
        return "style"
    return "custom"


def apply_goal(goal: str, fmt: FormatConfig, train: TrainConfig) -> tuple[FormatConfig, TrainConfig]:
    """The goal's preset laid over the given settings (``custom`` changes nothing)."""
    if goal not in GOALS:
        raise ConfigError(f"goal={goal!r}: choose one of {', '.join(GOALS)}")
    fmt_fields = {f.name for f in dataclasses.fields(FormatConfig)}
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    fmt_changes = {k: v for k, v in FORMAT_PRESETS.get(goal, {}).items() if k in fmt_fields}
    train_changes = {k: v for k, v in TRAIN_PRESETS.get(goal, {}).items() if k in train_fields}
    return dataclasses.replace(fmt, **fmt_changes), dataclasses.replace(train, **train_changes)
