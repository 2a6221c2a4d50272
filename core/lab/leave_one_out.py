"""Leave one book out: how much each book teaches, measured by training without it.

For a small corpus (a few books) the per-book table of one run (books.py) says which books the
model answered best on, not which books it *needed*: a book's questions may be answered from what
another book says. Here the same format and budget train once with every book ("all books") and
once without each book in turn; a book's influence is what its own exam questions lose when it is
left out — right answers closed book and the answers' log-likelihood — and what the whole exam
loses. A book that is left out keeps its held-out chunks and its exam questions; only its training
samples go (through the lab's selection file, ``FormatConfig.select``: the same path a scored
selection takes, so nothing else about the dataset changes).

On 2 CPU cores it costs one training run per book and one more: meant for a handful of books.
Results: one row per run in the experiment table (the same columns as a format comparison) and
``books``: per book, its questions with and without it, in ``results.json`` and ``influence.csv``.
"""
from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

from core.config import EvalConfig, FormatConfig, TrainConfig
from core.events import CancelToken, Reporter, StageReporter
from core.lab.score_job import LabError
from core.project import Project, atomic_write_json

INFLUENCE_COLUMNS = ("book", "doc_id", "exam_items", "exam_base", "exam_with", "exam_without", "influence",
                     "logprob_with", "logprob_without", "logprob_influence")


def selections(project: Project, fmt_cfg: FormatConfig, folder: Path, report: Reporter | None,
               cancel: CancelToken) -> dict[str, tuple[str, Path]]:
    """Per book: (title, a selection file keeping every training sample but that book's)."""
    from core.formats import build_dataset
    from core.lab.scoring import sample_id
    from core.models import load_tokenizer, resolve

    tokenizer = load_tokenizer(resolve(project.model.source, report))
    data = build_dataset(project, fmt_cfg, tokenizer, report, cancel)
    from core.formats.builder import prepare_chunks
    titles = {c["doc_id"]: c.get("title") or c["doc_id"] for c in prepare_chunks(project)}
    books = list(dict.fromkeys(r["doc_id"] for r in data.train if r.get("doc_id") in titles))
    if len(books) < 2:
        raise LabError("leaving a book out needs at least two books with training samples in the corpus")
    out = {}
    for doc_id in books:
        path = folder / f"without-{doc_id}.json"
        ids = [sample_id(r) for r in data.train if r.get("doc_id") != doc_id]
        atomic_write_json(path, {"ids": ids, "left_out": doc_id, "title": titles.get(doc_id, doc_id)})
        out[doc_id] = (titles.get(doc_id, doc_id), path)
    return out


def run_leave_one_out(project: Project, recipe: dict, folder: Path, state: dict, state_path: Path,
                      train_cfg: TrainConfig, eval_cfg: EvalConfig, report: Reporter | None, cancel: CancelToken,
                      train_and_row) -> tuple[list[dict], list[dict]]:
    """Train "all books" and "without <book>" for each book (resumably); the run rows and the influence rows.

    ``train_and_row(fmt_cfg, label)`` trains, evaluates and returns a table row (experiment.py's)."""
    from core.lab.books import _exam_by_book

    say = StageReporter(report, "lab")
    fmt_cfg = _format_of(recipe)
    plan = selections(project, fmt_cfg, folder, report, cancel)
    labels = {"all": "all books", **{doc: f"without {title}" for doc, (title, _p) in plan.items()}}
    for number, (key, label) in enumerate(labels.items(), 1):
        if key in state["done"]:
            say.log(f"{label}: done before (run {state['done'][key]['run']}), not trained again")
            continue
        cancel.raise_if_cancelled()
        say.log(f"Run {number} of {len(labels)}: {label}")
        cfg = fmt_cfg if key == "all" else dataclasses.replace(fmt_cfg, select=str(plan[key][1]))
        state["done"][key] = train_and_row(cfg, label)
        atomic_write_json(state_path, state)
    exams = {key: _exam_by_book(project, project.run_dir(state["done"][key]["run"])) for key in labels}
    books = []
    for doc_id, (title, _path) in plan.items():
        with_it, without = exams["all"].get(doc_id, {}), exams[doc_id].get(doc_id, {})
        lp_with, lp_without = _logprob(project, state["done"]["all"]["run"], doc_id), \
            _logprob(project, state["done"][doc_id]["run"], doc_id)
        books.append({"book": title, "doc_id": doc_id, "exam_items": with_it.get("items", 0),
                      "exam_base": with_it.get("base", 0), "exam_with": with_it.get("tuned", 0),
                      "exam_without": without.get("tuned", 0),
                      "influence": with_it.get("tuned", 0) - without.get("tuned", 0),
                      "logprob_with": lp_with, "logprob_without": lp_without,
                      "logprob_influence": round(lp_with - lp_without, 4) if None not in (lp_with, lp_without)
                      else None})
    books.sort(key=lambda b: (-b["influence"], -(b["logprob_influence"] or 0)))
    with open(folder / "influence.csv", "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=INFLUENCE_COLUMNS)
        writer.writeheader()
        writer.writerows(books)
    return [state["done"][key] for key in labels], books


def _format_of(recipe: dict) -> FormatConfig:
    from core.config import from_dict

    formats = list(recipe.get("formats") or [])
    fmt = formats[0] if formats else (recipe.get("format") or {}).get("format", "plain")
    return from_dict(FormatConfig, {**(recipe.get("format") or {}), "format": fmt})


def _logprob(project: Project, run: str, doc_id: str) -> float | None:
    """Mean log-likelihood per token of the right answers to a book's exam questions (tuned, closed book)."""
    from core.project import read_jsonl

    book_of = {q["id"]: q.get("doc_id", "") for q in read_jsonl(project.root / "exam" / "exam.jsonl")}
    rows = [r for r in read_jsonl(project.run_dir(run) / "eval.jsonl")
            if r.get("set") == "exam" and r.get("mode") == "closed" and r.get("side") == "tuned"
            and book_of.get(r["id"]) == doc_id and r.get("logprob") is not None]
    if not rows:
        return None
    latest = max(r.get("evaluation", "") for r in rows)
    values = [r["logprob"] for r in rows if r.get("evaluation", "") == latest]
    return round(sum(values) / len(values), 4)


def describe(books: list[dict]) -> str:
    """One line a user reads: the book the model needed most, and the one it did not need."""
    if not books:
        return ""
    top, last = books[0], books[-1]
    return (f"Most needed: {top['book']} (its questions {top['exam_with']} right with it, {top['exam_without']} "
            f"without); least: {last['book']} ({last['exam_with']} with, {last['exam_without']} without).")

