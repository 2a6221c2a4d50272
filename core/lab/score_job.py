"""The data-scoring job: score a project's training samples, rank its books, write a selection.

    lab/scores/<format>/scores.jsonl   one line per training sample (id, book, kind, ppl, IFD)
    lab/scores/<format>/summary.json   per-book table, histograms, the rule and what it kept
    lab/scores/<format>/selection.json the kept sample ids (when a rule is given): train on them
                                       with ``FormatConfig.select`` (``train --select FILE``)

Read top to bottom: load the samples the format built, load the scorer model, score (batched,
with progress and cancel), aggregate per book, select, write. See ``scoring.py`` for the numbers.
"""
from __future__ import annotations

import time
from pathlib import Path

from core.config import ScoreConfig, to_dict
from core.events import CancelToken, Reporter, StageReporter
from core.project import Project, atomic_write_json, write_jsonl


class LabError(RuntimeError):
    """A lab job cannot run as asked; the message says why and what to do."""


def scores_dir(project: Project, fmt: str) -> Path:
    return project.root / "lab" / "scores" / fmt


def score_dataset(project: Project, fmt: str, config: ScoreConfig | None = None, report: Reporter | None = None,
                  cancel: CancelToken | None = None, scorer=None) -> dict:
    """Score the training samples of ``fmt`` (built by ``format`` or a training run); see the module doc."""
    from core.formats.builder import load_samples
    from core.lab.scoring import aggregate, histogram, score_samples, select

    config = config or ScoreConfig()
    cancel = cancel or CancelToken()
    say = StageReporter(report, "lab")
    rows = [r for r in load_samples(project, fmt) if r.get("split") == "train"] \
        if (project.dataset_dir(fmt) / "samples.jsonl").exists() else []
    if not rows:
        raise LabError(f"{project.root}: no '{fmt}' training samples yet — build them first "
                       f"(`python main.py format --project {project.root} --format {fmt}`)")
    started = time.perf_counter()
    scorer = scorer or _load_scorer(project, config, say)
    say.log(f"Scoring {len(rows)} '{fmt}' samples with {getattr(scorer, 'label', 'the base model')}")
    scores = score_samples(rows, scorer, report, cancel, config.max_tokens)
    seconds = time.perf_counter() - started
    titles = _titles(project)
    books = aggregate(scores, titles)
    rule = {"top_percent": config.top_percent or None, "ifd_low": config.ifd_low or None,
            "ifd_high": config.ifd_high or None}
    folder = scores_dir(project, fmt)
    write_jsonl(folder / "scores.jsonl", [s.to_dict() for s in scores])
    summary = {"format": fmt, "samples": len(scores), "seconds": round(seconds, 1),
               "samples_per_s": round(len(scores) / seconds, 2) if seconds else None,
               "scorer": getattr(scorer, "label", ""), "config": to_dict(config), "books": books,
               "histograms": {"ifd": histogram([s.ifd for s in scores if s.ifd is not None], 20, 0.0, 1.5),
                              "ppl": histogram([min(s.ppl, 200.0) for s in scores], 20, 1.0, 200.0)},
               "scores": str(folder / "scores.jsonl")}
    if config.top_percent > 0 or config.ifd_low > 0 or config.ifd_high not in (0.0, 1.0):  # a rule was asked for
        ids = select(scores, config.top_percent or None, config.ifd_low or None, config.ifd_high or None)
        kept = sum(1 for s in scores if s.id in ids)  # (samples saying the same share an id)
        atomic_write_json(folder / "selection.json", {"format": fmt, "rule": rule, "kept": kept,
                                                      "of": len(scores), "ids": sorted(ids)})
        summary.update(selection=str(folder / "selection.json"), kept=kept, rule=rule)
        say.log(f"Kept {kept} of {len(scores)} samples ({_rule_text(rule)}); train on them with "
                f"--select {folder / 'selection.json'}")
    atomic_write_json(folder / "summary.json", summary)
    return summary


def _load_scorer(project: Project, config: ScoreConfig, say: StageReporter):
    from core.evaluate.scorer import TransformersScorer
    from core.models import resolve

    resolved = resolve(config.scorer or project.model.source)
    scorer = TransformersScorer.load(resolved.load_dir, batch_size=config.batch_size)
    scorer.label = resolved.name
    return scorer


def _titles(project: Project) -> dict[str, str]:
    from core.project import read_jsonl

    path = project.corpus_dir / "documents.jsonl"
    return {d["id"]: d.get("title") or d["id"] for d in read_jsonl(path)} if path.exists() else {}


def _rule_text(rule: dict) -> str:
    parts = []
    if rule.get("ifd_low") is not None or rule.get("ifd_high") is not None:
        parts.append(f"IFD {rule.get('ifd_low') or 0:g}–{rule['ifd_high']:g}" if rule.get("ifd_high")
                     else f"IFD ≥ {rule.get('ifd_low') or 0:g}")
    if rule.get("top_percent"):
        parts.append(f"top {rule['top_percent']:g}% by IFD")
    return ", ".join(parts) or "all"


def apply_selection(rows: list[dict], path: str | Path) -> tuple[list[dict], int]:
    """The training rows a selection file keeps (held-out rows and replay rows always stay), and
    how many it dropped. A missing or unreadable file is an error naming it."""
    import json

    from core.lab.scoring import sample_id

    try:
        ids = set(json.loads(Path(path).read_text(encoding="utf-8"))["ids"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LabError(f"{path}: not a selection file `lab score` wrote ({exc})") from None
    kept = [r for r in rows if r.get("split") != "train" or r.get("kind") == "replay" or sample_id(r) in ids]
    return kept, len(rows) - len(kept)
