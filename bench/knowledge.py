"""What makes a model know a book: the knowledge recipe's ablation, on the embedded model, timed.

For one document (default: the PeptoVar user manual from ../shared/realdocs) and, when given, a
hand-written question file for it (default: ../shared/facts/peptovar_user_manual.tsv), each
variant is built, trained with the auto plan (the same rule for every variant: passes over its own
data, best checkpoint by the quick exam and retention) and evaluated in full:

  raw            the chunks as plain text
  prefix         + the book and chapter in front of each chunk
  prefix-replay  the prefix row with replay (25%), no restatements or questions
  restate-K      + restatements (K written by the writer model, plus facts lists and term gatherings
                 taken from the books), K = 1, 3, 6
  qa             + questions answered by the books' sentences, mixed in
  replay         + the base model's own answers to general prompts (25% of the samples)
  kl             + a KL penalty towards the base model on those replay samples
  default        the knowledge goal as a user gets it (with a writer whose restatements fail the
                 checks, e.g. the embedded model, that is the prefix row: weak_writer = text)

One JSON line per variant (questions-file closed book, the app's exam, retention, minutes for
writing + training + evaluation) and a Markdown table at the end. The exam is shared between
variants (written once, in the source project); each variant writes its own material (restatements,
replay answers) in its own copy, so its minutes are the whole job a user would wait for. A full run
takes hours on 2 CPU cores (about 45 min a variant where bf16 is not faster than fp32):
``--variants`` picks a subset.

    python bench/knowledge.py [--doc FILE] [--facts FILE] [--variants raw,prefix,qa,replay] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DOC = SHARED / "realdocs" / "docx" / "peptovar_user_manual.docx"
FACTS = SHARED / "facts" / "peptovar_user_manual.tsv"
# every row past "prefix" keeps its parts even when the writer fails the faithfulness checks
# (weak_writer "keep"), so it measures what it names; "default" is the knowledge goal as a user gets it
KEEP = {"weak_writer": "keep"}
VARIANTS = {
    "raw": ({"format": "plain", "replay": 0.0}, {}),
    "prefix": ({"parts": "text", "replay": 0.0}, {}),
    "prefix-replay": ({"parts": "text", "replay": 0.25}, {}),
    "restate-1": ({"parts": "text,restatements", "restatements": 1, "replay": 0.0, **KEEP}, {}),
    "restate-3": ({"parts": "text,restatements", "restatements": 3, "replay": 0.0, **KEEP}, {}),
    "restate-6": ({"parts": "text,restatements", "restatements": 6, "replay": 0.0, **KEEP}, {}),
    "qa": ({"replay": 0.0, **KEEP}, {}),
    "replay": ({**KEEP}, {}),
    "kl": ({**KEEP}, {"kl_weight": 0.1}),
    "default": ({}, {}),
}


def variant_configs(name: str, base_fmt, base_train):
    import dataclasses

    fmt_changes, train_changes = VARIANTS[name]
    return dataclasses.replace(base_fmt, **fmt_changes), dataclasses.replace(base_train, **train_changes)


def run_variant(name: str, source, folder: Path, facts: Path | None, eval_cfg) -> dict:
    from core.config import FormatConfig, TrainConfig
    from core.evaluate import evaluate
    from core.evaluate.job import final_evaluation
    from core.formats.goals import apply_goal
    from core.project import Project
    from core.train import train

    target = folder / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source.root, target, ignore=shutil.ignore_patterns("runs"))
    project = Project(target)
    fmt, train_cfg = apply_goal("knowledge", FormatConfig(), TrainConfig(precision="auto"))
    fmt, train_cfg = variant_configs(name, fmt, train_cfg)
    project.save_settings(evaluate=eval_cfg)
    started = time.perf_counter()
    result = train(project, project.model, fmt, train_cfg)
    trained = time.perf_counter() - started
    summary = final_evaluation(project, result) or {}
    evaluated = time.perf_counter() - started - trained
    row = {"variant": name, "minutes": round((time.perf_counter() - started) / 60, 1),
           "train_minutes": round(trained / 60, 1), "eval_minutes": round(evaluated / 60, 1), "steps": result.steps,
           "best": (result.best or {}).get("step"),
           "exam": summary.get("exam", {}).get("closed"), "retention": summary.get("retention"),
           "verdict": summary.get("verdict")}
    if facts:
        asked = evaluate(project, result.run_dir.name, questions=facts, config=eval_cfg)
        row["facts"] = asked["exam"]["closed"]
        row["facts_open"] = asked["exam"]["open"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doc", type=Path, default=DOC)
    parser.add_argument("--facts", type=lambda v: None if v.lower() in ("", "none") else Path(v),
                        default=FACTS if FACTS.exists() else None, help="a question file, or none")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--keep", type=Path, help="keep the projects here (default: a temporary folder)")
    parser.add_argument("--general", type=int, default=100, help="general questions for retention")
    args = parser.parse_args()

    from core.cli import _quiet_libraries
    from core.config import EvalConfig
    from core.evaluate.job import ensure_exam
    from core.ingest import ingest
    from core.models import load_tokenizer, resolve
    from core.project import Project

    _quiet_libraries()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="scriptorium-bench-knowledge-"))
    eval_cfg = EvalConfig(general_items=args.general, reasoning_items=0, languages="en")
    source = Project.open(folder / "source")
    started = time.perf_counter()
    if not (source.corpus_dir / "chunks.jsonl").exists():
        ingest(source, [args.doc], load_tokenizer(resolve("embedded")))
        ensure_exam(source, eval_cfg)
    print(json.dumps({"prepared_s": round(time.perf_counter() - started, 1), "doc": args.doc.name}), flush=True)
    rows = []
    for name in [v.strip() for v in args.variants.split(",") if v.strip()]:
        row = run_variant(name, source, folder, args.facts, eval_cfg)
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)

    def cell(pair):
        return f"{pair['tuned'][0]}/{pair['tuned'][1]} (base {pair['base'][0]})" if pair and pair.get("tuned") else "—"

    print("\n| variant | questions file, closed book | app exam | retention | minutes |\n|---|---|---|---|---|")
    for r in rows:
        kept = f"{r['retention']:.0%}" if r.get("retention") is not None else "—"
        print(f"| {r['variant']} | {cell(r.get('facts'))} | {cell(r.get('exam'))} | {kept} | {r['minutes']} |")


if __name__ == "__main__":
    main()
