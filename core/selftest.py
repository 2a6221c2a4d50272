"""`python main.py --selftest`: every stage once, smallest possible, on the embedded model.

Loads the embedded model, ingests one file (the app's own manual), formats it, runs one
training step, evaluates one exam question and one general question, exports the adapter as a
GGUF and checks llama.cpp reads it. Exit 0 means this installation works end to end; the
summary names each stage with its seconds, so support can see where a broken install stops.
It runs in a temporary folder and leaves nothing behind (``--keep`` keeps it).
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from core.config import CorpusConfig, EvalConfig, FormatConfig, ModelConfig, TrainConfig
from core.events import CancelToken, Reporter, StageReporter

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
SAMPLE = RESOURCES / "manual.md"


class SelftestError(RuntimeError):
    """A stage of the self-test failed; the message names the stage."""


def run_selftest(model: str = "embedded", keep: bool = False, report: Reporter | None = None,
                 cancel: CancelToken | None = None) -> dict:
    from core.chat.llamacpp_backend import LlamaCppModel
    from core.evaluate.job import evaluate
    from core.export.job import export_run
    from core.formats.builder import build_dataset
    from core.ingest import ingest
    from core.models import load_tokenizer, resolve
    from core.project import Project
    from core.train import train

    say = StageReporter(report, "selftest")
    cancel = cancel or CancelToken()
    folder = Path(tempfile.mkdtemp(prefix="scriptorium-selftest-"))
    stages: dict[str, float] = {}
    summary: dict = {"folder": str(folder) if keep else None, "stages": stages}
    current = "start"

    def stage(name: str) -> None:
        nonlocal current, started
        if current != "start":
            stages[current] = round(time.time() - started, 2)
        if cancel.cancelled:
            raise SelftestError(f"stopped before {name}")
        current, started = name, time.time()
        if name != "done":
            say.log(f"Self-test: {name}…")

    started = time.time()
    try:
        stage("model")
        resolved = resolve(model, report)
        tokenizer = load_tokenizer(resolved)
        summary["model"] = resolved.name

        stage("ingest")
        project = Project.open(folder / "project")
        project.set_model(ModelConfig(model))
        evaluation = EvalConfig(exam_questions=1, open_book_k=1, general_items=1, reasoning_items=1,
                                languages="en", step_by_step=False, answer_tokens=16, quick_exam=0, quick_general=0)
        project.save_settings(evaluate=evaluation)
        ingested = ingest(project, [SAMPLE], tokenizer, CorpusConfig(chunk_tokens=128), report, cancel)
        if not ingested.ok:
            raise SelftestError(f"could not read {SAMPLE.name}: {ingested.summary().get('errors')}")
        summary["chunks"] = ingested.summary().get("chunks")

        stage("format")
        fmt = FormatConfig(format="chat")
        built = build_dataset(project, fmt, tokenizer, report=report, cancel=cancel)
        if not built.train:
            raise SelftestError("the dataset has no training sample")
        summary["samples"] = len(built.train)

        stage("train")
        result = train(project, ModelConfig(model), fmt,
                       TrainConfig(steps=1, batch_size=1, max_seq_len=128, warmup_steps=0, eval_every=0, save_every=0,
                                   evaluate_at_end=False),
                       report, cancel)
        if result.steps < 1 or not (result.adapter_dir / "adapter_config.json").exists():
            raise SelftestError("training ran no step or saved no adapter")
        summary["loss"] = result.last_loss

        stage("evaluate")
        scores = evaluate(project, result.run_dir.name, config=evaluation, report=report, cancel=cancel)
        summary["verdict"] = scores.get("verdict")

        stage("export")
        exported = export_run(project, result.run_dir.name, "adapter", verify=False, report=report, cancel=cancel)
        adapter = Path(exported["adapter"]["path"])
        LlamaCppModel(exported["base_gguf"], adapter, n_ctx=256)  # llama.cpp must read what we wrote
        summary["adapter_gguf_bytes"] = adapter.stat().st_size
        stage("done")
    except SelftestError:
        raise
    except Exception as exc:  # noqa: BLE001 — the point of a self-test is to say where it broke
        raise SelftestError(f"{current}: {type(exc).__name__}: {exc}") from exc
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    summary["seconds"] = round(sum(stages.values()), 1)
    say.log("Self-test passed: " + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items()))
    return summary


def cmd_selftest(args, report) -> tuple[dict, int]:
    try:
        summary = run_selftest(args.model or "embedded", args.keep, report, args.cancel)
    except SelftestError as exc:
        print(f"Self-test FAILED at {exc}", file=sys.stderr)
        return {"error": str(exc)}, 1
    return summary, 0   # (run_selftest has said "Self-test passed: …" with each stage's seconds)


def add_selftest_parser(command) -> None:
    """Register ``selftest`` through the CLI's ``command(name, func, help)`` (adds --json/--quiet)."""
    p = command("selftest", cmd_selftest, "Check this installation: model, ingest, format, one training step, one exam "
                "question, GGUF export (also `python main.py --selftest`); exit 0 when all work")
    p.add_argument("--model", help="base model (default: embedded)")
    p.add_argument("--keep", action="store_true", help="keep the temporary project (its path is printed)")
