"""Run training in a child process, supervised from a thread of the caller.

A crash, an OOM kill or a hung kernel in the child never takes the app down, and the GUI never
stalls on the GIL. The child sends its events through a queue; the caller's ``report`` sees
them exactly as if ``train()`` ran in-process. Cancel is an inter-process event the child's
CancelToken polls. If the child dies, the caller gets a TrainError naming the reason and the
last good checkpoint (resume it with ``resume=<run>``).
"""
from __future__ import annotations

import multiprocessing as mp
import queue
import signal
from pathlib import Path

from core.config import FormatConfig, ModelConfig, TrainConfig, from_dict, to_dict
from core.events import CancelToken, Reporter
from core.train import checkpoint
from core.train.results import TrainError, TrainResult


class _ProcessCancel(CancelToken):
    """A CancelToken backed by a multiprocessing.Event shared with the parent."""

    def __init__(self, event) -> None:
        super().__init__()
        self._mp_event = event

    @property
    def cancelled(self) -> bool:
        return self._mp_event.is_set()

    def cancel(self) -> None:
        self._mp_event.set()


def _child(root: str, configs: dict, resume: str | None, dry_run: bool, events, stop) -> None:
    """Entry point of the training process (module-level so 'spawn' can import it)."""
    import os
    import traceback

    from core.quiet import quiet_transformers
    quiet_transformers()  # a spawned child starts from scratch: quiet its imports too
    from core.project import Project
    from core.train.engine import train

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the parent, which cancels cleanly
    try:
        project, cancel = Project(root), _ProcessCancel(stop)
        train_cfg = from_dict(TrainConfig, configs["train"])
        result = train(project, from_dict(ModelConfig, configs["model"]), from_dict(FormatConfig, configs["format"]),
                       train_cfg, lambda e: events.put(("event", e)), cancel, resume=resume, dry_run=dry_run)
        if train_cfg.evaluate_at_end and not dry_run and not result.cancelled:
            from core.evaluate.job import final_evaluation
            final_evaluation(project, result, lambda e: events.put(("event", e)), cancel)
        events.put(("result", result))
    except TrainError as exc:
        events.put(("error", str(exc)))
    except BaseException as exc:  # anything else: report it, with the traceback in the log
        traceback.print_exc()
        events.put(("error", f"{type(exc).__name__}: {exc}"))


def _death_reason(code: int | None) -> str:
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        hint = " (the system ran out of memory?)" if name == "SIGKILL" else ""
        return f"the training process was killed by {name}{hint}"
    return f"the training process exited with code {code}"


def run_training(project, model_cfg: ModelConfig, fmt_cfg: FormatConfig, cfg: TrainConfig,
                 report: Reporter | None = None, cancel: CancelToken | None = None, resume: str | None = None,
                 dry_run: bool = False, on_start=None) -> TrainResult:
    """``train()`` in a child process; same arguments, same events, same result."""
    cancel = cancel or CancelToken()
    ctx = mp.get_context("spawn")  # fork would copy the GUI's threads and Qt state into the child
    events, stop = ctx.Queue(), ctx.Event()
    configs = {"model": to_dict(model_cfg), "format": to_dict(fmt_cfg), "train": to_dict(cfg)}
    child = ctx.Process(target=_child, args=(str(project.root), configs, resume, dry_run, events, stop),
                        name="scriptorium-train", daemon=True)
    child.start()
    if on_start:
        on_start(child)
    outcome = None
    run_dir: Path | None = Path(project.run_dir(resume)) if resume else None
    while outcome is None:
        if cancel.cancelled:
            stop.set()
        try:
            kind, payload = events.get(timeout=0.2)
        except queue.Empty:
            if not child.is_alive():
                # drain anything sent just before exit, then give up
                try:
                    kind, payload = events.get(timeout=1.0)
                except queue.Empty:
                    break
            else:
                continue
        if kind == "event":
            run_dir = Path(payload.data["run_dir"]) if "run_dir" in payload.data else run_dir
            if report:
                report(payload)
        else:
            outcome = (kind, payload)
    child.join(timeout=30)
    if outcome is None:
        last = checkpoint.latest(run_dir) if run_dir else None
        where = f"; the last good checkpoint is {last} (resume the run to continue)" if last else ""
        raise TrainError(_death_reason(child.exitcode) + where)
    kind, payload = outcome
    if kind == "error":
        raise TrainError(payload)
    return payload
