"""Per-book influence: after a run, which books the model learned most from, and which not at all.

For every book of the corpus, from a run that was evaluated:

- exam: its exam questions answered closed book by the base model and by the tuned one, and the
  mean gain in the log-likelihood of their right answers (from the run's latest evaluation in
  ``eval.jsonl``; the exam spreads its questions over every book);
- held-out loss: the mean per-token loss of the book's held-out chunks (the split the run's format
  used: text the run never trained on), base and tuned, and the reduction — how much of the book
  the model generalises to, beyond the passages it saw.

Ranked by exam gain, then loss reduction. A book with no held-out chunk has no loss figure (the
table says so). Which books the model *needed* — train without each book in turn — is the lab's
``kind: books`` experiment (leave_one_out.py): one training run per book.
"""
from __future__ import annotations

import json
from collections import defaultdict

from core.events import CancelToken, Reporter, StageReporter
from core.lab.score_job import LabError
from core.project import Project, atomic_write_json, read_jsonl


def book_influence(project: Project, run: str | None = None, report: Reporter | None = None,
                   cancel: CancelToken | None = None) -> dict:
    """The per-book table of a run (the newest with an adapter by default); see the module doc."""
    from core.config import FormatConfig, load_yaml
    from core.evaluate.scorer import TransformersScorer
    from core.formats.builder import eval_positions, prepare_chunks

    say = StageReporter(report, "lab")
    cancel = cancel or CancelToken()
    run_dir = project.run_dir(run)
    if not (run_dir / "eval.jsonl").exists():
        raise LabError(f"{run_dir.name}: this run has not been evaluated yet — evaluate it first "
                       f"(`python main.py evaluate --project {project.root} --run {run_dir.name}`)")
    chunks = prepare_chunks(project)
    titles = {c["doc_id"]: c.get("title") or c["doc_id"] for c in chunks}
    exam = _exam_by_book(project, run_dir)
    fmt = load_yaml(run_dir / "config.yaml").get("format") or FormatConfig()
    held = sorted(eval_positions(chunks, fmt if isinstance(fmt, FormatConfig) else FormatConfig(), None))
    texts: dict[str, list[str]] = defaultdict(list)
    for i in held:
        texts[chunks[i]["doc_id"]].append(chunks[i]["text"])
    losses: dict[str, dict] = {}
    if texts:
        info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
        scorer = TransformersScorer.load(info["model"]["load_dir"], run_dir / "adapter", device="cpu")
        for number, (doc_id, parts) in enumerate(texts.items(), 1):
            say.progress(number - 1, len(texts), f"held-out loss of book {number} of {len(texts)}")
            text = "\n\n".join(parts)
            sides = {}
            for side in ("base", "tuned"):
                nll, count = scorer.text_nll(text, adapter=side == "tuned", cancel=cancel)
                sides[side] = round(nll / count, 4) if count else None
            losses[doc_id] = sides
    rows = []
    for doc_id in dict.fromkeys([c["doc_id"] for c in chunks]):
        ex, loss = exam.get(doc_id, {}), losses.get(doc_id, {})
        base_loss, tuned_loss = loss.get("base"), loss.get("tuned")
        rows.append({"doc_id": doc_id, "title": titles[doc_id], "exam_items": ex.get("items", 0),
                     "exam_base": ex.get("base", 0), "exam_tuned": ex.get("tuned", 0),
                     "exam_gain": ex.get("tuned", 0) - ex.get("base", 0),
                     "logprob_gain": ex.get("logprob_gain"), "heldout_loss_base": base_loss,
                     "heldout_loss_tuned": tuned_loss,
                     "loss_reduction": round(base_loss - tuned_loss, 4) if base_loss is not None and
                     tuned_loss is not None else None})
    rows.sort(key=lambda r: (-r["exam_gain"], -(r["loss_reduction"] if r["loss_reduction"] is not None else -9),
                             -(r["logprob_gain"] or 0)))
    result = {"run": run_dir.name, "books": rows, "held_out_chunks": len(held)}
    atomic_write_json(run_dir / "books.json", result)
    return result


def _exam_by_book(project: Project, run_dir) -> dict[str, dict]:
    """Per book: closed-book exam items, right answers base and tuned, mean log-likelihood gain —
    from the run's latest evaluation of the exam."""
    book_of = {q["id"]: q.get("doc_id", "") for q in read_jsonl(project.root / "exam" / "exam.jsonl")} \
        if (project.root / "exam" / "exam.jsonl").exists() else {}
    rows = [r for r in read_jsonl(run_dir / "eval.jsonl") if r.get("set") == "exam" and r.get("mode") == "closed"]
    if not rows:
        return {}
    latest = max(r.get("evaluation", "") for r in rows)
    out: dict[str, dict] = defaultdict(lambda: {"items": 0, "base": 0, "tuned": 0, "_lp": {"base": [], "tuned": []}})
    for r in rows:
        if r.get("evaluation", "") != latest or r["id"] not in book_of:
            continue
        book = out[book_of[r["id"]]]
        book["items"] += r["side"] == "tuned"
        book[r["side"]] += bool(r.get("correct"))
        if r.get("logprob") is not None:
            book["_lp"][r["side"]].append(r["logprob"])
    for book in out.values():
        lp = book.pop("_lp")
        book["logprob_gain"] = round(sum(lp["tuned"]) / len(lp["tuned"]) - sum(lp["base"]) / len(lp["base"]), 4) \
            if lp["tuned"] and lp["base"] else None
    return dict(out)
