"""How long a full evaluation takes on this machine, per backend, and the in-training subset.

A project is built from a real book (default: Alice's Adventures in Wonderland, EPUB, from
../shared/realdocs), its exam written (fill-in-the-blank: no writer model, so the exam is the
same every run), and an adapter with random LoRA weights saved as a run (its answers differ from
the base model's: what matters here is time, not quality). Then, alternating the backends over
``--rounds`` rounds:

- the full evaluation (``--exam`` exam questions closed and open book, general questions and
  reasoning problems in English and Russian, perplexity, KL), base and tuned, nothing cached;
- the same with the base side cached (what the evaluation at the end of a training run costs: its
  base side was measured, and cached, before training);
- the quick subset a training run checks at every evaluation step (12 exam + 24 general items).

Prints one JSON line per measurement and ends with ``ratio: X`` = transformers seconds ÷ the
fastest backend's seconds for the full evaluation (medians over the rounds).

    python bench/evaluate.py [--book FILE] [--exam 40] [--general 100] [--reasoning 50] [--rounds 2]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
ALICE = ROOT.parent / "shared" / "realdocs" / "epub" / "carroll_alice.epub"


def make_project(book: Path, folder: Path, exam: int):
    """A project with the book ingested, a fixed fill-in-the-blank exam, and a run with a random adapter."""
    import torch
    from peft import LoraConfig, get_peft_model

    from core.evaluate.exam import save_exam, write_exam
    from core.formats.builder import prepare_chunks
    from core.ingest import ingest
    from core.models import load_model, load_tokenizer, resolve
    from core.project import Project, atomic_write_json

    project = Project.open(folder / "project")
    resolved = resolve("embedded")
    tokenizer = load_tokenizer(resolved)
    ingest(project, [book], tokenizer)
    save_exam(project, write_exam(project, prepare_chunks(project), exam, writer=None), {"version": 1})
    torch.manual_seed(0)
    model = get_peft_model(load_model(resolved), LoraConfig(r=16, lora_alpha=32, target_modules="all-linear",
                                                            task_type="CAUSAL_LM"))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.02)
    run = project.runs_dir / "bench"
    model.save_pretrained(run / "adapter")
    (run / "config.yaml").write_text("{}\n", encoding="utf-8")
    atomic_write_json(run / "run.json", {"model": resolved.to_dict(), "format": "chat",
                                         "chat_template": tokenizer.chat_template, "stop_tokens": ["<|im_end|>"]})
    return project


def full(project, config, backend: str, cached_base: bool = False) -> dict:
    import shutil

    from core.config import EvalConfig
    from core.evaluate import evaluate

    if not cached_base:
        shutil.rmtree(project.root / "exam" / "baseline", ignore_errors=True)  # both sides, every round
    cfg = EvalConfig(**{**config.__dict__, "backend": backend})
    started = time.perf_counter()
    summary = evaluate(project, "bench", config=cfg)
    seconds = time.perf_counter() - started
    items = (1 if cached_base else 2) * (
        2 * summary["exam"]["items"] + sum(g["base"][1] for g in summary["general"].values())
        + sum(2 * m["direct"]["base"][1] for m in summary["reasoning"].values()))
    return {"measure": "after training (base cached)" if cached_base else "full", "backend": summary["backend"],
            "precision": summary.get("precision"), "seconds": round(seconds, 1), "generations": items,
            "items_per_s": round(items / seconds, 2), "verdict": summary["verdict"]}


def quick(project, config) -> dict:
    from core.evaluate.quick import QuickEval
    from core.evaluate.scorer import TransformersScorer
    from core.models import resolve

    scorer = TransformersScorer.load(resolve("embedded").load_dir, project.runs_dir / "bench" / "adapter")
    q = QuickEval.for_project(project, config, ["en"])
    started = time.perf_counter()
    with scorer.model.disable_adapter():
        q.baseline(scorer.model, scorer.tokenizer, "cpu", ["<|im_end|>"])
    base_s = time.perf_counter() - started
    started = time.perf_counter()
    point = q.measure(scorer.model, scorer.tokenizer, "cpu", ["<|im_end|>"])
    return {"measure": "quick", "items": len(q.exam) + len(q.general), "seconds": round(time.perf_counter() - started, 1),
            "base_seconds": round(base_s, 1), "point": point}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=Path, default=ALICE)
    parser.add_argument("--exam", type=int, default=40)
    parser.add_argument("--general", type=int, default=100)
    parser.add_argument("--reasoning", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--backends", default="transformers,llamacpp")
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from core.cli import _quiet_libraries
    from core.config import EvalConfig

    _quiet_libraries()
    folder = Path(tempfile.mkdtemp(prefix="scriptorium-bench-evaluate-"))
    project = make_project(args.book, folder, args.exam)
    config = EvalConfig(exam_questions=args.exam, general_items=args.general, reasoning_items=args.reasoning,
                        languages="en,ru")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    seconds: dict[str, list[float]] = {b: [] for b in backends}
    for r in range(args.rounds):
        for backend in (backends if r % 2 == 0 else backends[::-1]):  # alternate which side goes first
            row = full(project, config, backend)
            seconds[backend].append(row["seconds"])
            print(json.dumps({"round": r + 1, "asked": backend, **row}, ensure_ascii=False), flush=True)
            # what a training run pays at its end: the base side was evaluated (and cached) before training
            row = full(project, config, backend, cached_base=True)
            print(json.dumps({"round": r + 1, "asked": backend, **row}, ensure_ascii=False), flush=True)
        print(json.dumps({"round": r + 1, **quick(project, config)}), flush=True)
    medians = {b: statistics.median(v) for b, v in seconds.items()}
    print(json.dumps({"measure": "median_seconds", **medians, "goal_s": 180}))
    fastest = min(medians.values())
    print(f"ratio: {medians.get('transformers', fastest) / fastest:.2f}")


if __name__ == "__main__":
    main()
