"""The evaluation jobs the window starts, each in a child process (``core.child``).

Evaluating loads torch, transformers and a model (or llama.cpp and a GGUF): in the window's own
process that held the GIL for up to 0.3 s at a time (parsing the GGUF, importing torch), and the
window froze while it did (``bench/gui_stall.py``). In a child the window only reads events.
Same arguments, events, results and errors as ``evaluate`` and ``ensure_exam``; the CLI keeps
calling those directly (a terminal has no event loop to starve).
"""
from __future__ import annotations

from pathlib import Path

from core.child import ChildDied, run_in_child
from core.config import EvalConfig
from core.events import CancelToken, Reporter
from core.evaluate.job import EvaluateError
from core.evaluate.questions import Question
from core.project import Project


def _evaluate_at(root: str, report, cancel, **kwargs) -> dict:
    from core.evaluate.job import evaluate
    return evaluate(Project(root), report=report, cancel=cancel, **kwargs)


def _ensure_exam_at(root: str, config: EvalConfig, report, cancel) -> list[Question]:
    from core.evaluate.job import ensure_exam
    return ensure_exam(Project(root), config, report, cancel)


def evaluate_in_child(project: Project, run: str | None = None, questions: str | Path | None = None,
                      config: EvalConfig | None = None, checkpoint: str | None = None, base_only: bool = False,
                      report: Reporter | None = None, cancel: CancelToken | None = None) -> dict:
    kwargs = {"run": run, "questions": str(questions) if questions else None, "config": config,
              "checkpoint": checkpoint, "base_only": base_only}
    return _run("core.evaluate.in_child:_evaluate_at", {"root": str(project.root), **kwargs}, report, cancel)


def ensure_exam_in_child(project: Project, config: EvalConfig, report: Reporter | None = None,
                         cancel: CancelToken | None = None) -> list[Question]:
    return _run("core.evaluate.in_child:_ensure_exam_at", {"root": str(project.root), "config": config},
                report, cancel)


def _run(target: str, kwargs: dict, report, cancel):
    try:
        return run_in_child(target, kwargs, report, cancel, name="scriptorium-evaluate",
                            what="the evaluation process")
    except ChildDied as exc:
        raise EvaluateError(str(exc)) from None
