"""Which format settings matter for the goal and format chosen (the Format page shows those first).

The Format page used to show every field of every format at once. Now the goal comes first, and
under it only the settings the chosen format reads, most important first; everything else waits
under "All settings". This module is the rule, kept apart from the widgets so it can be read and
tested on its own. It knows FormatConfig's field names only; the help texts stay in core.config.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from core.config import FormatConfig
from gui.i18n import tr

# What each format reads (core/formats/renderers.py, knowledge.py, generate.py), most important first.
BY_FORMAT: dict[str, tuple[str, ...]] = {
    "knowledge": ("writer", "restatements", "qa_pairs", "source_prefix", "replay", "system_prompt"),
    "chat": ("system_prompt", "user_prompt", "replay"),
    "plain": ("replay",),
    "markdown": ("replay",),
    "json": ("replay",),
    "yaml": ("replay",),
    "instruction": ("instruction_tasks", "replay"),
    # qa and paraphrase are written by the base model: core's generate() does not read ``writer`` (yet)
    "qa": ("qa_pairs", "qa_answers", "system_prompt", "replay"),
    "paraphrase": ("system_prompt", "user_prompt", "replay"),
    "custom": ("template", "template_prompt", "replay"),
}
SPLIT = ("split_by", "eval_fraction")   # held-out text, for every format (the knowledge goal: none by default)
USES_WRITER = tuple(fmt for fmt, names in BY_FORMAT.items() if "writer" in names)   # formats the writer writes


def relevant(goal: str, fmt: str) -> list[str]:
    """The fields shown under the goal, in order; the knowledge goal fixes the format, the others let it be chosen."""
    names = [] if goal == "knowledge" else ["format"]
    return names + list(BY_FORMAT.get(fmt, ())) + list(SPLIT)


def others(goal: str, fmt: str) -> list[str]:
    """The fields left for "All settings", in FormatConfig's order."""
    shown = set(relevant(goal, fmt))
    return [f.name for f in dataclasses.fields(FormatConfig) if f.name not in shown]


def writer_problem(text: str) -> str:
    """Why the writer model cannot be used as given ('' when it can: empty means the base model)."""
    text = text.strip()
    if not text or text == "embedded":   # the base model / the embedded model: nothing to check
        return ""
    path = Path(text).expanduser()
    if not path.exists():
        return tr("The writer model {path} does not exist. Choose a .gguf file or a Hugging Face model folder, or "
                  "leave it empty to use the base model.", path=text)
    if path.is_file() and path.suffix.lower() != ".gguf":
        return tr("The writer model {path} is not a .gguf file.", path=text)
    if path.is_dir() and not (path / "config.json").exists():
        return tr("The writer model folder {path} has no config.json: it is not a Hugging Face model folder.",
                  path=text)
    return ""
