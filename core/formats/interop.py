"""Interop: a built dataset in the layouts other fine-tuning tools read without changes.

- ``alpaca``   ``{"instruction", "input", "output"}`` (+ ``"system"``) — LLaMA-Factory's default,
  Axolotl ``type: alpaca``.
- ``sharegpt`` ``{"conversations": [{"from": "system"|"human"|"gpt", "value"}]}`` — LLaMA-Factory
  ``formatting: sharegpt``, Axolotl ``chat_template`` with the sharegpt field mapping.
- ``messages`` ``{"messages": [{"role", "content"}]}`` — OpenAI fine-tuning, TRL ``SFTTrainer``,
  Axolotl ``chat_template``.
- ``text``     ``{"text"}`` — the exact training text, for continued pre-training tools.
- a ``datasets`` folder (``save_to_disk``): train/test splits with ``prompt``/``completion``
  (TRL's prompt-completion layout: loss on the completion only) plus ``messages`` where the
  format is a conversation.

Every layout but ``text`` needs a prompt and an answer; the prompt-less formats (plain, markdown,
json, yaml) have only the text, so exporting them as a conversation is refused with a message
instead of inventing an instruction the model was never trained with.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from core.formats.builder import load_dataset_meta, load_samples
from core.project import Project, ProjectError, write_jsonl

CONVENTIONS = ("alpaca", "sharegpt", "messages", "text")


class ExportFormatError(ValueError):
    """The dataset cannot be written in the asked layout; the message says why and what works."""


def _strip_stops(text: str, stops: list[str]) -> str:
    """The answer without the EOS / end-of-turn tokens rendering added (tools add their own)."""
    text = text.rstrip("\n")
    changed = True
    while changed:
        changed = False
        for stop in stops:
            if stop and text.endswith(stop):
                text, changed = text[: -len(stop)].rstrip("\n"), True
    return text


def conversation(row: dict, stops: list[str]) -> list[dict]:
    """The sample as role/content turns (system first when there is one)."""
    if row.get("messages"):
        return [dict(m) for m in row["messages"]]
    if "instruction" in row:
        user = row["instruction"] + (f"\n\n{row['input']}" if row.get("input") else "")
        return [{"role": "user", "content": user}, {"role": "assistant", "content": row["output"]}]
    if not row.get("prompt"):
        raise ExportFormatError("this format has no prompt part (plain text for continued pre-training); "
                                "export it with --export-jsonl text or as a datasets folder")
    # custom templates: the rendered prompt is the user turn, verbatim
    return [{"role": "user", "content": row["prompt"]},
            {"role": "assistant", "content": _strip_stops(row["completion"], stops)}]


def to_alpaca(row: dict, stops: list[str]) -> dict:
    if "instruction" in row:
        return {"instruction": row["instruction"], "input": row.get("input", ""), "output": row["output"]}
    turns = conversation(row, stops)
    system = [t["content"] for t in turns if t["role"] == "system"]
    user = [t for t in turns if t["role"] != "system"]
    out = {"instruction": user[0]["content"], "input": "", "output": user[-1]["content"]}
    return {**out, "system": system[0]} if system else out


def to_sharegpt(row: dict, stops: list[str]) -> dict:
    names = {"system": "system", "user": "human", "assistant": "gpt"}
    return {"conversations": [{"from": names[t["role"]], "value": t["content"]} for t in conversation(row, stops)]}


def to_messages(row: dict, stops: list[str]) -> dict:
    return {"messages": conversation(row, stops)}


def to_text(row: dict, stops: list[str]) -> dict:
    return {"text": row["prompt"] + row["completion"]}


CONVERTERS = {"alpaca": to_alpaca, "sharegpt": to_sharegpt, "messages": to_messages, "text": to_text}


def _built(project: Project, fmt: str) -> tuple[list[dict], dict]:
    rows, meta = load_samples(project, fmt), load_dataset_meta(project, fmt)
    if not rows or not meta:
        raise ProjectError(f"{project.root}: no built {fmt} dataset; run "
                           f"`python main.py format --project {project.root} --format {fmt}` first")
    return rows, meta


def export_jsonl(project: Project, fmt: str, convention: str, out: Path | str | None = None) -> dict:
    """Write the train split to ``out`` (default ``datasets/<fmt>/<convention>.jsonl``) and the
    held-out split next to it as ``<name>.eval.jsonl``; returns paths and counts."""
    if convention not in CONVERTERS:
        raise ExportFormatError(f"{convention}: choose one of {', '.join(CONVENTIONS)}")
    rows, meta = _built(project, fmt)
    stops = meta.get("stop_tokens") or []
    convert = CONVERTERS[convention]
    out = Path(out).expanduser() if out else project.dataset_dir(fmt) / f"{convention}.jsonl"
    train = [convert(r, stops) for r in rows if r["split"] == "train"]
    held = [convert(r, stops) for r in rows if r["split"] == "eval"]
    write_jsonl(out, train)
    eval_path = out.with_name(out.stem + ".eval" + out.suffix) if held else None
    if eval_path:
        write_jsonl(eval_path, held)
    return {"convention": convention, "path": str(out), "samples": len(train),
            "eval_path": str(eval_path) if eval_path else None, "eval_samples": len(held)}


def export_datasets(project: Project, fmt: str, out: Path | str | None = None) -> dict:
    """Save a ``datasets.DatasetDict`` (train, test) folder; ``datasets.load_from_disk`` reads it."""
    from datasets import Dataset, DatasetDict

    rows, meta = _built(project, fmt)
    stops = meta.get("stop_tokens") or []
    conversational = all(r.get("messages") or "instruction" in r for r in rows)

    def table(split: str) -> Dataset:
        part = [r for r in rows if r["split"] == split]
        columns = {"prompt": [r["prompt"] for r in part], "completion": [r["completion"] for r in part],
                   "doc_id": [r["doc_id"] for r in part], "chunk": [int(r["chunk"]) for r in part]}
        if conversational:
            columns["messages"] = [conversation(r, stops) for r in part]
        return Dataset.from_dict(columns)

    out = Path(out).expanduser() if out else project.dataset_dir(fmt) / "hf"
    splits = {"train": table("train")}
    if any(r["split"] == "eval" for r in rows):
        splits["test"] = table("eval")
    # Saved beside and swapped in: a rebuilt folder never mixes in shards of the previous one.
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    DatasetDict(splits).save_to_disk(str(tmp))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return {"path": str(out), **{name: len(d) for name, d in splits.items()}, "messages": conversational}
