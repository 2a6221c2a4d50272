"""Experiments as YAML recipes: ``python main.py lab run experiment.yaml`` — headless, resumable.

Today one kind, ``formats``: the same corpus trained in each listed format with an equal budget
(the same steps, blocks and block length: with packing the same number of training tokens), each
run evaluated by the evaluation stage, then one table — exam closed book (base → tuned), general
answers kept, reasoning, perplexity of the held-out book text (the chunks no format trains on: the
held-out split is the same for every format) and minutes::

    name: formats-small          # lab/<name>/ in the project
    kind: formats
    formats: [plain, chat, qa, knowledge]
    format: {eval_fraction: 0.1}  # FormatConfig settings shared by every variant
    train: {steps: 40}            # TrainConfig settings, the same for every variant (the budget)
    evaluate: {general_items: 100, reasoning_items: 50}
    scratch: true                # + a row "scratch (plain)": LoRA vs from scratch (core/lab/scratch.py)

With ``scratch: true`` a small random model with the base's tokenizer and about as many weights as
the LoRA trains on the first format's data with the same budget; its row reads "exam base → tuned"
as the base model's score → the scratch model's, and "kept" as the share of the base model's
correct general answers it gives.

A second kind, ``books`` (core/lab/leave_one_out.py): one format trained with every book and
without each book in turn, to see which books the model needed::

    name: books-1
    kind: books
    formats: [knowledge]
    train: {steps: 40}

Results: ``lab/<name>/results.json`` and ``results.csv`` (the table), ``state.json`` (what is done:
a crash or a cancel resumes with the next format; a finished format is never trained again), and
the recipe as run. The Lab page shows the table and draws its chart.
"""
from __future__ import annotations

import csv
import dataclasses
import time
from pathlib import Path

import yaml

from core.config import ConfigError, EvalConfig, FormatConfig, TrainConfig, from_dict, to_dict
from core.events import CancelToken, Reporter, StageReporter
from core.lab.score_job import LabError
from core.project import Project, atomic_write_json, atomic_write_text

KINDS = ("formats", "books")
COLUMNS = ("format", "run", "exam_base", "exam_tuned", "exam_items", "retention", "reasoning_base",
           "reasoning_tuned", "book_ppl_base", "book_ppl_tuned", "minutes")


