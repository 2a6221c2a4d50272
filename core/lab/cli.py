"""The lab's command line: ``python main.py lab score …`` (more lab commands join here).

Kept beside the lab so ``core/cli.py`` only registers it; the job itself is ``score_job.py``.
"""
from __future__ import annotations

import argparse

from core.config import MergeConfig, ScoreConfig, add_arguments, from_args


def add_lab_parser(sub) -> None:
    """Register ``lab`` and its subcommands on the top-level subparsers ``sub``."""
    help_ = "The lab: which samples and books teach (perplexity, IFD, per-book ranking), a selection to train on"
    lab = sub.add_parser("lab", help=help_, description=help_)
    lab.add_argument("--json", action="store_true", help="end with a one-line JSON summary on stdout "
                     "(give it after the lab command: lab score … --json)")
    lab.add_argument("--quiet", action="store_true", help="no progress bar, only warnings and errors")
    lab.set_defaults(func=_usage(lab))
    commands = lab.add_subparsers(dest="lab_command", metavar="{score,books,merge,run}")
    p = _command(commands, "score", help="Score a format's training samples: perplexity and IFD per sample, "
                            "books ranked, optionally a selection (top X%% by IFD) to train on with --select",
                            description="Score a format's training samples with a small model: perplexity, "
                            "Instruction-Following Difficulty (IFD), books ranked by it; --top-percent or an IFD "
                            "band writes lab/scores/<format>/selection.json for `train --select`")
    p.add_argument("--format", help="which format's samples (default: the format last built or trained)")
    add_arguments(p, ScoreConfig)
    p.set_defaults(func=cmd_lab_score)

    p = _command(commands, "books", help="After an evaluated run: which books the model learned most from (exam "
                            "gain and held-out loss reduction per book, ranked)",
                            description="Per-book influence of an evaluated run: each book's exam questions (base → "
                            "tuned, answer likelihood gain) and the loss on its held-out chunks (base → tuned), "
                            "ranked; also saved as runs/<id>/books.json")
    p.add_argument("--run", help="run folder name (default: the newest run with an adapter)")
    p.set_defaults(func=cmd_lab_books)

    p = _command(commands, "merge", help="Merge two or more runs' adapters (linear, cat, svd, TIES, DARE, SLERP) "
                            "into a new run you can chat with, evaluate and export",
                            description="Merge two or more runs' adapters into a new run (runs/<id>/adapter): "
                            "chat with it, evaluate it, export it like any run; --evaluate scores it at once")
    p.add_argument("--runs", required=True, help="run folder names, comma-separated (two or more)")
    p.add_argument("--evaluate", action="store_true", help="evaluate the merged adapter (the project's evaluation "
                   "settings) and show it beside its parents' last evaluations")
    add_arguments(p, MergeConfig)
    p.set_defaults(func=cmd_lab_merge)

    p = _command(commands, "run", help="Run an experiment written as YAML (compare formats on equal budgets), "
                            "headless; run it again to resume after a crash or a stop",
                            description="Run an experiment recipe (YAML): kind formats trains the corpus in each "
                            "listed format with the same budget, evaluates every run and writes lab/<name>/results.json "
                            "and results.csv. A finished format is never trained again: run it again to resume.")
    p.add_argument("experiment", help="the experiment's YAML file")
    p.set_defaults(func=cmd_lab_run)


def _command(commands, name: str, **texts) -> argparse.ArgumentParser:
    """A lab subcommand with the options every command has (--json, --quiet, --project)."""
    p = commands.add_parser(name, **texts)
    p.add_argument("--json", action="store_true", help="end with a one-line JSON summary on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bar, only warnings and errors")
    p.add_argument("--project", required=True, help="project folder")
    return p


def _usage(parser: argparse.ArgumentParser):
    def show(args, report) -> tuple[dict, int]:
        parser.print_help()
        return {"error": "choose a lab command"}, 2
    return show


def cmd_lab_score(args, report) -> tuple[dict, int]:
    from core.lab.score_job import score_dataset
    from core.project import Project

    project = Project.open(args.project, create=False)
    fmt = args.format or project.settings("format").format
    config = from_args(ScoreConfig, args, project.settings("score"))
    project.save_settings(score=config)
    summary = score_dataset(project, fmt, config, report, args.cancel)
    if not args.json:
        print(books_table(summary))
    return summary, 0


def cmd_lab_merge(args, report) -> tuple[dict, int]:
    from core.lab.merge import merge_runs
    from core.project import Project

    project = Project.open(args.project, create=False)
    config = from_args(MergeConfig, args, project.settings("merge"))
    project.save_settings(merge=config)
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    summary = merge_runs(project, runs, config.method, config.weight_list(), config.density, report, args.cancel)
    if args.evaluate:
        from core.evaluate.job import evaluate

        import json

        evaluation = {summary["run"]: _verdict(evaluate(project, summary["run"], None, project.settings("evaluate"),
                                                        report=report, cancel=args.cancel))}
        for run in summary["runs"]:  # the parents as last evaluated (evaluate them to refresh)
            saved = project.run_dir(run) / "evaluation.json"
            if saved.exists():
                evaluation[run] = _verdict(json.loads(saved.read_text(encoding="utf-8")))
        summary["evaluation"] = evaluation
    if not args.json:
        print(f"Merged {', '.join(summary['runs'])} ({summary['method']}) → run {summary['run']} "
              f"in {summary['seconds']} s")
        for run, verdict in (summary.get("evaluation") or {}).items():
            print(f"  {run}: {verdict['verdict']}")
    return summary, 0


