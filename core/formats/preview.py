"""Preview: the first samples exactly as the model will see them, and the lengths of all of them.

A sample is shown as the decoded token ids that training feeds the model — special tokens
visible, a BOS the tokenizer adds included — with ``▶`` where the loss starts and ``✂`` where
``max_len`` cuts. The statistics cover every sample: token counts, a length histogram, and how
many tokens (and samples) the cut loses. The CLI and the GUI both show what this returns.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field

from core.config import GENERATED_FORMATS, FormatConfig
from core.events import CancelToken, Reporter
from core.formats.renderers import encode
from core.project import Project

LOSS_STARTS = "▶"
CUT_HERE = "✂"


@dataclass
class SampleView:
    text: str                 # decoded ids, with the two marks
    tokens: int               # before the cut
    prompt_tokens: int
    completion_tokens: int
    cut_tokens: int           # lost to max_len
    split: str = ""
    doc_id: str = ""
    chunk: int = 0


@dataclass
class Preview:
    format: str
    max_len: int
    samples: list[SampleView]
    stats: dict
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def view_sample(sample: dict, tokenizer, max_len: int) -> SampleView:
    """One sample as token ids decoded back, marked where the loss starts and where the cut is."""
    whole = encode(sample, tokenizer, 1 << 30)
    ids, labels = whole["input_ids"], whole["labels"]
    start = next((i for i, label in enumerate(labels) if label != -100), len(ids))
    marks = sorted({(start, LOSS_STARTS), (min(max_len, len(ids)), CUT_HERE if len(ids) > max_len else "")})
    pieces, last = [], 0
    for pos, mark in marks:
        pieces.append(tokenizer.decode(ids[last:pos], skip_special_tokens=False) + mark)
        last = pos
    pieces.append(tokenizer.decode(ids[last:], skip_special_tokens=False))
    return SampleView("".join(pieces), len(ids), start, len(ids) - start, max(0, len(ids) - max_len),
                      sample.get("split", ""), sample.get("doc_id", ""), sample.get("chunk", 0))


def histogram(lengths: list[int], max_len: int, below: int = 8, most: int = 16) -> list[dict]:
    """Equal-width bins ``from < tokens ≤ to`` with ``max_len`` on an edge (``below`` bins under
    it), so a bin is either kept whole or cut; at most ``most`` bins, the last one open-ended
    (``to`` None) when the longest sample lies beyond it."""
    width = max(1, math.ceil(max_len / below))
    top = max(lengths, default=0)
    bins = max(below, min(most, math.ceil(top / width)))
    counts = [0] * bins
    for n in lengths:
        counts[min(max(n - 1, 0) // width, bins - 1)] += 1
    return [{"from": i * width, "to": None if i == bins - 1 and top > bins * width else (i + 1) * width,
             "count": c} for i, c in enumerate(counts)]


def histogram_text(hist: list[dict], max_len: int, width: int = 30) -> str:
    """The histogram as text bars; bins at or past max_len are marked (those samples are cut)."""
    peak = max((b["count"] for b in hist), default=0) or 1
    lines = []
    for b in hist:
        bar = "█" * round(width * b["count"] / peak)
        note = f"  {CUT_HERE} cut" if b["from"] >= max_len and b["count"] else ""
        span = f"{b['from']:>6}–{b['to'] if b['to'] is not None else '':<6}"
        lines.append(f"{span} {bar} {b['count']}{note}")
    return "\n".join(lines)


def length_stats(views: list[SampleView], max_len: int) -> dict:
    lengths = [v.tokens for v in views]
    return {"samples": len(views), "tokens": sum(lengths),
            "trained_tokens": sum(min(v.tokens, max_len) - min(v.prompt_tokens, max_len) for v in views),
            "min": min(lengths, default=0), "median": statistics.median(lengths) if lengths else 0,
            "mean": round(statistics.fmean(lengths), 1) if lengths else 0, "max": max(lengths, default=0),
            "cut_samples": sum(v.cut_tokens > 0 for v in views), "cut_tokens": sum(v.cut_tokens for v in views),
            # train() drops these: the cut leaves no answer token to learn from
            "no_answer_after_cut": sum(v.prompt_tokens >= max_len for v in views),
            "histogram": histogram(lengths, max_len)}


def preview_rows(rows: list[dict], tokenizer, fmt: str, n: int = 3, max_len: int = 512) -> Preview:
    """Preview of already rendered rows (corpus order): the first ``n`` shown, stats over all."""
    views = [view_sample(r, tokenizer, max_len) for r in rows]
    return Preview(fmt, max_len, views[:n], length_stats(views, max_len))


def preview(project: Project, config: FormatConfig, tokenizer, n: int = 3, max_len: int = 512,
            report: Reporter | None = None, cancel: CancelToken | None = None, generator=None) -> Preview:
    """Render the current settings without writing a dataset.

    For qa/paraphrase the base model writes samples for the first ``n`` chunks only (kept on disk
    and reused by the real build); the statistics cover every chunk generated so far.
    """
    from core.formats.builder import eval_positions, prepare_chunks, render_rows
    from core.project import ProjectError

    chunks = prepare_chunks(project)
    if not chunks:
        raise ProjectError("the corpus is empty: add files first")
    held = eval_positions(chunks, config)
    notes, records = [], None
    if config.format in GENERATED_FORMATS:
        from core.formats.generate import generate, load_generated

        result = generate(project, config, chunks[:n], generator, report, cancel)
        records = load_generated(project, config, result.model_id)
        covered = sum(1 for c in chunks if f"{c['doc_id']}:{c.get('chunk', 0)}" in records)
        notes.append(f"{covered} of {len(chunks)} chunks generated so far; the statistics cover those")
    rows, dropped = render_rows(chunks, config, tokenizer, held, records)
    if dropped:
        notes.append("dropped: " + ", ".join(f"{k} {why}" for why, k in dropped.most_common()))
    result = preview_rows(rows, tokenizer, config.format, n, max_len)
    result.stats["dropped"] = dict(dropped)
    result.notes = notes
    return result


def preview_text(result: Preview) -> str:
    """Human-readable preview (CLI output; the GUI shows the same parts in its own widgets)."""
    s = result.stats
    blocks = [f"── sample {i + 1} ({v.tokens} tokens: {v.prompt_tokens} prompt, {v.completion_tokens} answer"
              f"{f', {v.cut_tokens} cut' if v.cut_tokens else ''}) ──\n{v.text}" for i, v in enumerate(result.samples)]
    blocks.append(f"{s['samples']} samples, {s['tokens']} tokens (median {s['median']}, max {s['max']}); "
                  f"max length {result.max_len} cuts {s['cut_tokens']} tokens from {s['cut_samples']} samples")
    blocks.append(histogram_text(s["histogram"], result.max_len))
    blocks.extend(result.notes)
    return "\n\n".join(blocks)
