"""Run training in a child process, supervised from a thread of the caller.

A crash, an OOM kill or a hung kernel in the child never takes the app down, and the GUI never
stalls on the GIL. The child sends its events through a queue; the caller's ``report`` sees
them exactly as if ``train()`` ran in-process. Cancel is an inter-process event the child's
CancelToken polls. If the child dies, the caller gets a TrainError naming the reason and the
last good checkpoint (resume it with ``resume=<run>``).
"""
from __future__ import annotations

from pathlib import Path

from core.config import FormatConfig, ModelConfig, TrainConfig, from_dict, to_dict
from core.child import ChildDied, death_reason, run_in_child
from core.events import CancelToken, Reporter
from core.train import checkpoint
from core.train.results import TrainError, TrainResult


def _train_in_child(root: str, configs: dict, resume: str | None, dry_run: bool, report, cancel) -> TrainResult:
    """What the child runs: training, then (when asked) the full evaluation of the finished run."""
    from core.project import Project
    from core.train.engine import train

    project = Project(root)
    train_cfg = from_dict(TrainConfig, configs["train"])
    result = train(project, from_dict(ModelConfig, configs["model"]), from_dict(FormatConfig, configs["format"]),
                   train_cfg, report, cancel, resume=resume, dry_run=dry_run)
    if train_cfg.evaluate_at_end and not dry_run and not result.cancelled:
        from core.evaluate.job import final_evaluation
        final_evaluation(project, result, report, cancel)
    return result


def _death_reason(code: int | None) -> str:
    return death_reason(code, "the training process")


def run_training(project, model_cfg: ModelConfig, fmt_cfg: FormatConfig, cfg: TrainConfig,
                 report: Reporter | None = None, cancel: CancelToken | None = None, resume: str | None = None,
                 dry_run: bool = False, on_start=None) -> TrainResult:
    """``train()`` in a child process; same arguments, same events, same result."""
    configs = {"model": to_dict(model_cfg), "format": to_dict(fmt_cfg), "train": to_dict(cfg)}
    run_dir: list[Path | None] = [Path(project.run_dir(resume)) if resume else None]

    def follow(event) -> None:
        if "run_dir" in event.data:
            run_dir[0] = Path(event.data["run_dir"])

    try:
        return run_in_child("core.train.runner:_train_in_child",
                            {"root": str(project.root), "configs": configs, "resume": resume, "dry_run": dry_run},
                            report, cancel, name="scriptorium-train", what="the training process",
                            on_start=on_start, on_event=follow)
    except ChildDied as exc:
        last = checkpoint.latest(run_dir[0]) if run_dir[0] else None
        where = f"; the last good checkpoint is {last} (resume the run to continue)" if last else ""
        raise TrainError(str(exc) + where) from None
    except TrainError:
        raise
    except Exception as exc:  # noqa: BLE001 — whatever failed in the child reaches the user as a TrainError
        raise TrainError(f"{type(exc).__name__}: {exc}") from None
