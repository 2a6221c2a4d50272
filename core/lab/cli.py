"""The lab's command line: ``python main.py lab score …`` (more lab commands join here).

Kept beside the lab so ``core/cli.py`` only registers it; the job itself is ``score_job.py``.
"""
from __future__ import annotations

import argparse

from core.config import ScoreConfig, add_arguments, from_args


def add_lab_parser(sub) -> None:
    """Register ``lab`` and its subcommands on the top-level subparsers ``sub``."""
    help_ = "The lab: which samples and books teach (perplexity, IFD, per-book ranking), a selection to train on"
    lab = sub.add_parser("lab", help=help_, description=help_)
    lab.add_argument("--json", action="store_true", help="end with a one-line JSON summary on stdout "
                     "(give it after the lab command: lab score … --json)")
    lab.add_argument("--quiet", action="store_true", help="no progress bar, only warnings and errors")
    lab.set_defaults(func=_usage(lab))
    commands = lab.add_subparsers(dest="lab_command", metavar="{score}")
    p = commands.add_parser("score", help="Score a format's training samples: perplexity and IFD per sample, "
                            "books ranked, optionally a selection (top X%% by IFD) to train on with --select",
                            description="Score a format's training samples with a small model: perplexity, "
                            "Instruction-Following Difficulty (IFD), books ranked by it; --top-percent or an IFD "
                            "band writes lab/scores/<format>/selection.json for `train --select`")
    p.add_argument("--json", action="store_true", help="end with a one-line JSON summary on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bar, only warnings and errors")
    p.add_argument("--project", required=True, help="project folder")
    p.add_argument("--format", help="which format's samples (default: the format last built or trained)")
    add_arguments(p, ScoreConfig)
    p.set_defaults(func=cmd_lab_score)


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