def cmd_lab_books(args, report) -> tuple[dict, int]:
    from core.lab.books import book_influence
    from core.project import Project

    result = book_influence(Project.open(args.project, create=False), args.run, report, args.cancel)
    if not args.json:
        print(f"Run {result['run']}: what each book taught (ranked)\n")
        print(f"{'Book':36s} {'exam base → tuned':>18s} {'likelihood gain':>16s} {'held-out loss base → tuned':>27s}")
        for row in result["books"]:
            loss = (f"{row['heldout_loss_base']:.3f} → {row['heldout_loss_tuned']:.3f}"
                    if row["loss_reduction"] is not None else "— (all trained on)")
            gain = f"{row['logprob_gain']:+.3f}" if row["logprob_gain"] is not None else "—"
            exam = f"{row['exam_base']} → {row['exam_tuned']} of {row['exam_items']}"
            print(f"{row['title'][:36]:36s} {exam:>18s} {gain:>16s} {loss:>27s}")
    return result, 0


def cmd_lab_run(args, report) -> tuple[dict, int]:
    from core.lab.experiment import run_experiment
    from core.project import Project

    project = Project.open(args.project, create=False)
    results = run_experiment(project, args.experiment, report, args.cancel)
    if not args.json:
        print(results_table(results))
    return results, 0


def results_table(results: dict) -> str:
    """The experiment's table as a user reads it."""
    def pct(value):
        return f"{value:.0%}" if isinstance(value, (int, float)) else "—"

    def num(value):
        return f"{value:.2f}" if isinstance(value, (int, float)) else "—"

    width = max([12] + [len(row["format"]) for row in results["rows"]])
    first = "run" if results.get("kind") == "books" else "format"
    lines = [f"Experiment {results['name']}: equal budget {results['budget']}", "",
             f"{first:{width}s} {'exam (base → tuned)':>20s} {'kept':>6s} {'reasoning':>10s} {'book ppl':>18s} "
             f"{'min':>6s}"]
    for row in results["rows"]:
        exam = f"{row['exam_base']} → {row['exam_tuned']} of {row['exam_items']}"
        lines.append(f"{row['format']:{width}s} {exam:>20s} {pct(row['retention']):>6s} "
                     f"{str(row['reasoning_base']) + ' → ' + str(row['reasoning_tuned']):>10s} "
                     f"{num(row['book_ppl_base']) + ' → ' + num(row['book_ppl_tuned']):>18s} {row['minutes']:6.1f}")
    if results.get("books") is not None:  # leave one book out: what each book's own questions lost without it
        lines += ["", f"{'Book':36s} {'its questions: with → without':>30s} {'log-lik. with → without':>26s}"]
        for b in results["books"]:
            lp = f"{num(b['logprob_with'])} → {num(b['logprob_without'])}"
            exam = f"{b['exam_with']} → {b['exam_without']} of {b['exam_items']}"
            lines.append(f"{b['book'][:36]:36s} {exam:>30s} {lp:>26s}")
        lines += ["", results.get("finding", ""), f"Influence table: {results.get('influence_csv')}"]
    lines += ["", f"Table: {results['csv']}"]
    return "\n".join(lines)


def _verdict(result: dict) -> dict:
    return {"verdict": result.get("verdict"), "exam": result.get("exam", {}).get("closed"),
            "retention": result.get("retention")}


def books_table(summary: dict) -> str:
    """The per-book ranking as a user reads it."""
    lines = [f"{summary['samples']} '{summary['format']}' samples scored in {summary['seconds']} s "
             f"({summary['samples_per_s']} samples/s) by {summary['scorer']}", "",
             f"{'Book':40s} {'samples':>8s} {'mean ppl':>9s} {'mean IFD':>9s}"]
    for book in summary["books"]:
        ifd = f"{book['mean_ifd']:.3f}" if book["mean_ifd"] is not None else "—"
        lines.append(f"{book['title'][:40]:40s} {book['samples']:8d} {book['mean_ppl']:9.2f} {ifd:>9s}")
    if summary.get("selection"):
        lines += ["", f"Kept {summary['kept']} of {summary['samples']}: {summary['selection']}"]
    lines += ["", "IFD near 1: the prompt hardly helps write the answer (hard to follow, teaches most); "
              "above 1: prompt and answer do not fit; low: the prompt gives the answer away."]
    return "\n".join(lines)
