"""The format stage: render every corpus chunk, split train/eval, store it with its chat template.

Writes ``datasets/<format>/samples.jsonl`` and ``meta.json``. The meta keeps the chat template,
EOS and stop tokens used, so chat and export later render prompts exactly as in training.
"""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

from core.config import FormatConfig, to_dict
from core.events import Reporter, StageReporter
from core.formats.renderers import RENDERERS
from core.ingest.pipeline import load_chunks
from core.project import Project, ProjectError, atomic_write_json, read_jsonl, write_jsonl


@dataclass
class BuiltDataset:
    folder: Path
    train: list[dict]
    eval: list[dict]
    meta: dict


def split_indices(n: int, fraction: float, seed: int) -> set[int]:
    """Deterministic held-out chunk indices; none when there are too few chunks to spare one."""
    if fraction <= 0 or n < 4:
        return set()
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return set(order[:max(1, round(n * fraction))])


def stop_tokens(tokenizer) -> list[str]:
    stops = [tokenizer.eos_token] if tokenizer.eos_token else []
    for token in ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>"):
        if token in tokenizer.get_vocab() and token not in stops:
            stops.append(token)
    return stops


def build_dataset(project: Project, config: FormatConfig, tokenizer, report: Reporter | None = None) -> BuiltDataset:
    say = StageReporter(report, "format")
    chunks = load_chunks(project)
    if not chunks:
        raise ProjectError(f"{project.root}: the corpus is empty; add files first "
                           f"(`python main.py ingest FILE --project {project.root}`)")
    render = RENDERERS[config.format]
    held_out = split_indices(len(chunks), config.eval_fraction, config.split_seed)
    rows = []
    for i, chunk in enumerate(chunks):
        sample = render(chunk, config, tokenizer)
        rows.append({"split": "eval" if i in held_out else "train", "doc_id": chunk["doc_id"],
                     "chunk": chunk["chunk"], **sample})
    folder = project.dataset_dir(config.format)
    write_jsonl(folder / "samples.jsonl", rows)
    fingerprint = hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()[:16]
    meta = {"format": to_dict(config), "chat_template": tokenizer.chat_template, "eos_token": tokenizer.eos_token,
            "stop_tokens": stop_tokens(tokenizer), "samples": len(rows), "eval_samples": len(held_out),
            "fingerprint": fingerprint}
    atomic_write_json(folder / "meta.json", meta)
    say.log(f"{config.format}: {len(rows) - len(held_out)} training and {len(held_out)} held-out samples")
    return BuiltDataset(folder, [r for r in rows if r["split"] == "train"], [r for r in rows if r["split"] == "eval"], meta)


def load_dataset_meta(project: Project, fmt: str) -> dict:
    path = project.dataset_dir(fmt) / "meta.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def load_samples(project: Project, fmt: str) -> list[dict]:
    return list(read_jsonl(project.dataset_dir(fmt) / "samples.jsonl"))
