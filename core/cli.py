"""The command line: the same core functions the GUI calls, one subcommand per stage.

Human progress (a bar for anything longer than a second, messages) goes to stderr; with
``--json`` the last line on stdout is a one-line JSON summary (paths, counts, metrics, errors).
Exit code 0 on success, 1 when the job failed or produced nothing usable, 2 for bad usage.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import Callable

from core.config import (ChatConfig, ConfigError, CorpusConfig, EvalConfig, FormatConfig, ModelConfig, TrainConfig,
                         add_arguments, from_args)
from core.cli_progress import CliReporter
from core.events import CancelToken


def _quiet_libraries() -> None:
    from core.quiet import quiet_transformers
    quiet_transformers()


def goal_settings(args, fmt: FormatConfig, train: TrainConfig) -> tuple[FormatConfig, TrainConfig]:
    """``--goal`` lays its preset over the saved settings; options given on the command line still win."""
    if getattr(args, "goal", None):
        from core.formats.goals import apply_goal
        return apply_goal(args.goal, fmt, train)
    return fmt, train


# ------------------------------------------------------------------ subcommands
def cmd_ingest(args, report) -> tuple[dict, int]:
    from core.ingest import ingest
    from core.models import load_tokenizer, resolve
    from core.project import Project

    project = Project.open(args.project)
    if args.model:
        project.set_model(ModelConfig(args.model))
    tokenizer = load_tokenizer(resolve(project.model.source, report))
    corpus_cfg = from_args(CorpusConfig, args, project.settings("corpus"))
    project.save_settings(corpus=corpus_cfg)
    result = ingest(project, args.files, tokenizer, corpus_cfg, report, args.cancel)
    summary = {"project": str(project.root), "corpus": str(project.corpus_dir), **result.summary()}
    from core.ingest.store import corpus_stats
    summary["corpus_stats"] = corpus_stats(project)
    summary["dataset"] = result.dataset
    usable = result.ok or any(o.status == "skipped" for o in result.outcomes)
    return summary, 0 if usable else 1


def cmd_corpus(args, report) -> tuple[dict, int]:
    from core.ingest.store import corpus_report, corpus_stats, export_text, report_table, save_report
    from core.project import Project

    project = Project.open(args.project, create=False)
    removed = None
    if args.remove:
        from core.ingest.remove import remove_books
        removed = remove_books(project, args.remove)
        print(f"Removed {', '.join(b['title'] for b in removed['removed'])} ({removed['chunks_removed']} chunks, "
              f"{removed['exam_questions_removed']} exam questions)", file=sys.stderr)
    summary = {"project": str(project.root), **corpus_stats(project), "report": corpus_report(project),
               **({"removed": removed} if removed else {})}
    if args.report:
        save_report(project)
        if not args.json:
            print(report_table(summary["report"]))
    if args.export_text:
        written = export_text(project, args.export_text)
        summary["exported"] = [str(p) for p in written]
        print(f"{len(written)} documents written to {Path(args.export_text).expanduser()}", file=sys.stderr)
    if not args.json and not args.report:
        for d in summary["per_document"]:
            print(f"{d['title'][:50]:50}  {d['language'] or '?':3} {d['format']:8} {d['characters']:>9} chars "
                  f"{d['tokens']:>8} tokens {d['chunks']:>5} chunks  noise {d['noise_ratio']:.1%}")
        print(f"{summary['documents']} documents, {summary['chunks']} chunks, {summary['tokens']} tokens")
    return summary, 0 if summary["documents"] else 1


def cmd_format(args, report) -> tuple[dict, int]:
    from core.formats.builder import build_dataset, load_samples
    from core.formats.interop import export_datasets, export_jsonl
    from core.formats.preview import preview, preview_rows, preview_text
    from core.models import load_tokenizer, resolve
    from core.project import Project

    project = Project.open(args.project, create=False)
    base_fmt, _ = goal_settings(args, project.settings("format"), project.settings("train"))
    fmt_cfg = from_args(FormatConfig, args, base_fmt)
    project.save_settings(format=fmt_cfg)
    fmt, max_len = fmt_cfg.format, args.max_len or project.settings("train").max_seq_len
    tokenizer = load_tokenizer(resolve(project.model.source, report))
    summary: dict = {"project": str(project.root), "format": fmt}
    if args.preview and not (args.export_jsonl or args.export_datasets):
        # A look only: nothing is written but the generations of qa/paraphrase (kept for the build).
        shown = preview(project, fmt_cfg, tokenizer, args.preview, max_len, report, args.cancel)
        samples = shown.stats["samples"]
    else:
        built = build_dataset(project, fmt_cfg, tokenizer, report, args.cancel, limit=args.chunks)
        samples = len(built.train) + len(built.eval)
        summary.update(dataset=str(built.folder), samples=samples, train_samples=len(built.train),
                       eval_samples=len(built.eval), complete=built.meta["complete"], dropped=built.meta["dropped"],
                       split=built.meta["split"], generation=built.meta["generation"])
        shown = preview_rows(load_samples(project, fmt), tokenizer, fmt, args.preview or 0, max_len)
        if args.export_jsonl:
            summary["export"] = export_jsonl(project, fmt, args.export_jsonl, args.out)
            print(f"{summary['export']['samples']} samples written to {summary['export']['path']}", file=sys.stderr)
        if args.export_datasets:
            target = None if args.export_datasets == "-" else args.export_datasets
            summary["datasets_folder"] = export_datasets(project, fmt, target)
            print(f"datasets folder written to {summary['datasets_folder']['path']}", file=sys.stderr)
    summary["preview"] = shown.to_dict()
    if not args.json:
        print(preview_text(shown))
    return summary, 0 if samples else 1


def cmd_train(args, report) -> tuple[dict, int]:
    from core.config import load_yaml
    from core.project import Project
    from core.train import read_metrics, train
    from core.train.runner import run_training

    project = Project.open(args.project, create=False)
    if args.model:
        project.set_model(ModelConfig(args.model))
    recipe = load_yaml(Path(args.recipe)) if args.recipe else {}
    model_cfg = recipe.get("model") or project.model
    base_fmt, base_train = goal_settings(args, recipe.get("format") or project.settings("format"),
                                         recipe.get("train") or project.settings("train"))
    fmt_cfg = from_args(FormatConfig, args, base_fmt)
    train_cfg = from_args(TrainConfig, args, base_train)
    if args.estimate_memory:
        from core.train.memory import estimate
        return estimate(project, model_cfg, fmt_cfg, train_cfg, report, args.cancel), 0
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if not distributed or int(os.environ.get("RANK", "0")) == 0:
        project.save_settings(format=fmt_cfg, train=train_cfg)
    # Under torchrun/accelerate every rank is already its own process; otherwise isolate the run
    # in a child process so a crash or an OOM kill cannot take this process down.
    run = train if (distributed or args.in_process) else run_training
    result = run(project, model_cfg, fmt_cfg, train_cfg, report, args.cancel, resume=args.resume)
    if run is train and train_cfg.evaluate_at_end and not result.cancelled and int(os.environ.get("RANK", "0")) == 0:
        from core.evaluate.job import final_evaluation
        final_evaluation(project, result, report, args.cancel)  # the child process does it itself
    evals = [m["eval_loss"] for m in read_metrics(result.run_dir) if "eval_loss" in m]
    saved = result.run_dir / "summary.json"  # written by rank 0 only: other ranks may get here first
    summary = json.loads(saved.read_text(encoding="utf-8")) if saved.exists() else {}
    if summary.get("verdict") and not args.json:
        from core.evaluate.report import report_text
        evaluation = result.run_dir / "evaluation.json"
        if evaluation.exists():
            print(report_text(json.loads(evaluation.read_text(encoding="utf-8"))))
    return {**result.summary(), "first_eval_loss": evals[0] if evals else None,
            "metrics": str(result.run_dir / "metrics.jsonl"), "verdict": summary.get("verdict"),
            "warnings": summary.get("warnings", []), "evaluation": summary.get("evaluation")}, 0


def cmd_chat(args, report) -> tuple[dict, int]:
    from core.chat import TransformersChat
    from core.project import Project

    project = Project.open(args.project, create=False)
    if args.backend == "llamacpp":
        from core.chat.llamacpp_backend import LlamaCppChat
        chat = LlamaCppChat.from_run(project, args.run)
    else:
        chat = TransformersChat.from_run(project, args.run)
    settings = from_args(ChatConfig, args, project.settings("chat"))
    sides = [("base", False), ("tuned", True)] if args.compare else [("base" if args.base else "tuned", not args.base)]
    prompts = [args.prompt] if args.prompt else _read_prompts()
    replies = []
    for prompt in prompts:
        answer = {}
        for name, adapter in sides:
            if not args.json:
                print(f"\n[{name}] ", end="", flush=True)
            pieces = []
            for piece in chat.stream(chat.messages(prompt, settings), settings, adapter, args.cancel):
                pieces.append(piece)
                if not args.json:
                    print(piece, end="", flush=True)
            answer[name] = "".join(pieces).strip()
        if not args.json:
            print()
        replies.append({"prompt": prompt, **answer})
    return {"project": str(project.root), "run": str(project.run_dir(args.run)), "backend": args.backend,
            "replies": replies}, 0


def cmd_export(args, report) -> tuple[dict, int]:
    from core.export.job import export_run
    from core.project import Project

    project = Project.open(args.project, create=False)
    summary = export_run(project, args.run, args.gguf, args.quant, args.adapter_type, args.base_gguf, args.verify,
                         report, args.cancel)
    print(f"Wrote to {summary['folder']}:", file=sys.stderr)
    for path in summary.get("files", []):
        print(f"  {path}", file=sys.stderr)
    passed = summary.get("verification", {}).get("passed")
    return summary, 1 if passed is False else 0


def cmd_evaluate(args, report) -> tuple[dict, int]:
    from core.evaluate.job import evaluate
    from core.evaluate.report import report_text
    from core.project import Project

    project = Project.open(args.project, create=False)
    config = from_args(EvalConfig, args, project.settings("evaluate"))
    project.save_settings(evaluate=config)
    summary = evaluate(project, args.run, args.questions, config, args.checkpoint, args.base, report, args.cancel)
    if not args.json:
        print(report_text(summary))
    return summary, 0


def _read_prompts():
    """Interactive chat: one prompt per line until EOF or an empty line."""
    while True:
        try:
            line = input("\nyou> ").strip()
        except EOFError:
            return
        if not line:
            return
        yield line


def cmd_demo(args, report) -> tuple[dict, int]:
    from core.demo import run_demo

    summary = run_demo(Path(args.project) if args.project else None, args.steps, args.model or "embedded",
                       report=report, cancel=args.cancel)
    if not args.json:
        print(f"\nQuestion: {summary['question']}\n\n[base]  {summary['base_answer']}\n\n"
              f"[tuned] {summary['tuned_answer']}\n\nloss: first {summary['first_loss']:.3f} → "
              f"last {summary['last_loss']:.3f}; adapter: {summary['adapter']}")
    return summary, 0


# ------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python main.py", description="Scriptorium: your books → a tuned local LLM. "
                                     "Without a command, the desktop app opens.")
    sub = parser.add_subparsers(dest="command", metavar="{ingest,corpus,format,train,evaluate,chat,export,serve,lab,demo,selftest}")

    def command(name: str, func: Callable, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("--json", action="store_true", help="end with a one-line JSON summary on stdout")
        p.add_argument("--quiet", action="store_true", help="no progress bar, only warnings and errors")
        p.set_defaults(func=func)
        return p

    p = command("ingest", cmd_ingest, "Add documents (files or folders) to a project's corpus")
    p.add_argument("files", nargs="+", help="files or folders to read")
    p.add_argument("--project", required=True, help="project folder (created if missing)")
    p.add_argument("--model", help=ModelConfig.__dataclass_fields__["source"].metadata["help"])
    add_arguments(p, CorpusConfig)

    p = command("corpus", cmd_corpus, "Show what a project's corpus holds; export its cleaned text")
    p.add_argument("--project", required=True, help="project folder")
    p.add_argument("--export-text", metavar="OUTDIR",
                   help="write each document's cleaned text as one UTF-8 .txt (chapters as headings) into OUTDIR")
    p.add_argument("--report", action="store_true", help="per book and in total: words, tokens, language, noise and "
                   "junk dropped, duplicates removed, parts recovered from damaged files (also corpus/report.json)")
    p.add_argument("--remove", action="append", metavar="BOOK", default=[],
                   help="take a book out of the corpus (its path, file name, title or id; repeat for more)")

    p = command("format", cmd_format, "Build the training dataset in a format (qa/paraphrase: the base model writes "
                "it, resumable); preview it; export it for other tools")
    p.add_argument("--project", required=True, help="project folder")
    p.add_argument("--preview", type=int, default=0, metavar="N",
                   help="show the first N samples as the model sees them, with length statistics (alone: build nothing)")
    p.add_argument("--goal", choices=("knowledge", "style", "custom"),
                   help="what you want: knowledge (the model knows the facts in your books: restatements, questions, "
                   "replay, a plan sized to the data), style (it writes like your books: fast), custom (your settings)")
    p.add_argument("--max-len", type=int, default=0, help="max sample tokens for the preview (default: the train setting)")
    p.add_argument("--chunks", type=int, default=0, metavar="N", help="only the first N chunks (a quick trial)")
    p.add_argument("--export-jsonl", choices=("alpaca", "sharegpt", "messages", "text"),
                   help="also write the dataset as JSONL in this convention (held-out split as *.eval.jsonl)")
    p.add_argument("--out", help="file for --export-jsonl (default: datasets/<format>/<convention>.jsonl)")
    p.add_argument("--export-datasets", nargs="?", const="-", metavar="DIR",
                   help="also save a Hugging Face `datasets` folder (default: datasets/<format>/hf)")
    add_arguments(p, FormatConfig)

    p = command("train", cmd_train, "Train a LoRA adapter on the project's corpus")
    p.add_argument("--project", required=True, help="project folder")
    p.add_argument("--model", help=ModelConfig.__dataclass_fields__["source"].metadata["help"])
    p.add_argument("--recipe", help="a run's config.yaml (model, format, train) to run again; options still override")
    p.add_argument("--resume", metavar="RUN", help="continue this run from its last checkpoint")
    p.add_argument("--estimate-memory", action="store_true", help="2-step dry run: measured peak memory + GPU estimate")
    p.add_argument("--in-process", action="store_true", help="train in this process instead of a child process")
    p.add_argument("--goal", choices=("knowledge", "style", "custom"),
                   help="what you want: knowledge (the model knows the facts in your books: restatements, questions, "
                   "replay, a plan sized to the data), style (it writes like your books: fast), custom (your settings)")
    add_arguments(p, FormatConfig)
    add_arguments(p, TrainConfig)

    p = command("chat", cmd_chat, "Chat with the tuned (or base) model of a project's run")
    p.add_argument("--project", required=True, help="project folder")
    p.add_argument("--run", help="run folder name (default: the newest run with an adapter)")
    p.add_argument("--prompt", help="one message; without it, read messages interactively")
    p.add_argument("--base", action="store_true", help="answer with the base model (adapter off)")
    p.add_argument("--compare", action="store_true", help="answer with base and tuned model")
    p.add_argument("--backend", choices=("transformers", "llamacpp"), default="transformers",
                   help="transformers (PEFT) or llamacpp (the exported GGUF base + adapter)")
    add_arguments(p, ChatConfig)

    p = command("export", cmd_export, "Export a run's adapter as GGUF for llama.cpp / Ollama, and verify it")
    p.add_argument("--project", required=True, help="project folder")
    p.add_argument("--run", help="run folder name (default: the newest run with an adapter)")
    p.add_argument("--gguf", choices=("adapter", "merged", "both"), default="adapter",
                   help="adapter: a small GGUF LoRA next to the base GGUF; merged: one standalone model file")
    p.add_argument("--quant", default="Q8_0", help="merged file quantization: Q8_0, Q5_K_M, Q4_K_M, … or f16")
    p.add_argument("--adapter-type", choices=("f32", "f16", "q8_0"), default="f16", help="adapter tensor type")
    p.add_argument("--base-gguf", help="base model GGUF (default: the base you trained on; a Hugging Face folder base is written to GGUF once and cached)")
    p.add_argument("--verify", action="store_true", help="compare llama.cpp with the trained model, logit by logit")

    p = command("evaluate", cmd_evaluate, "Did the model learn your books, and what did it lose? Exam closed and open "
                "book, general knowledge kept, reasoning, perplexity and KL — base vs tuned")
    p.add_argument("--project", required=True, help="project folder")
    p.add_argument("--run", help="run folder name (default: the newest run with an adapter; none: the base model)")
    p.add_argument("--checkpoint", help="a checkpoint of the run instead of its adapter (e.g. step-000040)")
    p.add_argument("--questions", help="score your own question file instead of the exam (TSV: question<TAB>answer1|answer2, "
                   "or JSONL)")
    p.add_argument("--base", action="store_true", help="evaluate the base model alone")
    add_arguments(p, EvalConfig)

    from core.lab.cli import add_lab_parser
    add_lab_parser(sub)

    p = command("demo", cmd_demo, "Run the whole path on the embedded model and the user manual")
    p.add_argument("--project", help="keep the demo project here (default: a temporary folder)")
    p.add_argument("--steps", type=int, default=30, help="training steps (default: 30)")
    p.add_argument("--model", help="base model (default: embedded)")

    from core.serve.cli import add_serve_parser
    add_serve_parser(command)

    from core.selftest import add_selftest_parser
    add_selftest_parser(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    from core.quiet import quiet_libraries
    quiet_libraries()  # before any import of peft/bitsandbytes: their import-time chatter
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--selftest":  # the flag support asks users to run
        argv[0] = "selftest"
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from core.models import ModelError
    from core.project import ProjectError
    from core.export.gguf_lora import ExportError
    from core.train import TrainError
    from core.evaluate.job import EvaluateError
    from core.evaluate.questions import QuestionFileError
    from core.lab.score_job import LabError
    from core.serve import ServeError

    _quiet_libraries()
    args.cancel = CancelToken()
    report = CliReporter(quiet=args.quiet)

    def on_interrupt(signum, frame) -> None:
        # First Ctrl-C asks the job to stop cleanly (training saves its adapter); a second one aborts.
        if args.cancel.cancelled:
            raise KeyboardInterrupt
        args.cancel.cancel()
        print("\nStopping after the current step… (Ctrl-C again to abort)", file=sys.stderr)

    signal.signal(signal.SIGINT, on_interrupt)
    try:
        summary, code = args.func(args, report)
    except KeyboardInterrupt:
        args.cancel.cancel()
        summary, code = {"error": "interrupted"}, 130
    except (ModelError, ProjectError, ConfigError, TrainError, ExportError, EvaluateError, QuestionFileError,
            LabError, ServeError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        summary, code = {"error": str(exc)}, 1
    finally:
        report.close()
    summary = {"command": args.command, "ok": code == 0, **summary}
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, default=str))
    return code