def load_recipe(source: str | Path | dict) -> dict:
    """The recipe as a dict, checked: a name, a known kind, formats, settings that parse."""
    if isinstance(source, dict):
        recipe = dict(source)
    else:
        try:
            recipe = yaml.safe_load(Path(source).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise LabError(f"{source}: cannot read the experiment ({exc})") from None
    name = str(recipe.get("name") or (Path(source).stem if not isinstance(source, dict) else "")).strip()
    if not name or "/" in name or name.startswith("."):
        raise LabError("the experiment needs a name (a folder name under lab/)")
    if recipe.get("kind", "formats") not in KINDS:
        raise LabError(f"kind {recipe.get('kind')!r}: choose one of {', '.join(KINDS)}")
    formats = list(recipe.get("formats") or [])
    kind = recipe.get("kind", "formats")
    if kind == "formats" and len(formats) < 2:
        raise LabError("formats: list at least two formats to compare")
    if kind == "books" and len(formats) > 1:
        raise LabError("formats: leaving books out trains one format; list one (or none: plain)")
    formats = formats or [(recipe.get("format") or {}).get("format", "plain")]
    try:
        for fmt in formats:
            from_dict(FormatConfig, {**(recipe.get("format") or {}), "format": fmt})
        from_dict(TrainConfig, recipe.get("train") or {})
        from_dict(EvalConfig, recipe.get("evaluate") or {})
    except (ConfigError, TypeError) as exc:
        raise LabError(f"experiment {name}: {exc}") from None
    if not isinstance(recipe.get("scratch", False), bool):
        raise LabError("scratch: true or false (add a model trained from scratch to the comparison)")
    return {**recipe, "name": name, "kind": recipe.get("kind", "formats"), "formats": formats}


def run_experiment(project: Project, source: str | Path | dict, report: Reporter | None = None,
                   cancel: CancelToken | None = None) -> dict:
    """Run (or resume) the experiment; returns its results (the rows of the table and where they are)."""
    from core.evaluate.job import evaluate
    from core.train import train

    recipe = load_recipe(source)
    cancel = cancel or CancelToken()
    say = StageReporter(report, "lab")
    folder = project.root / "lab" / recipe["name"]
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "experiment.yaml", yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True))
    state_path = folder / "state.json"
    state = _read_json(state_path) or {"done": {}}
    eval_cfg = from_dict(EvalConfig, recipe.get("evaluate") or {})
    train_cfg = dataclasses.replace(from_dict(TrainConfig, recipe.get("train") or {}), evaluate_at_end=False)

    def train_and_row(fmt_cfg: FormatConfig, label: str) -> dict:
        started = time.perf_counter()
        result = train(project, project.model, fmt_cfg, train_cfg, report, cancel)
        if result.cancelled:
            raise LabError(f"stopped while training {label}; run the experiment again to go on from there")
        summary = evaluate(project, result.run_dir.name, None, eval_cfg, report=report, cancel=cancel)
        book = _book_perplexity(project, fmt_cfg, result.run_dir, cancel)
        return _row(label, result.run_dir.name, summary, book, (time.perf_counter() - started) / 60)

    extra = {}
    if recipe["kind"] == "books":
        from core.lab.leave_one_out import describe, run_leave_one_out
        rows, books = run_leave_one_out(project, recipe, folder, state, state_path, train_cfg, eval_cfg, report,
                                        cancel, train_and_row)
        extra = {"books": books, "influence_csv": str(folder / "influence.csv"), "finding": describe(books)}
    else:
        rows = _compare_formats(project, recipe, state, state_path, train_cfg, eval_cfg, report, cancel,
                                train_and_row)
    results = {"name": recipe["name"], "kind": recipe["kind"], "rows": rows, "folder": str(folder),
               "budget": {k: getattr(train_cfg, k) for k in ("steps", "batch_size", "grad_accum", "max_seq_len")},
               "csv": str(folder / "results.csv"), **extra}
    atomic_write_json(folder / "results.json", results)
    with open(folder / "results.csv", "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return results


def _compare_formats(project: Project, recipe: dict, state: dict, state_path: Path, train_cfg: TrainConfig,
                     eval_cfg: EvalConfig, report: Reporter | None, cancel: CancelToken, train_and_row) -> list[dict]:
    """Each format in turn (a finished one never again), then the from-scratch row if asked for."""
    say = StageReporter(report, "lab")
    for number, fmt in enumerate(recipe["formats"], 1):
        if fmt in state["done"]:
            say.log(f"{fmt}: done before (run {state['done'][fmt]['run']}), not trained again")
            continue
        cancel.raise_if_cancelled()
        say.log(f"Format {number} of {len(recipe['formats'])}: {fmt}")
        fmt_cfg = from_dict(FormatConfig, {**(recipe.get("format") or {}), "format": fmt})
        state["done"][fmt] = train_and_row(fmt_cfg, fmt)
        atomic_write_json(state_path, state)  # (a crash after this point never trains this format again)
    names = list(recipe["formats"])
    if recipe.get("scratch"):
        name = f"scratch ({recipe['formats'][0]})"
        names.append(name)
        if name not in state["done"]:
            state["done"][name] = _scratch_row(project, recipe, train_cfg, eval_cfg, state["done"][names[0]],
                                               name, report, cancel)
            atomic_write_json(state_path, state)
    return [state["done"][fmt] for fmt in names]


def _scratch_row(project: Project, recipe: dict, train_cfg: TrainConfig, eval_cfg: EvalConfig, lora_row: dict,
                 name: str, report: Reporter | None, cancel: CancelToken) -> dict:
    """Train and evaluate the from-scratch model on the first format's data; its row beside the LoRA's."""
    from core.evaluate.job import evaluate
    from core.lab.scratch import same_budget, train_scratch

    say = StageReporter(report, "lab")
    say.log(f"LoRA vs from scratch: {name}")
    started = time.perf_counter()
    fmt_cfg = from_dict(FormatConfig, {**(recipe.get("format") or {}), "format": recipe["formats"][0]})
    run_dir = train_scratch(project, fmt_cfg, same_budget(train_cfg), report, cancel)
    summary = evaluate(project, run_dir.name, None, eval_cfg, report=report, cancel=cancel)
    book = _book_perplexity(project, fmt_cfg, run_dir, cancel)
    row = _row(name, run_dir.name, summary, book, (time.perf_counter() - started) / 60)
    # the scratch model's scores sit on the "base" side of its own evaluation; in the table they are
    # its "tuned" numbers beside the base model's (from the LoRA row), and "kept" is measured against
    # what the base model knew
    exam = (summary.get("exam") or {}).get("closed") or {}
    row.update(exam_base=lora_row.get("exam_base"), exam_tuned=(exam.get("base") or [None])[0],
               exam_items=(exam.get("base") or [None, None])[1], retention=_kept(project, lora_row["run"], run_dir),
               reasoning_tuned=row["reasoning_base"], reasoning_base=lora_row.get("reasoning_base"),
               book_ppl_base=lora_row.get("book_ppl_base"), book_ppl_tuned=book.get("base"))
    return row


def _kept(project: Project, lora_run: str, scratch_dir: Path) -> float | None:
    """Share of the base model's correct general answers (from the LoRA run's evaluation) the scratch model gives."""
    from core.project import read_jsonl

    def correct(rows, side):
        return {r["id"] for r in rows if r.get("set", "").startswith("general") and r.get("mode") == "closed"
                and r.get("side") == side and r.get("correct")}

    base = correct(read_jsonl(project.run_dir(lora_run) / "eval.jsonl"), "base")
    mine = correct(read_jsonl(scratch_dir / "eval.jsonl"), "base")
    return round(len(base & mine) / len(base), 4) if base else None


def _row(fmt: str, run: str, summary: dict, book: dict, minutes: float) -> dict:
    exam = (summary.get("exam") or {}).get("closed") or {}
    reasoning = {"base": 0, "tuned": 0}
    for per_language in (summary.get("reasoning") or {}).values():
        for side in reasoning:
            reasoning[side] += ((per_language.get("direct") or {}).get(side) or [0, 0])[0]
    return {"format": fmt, "run": run, "exam_base": (exam.get("base") or [None])[0],
            "exam_tuned": (exam.get("tuned") or [None])[0], "exam_items": (exam.get("tuned") or [None, None])[1],
            "retention": summary.get("retention"), "reasoning_base": reasoning["base"],
            "reasoning_tuned": reasoning["tuned"], "book_ppl_base": book.get("base"),
            "book_ppl_tuned": book.get("tuned"), "minutes": round(minutes, 1)}


def _book_perplexity(project: Project, fmt_cfg: FormatConfig, run_dir: Path, cancel: CancelToken) -> dict:
    """Perplexity of the held-out chunks' raw text, base and tuned (None without a held-out split)."""
    import json

    from core.evaluate.scorer import TransformersScorer, perplexity
    from core.formats.builder import eval_positions, prepare_chunks

    chunks = prepare_chunks(project)
    held = sorted(eval_positions(chunks, fmt_cfg, None))
    if not held:
        return {"base": None, "tuned": None}
    text = "\n\n".join(chunks[i]["text"] for i in held)
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    if info.get("kind") == "scratch":  # a whole model: its perplexity on the "base" side, nothing to switch
        scorer = TransformersScorer.load(str(run_dir / "model"), None, device="cpu")
        return {"base": perplexity(*scorer.text_nll(text, adapter=False, cancel=cancel)), "tuned": None}
    scorer = TransformersScorer.load(info["model"]["load_dir"], run_dir / "adapter", device="cpu")
    return {side: perplexity(*scorer.text_nll(text, adapter=side == "tuned", cancel=cancel))
            for side in ("base", "tuned")}


def _read_json(path: Path) -> dict | None:
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
