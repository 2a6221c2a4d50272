"""What a run leaves behind and reports: result record, metrics/log writer, memory, versions."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from core.events import Event, Reporter
from core.project import append_jsonl


class TrainError(RuntimeError):
    """Training cannot go on; the message says why and what was kept."""


@dataclass
class TrainResult:
    run_dir: Path
    adapter_dir: Path
    steps: int
    first_loss: float | None
    last_loss: float | None
    eval_loss: float | None
    cancelled: bool
    stopped_early: bool = False
    best: dict | None = None      # the evaluation point whose adapter chat and export use (None: the last)

    def summary(self) -> dict:
        return {"run_dir": str(self.run_dir), "adapter": str(self.adapter_dir), "steps": self.steps,
                "first_loss": self.first_loss, "last_loss": self.last_loss, "eval_loss": self.eval_loss,
                "cancelled": self.cancelled, "stopped_early": self.stopped_early, "best": self.best}


def resumable(run_dir: Path | None) -> str | None:
    """Why ``run_dir`` can be resumed ("stopped" / "crashed"), or None when it cannot (finished, or no
    checkpoint to start from). A run stopped early by its own rule (the exam stopped rising) is finished."""
    from core.train.checkpoint import latest

    if run_dir is None or latest(run_dir) is None:
        return None
    path = Path(run_dir) / "summary.json"
    if not path.exists():
        return "crashed"  # the process ended before writing its summary: killed, out of memory, power cut
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "crashed"
    return "stopped" if summary.get("cancelled") else None


def recorder(run_dir: Path, report: Reporter | None) -> Reporter:
    """Tee events to the caller and to the run folder (metrics.jsonl, log.txt)."""
    def emit(event: Event) -> None:
        if event.kind == "metric":
            append_jsonl(run_dir / "metrics.jsonl", event.to_dict())
        elif event.message and event.kind != "progress":
            with open(run_dir / "log.txt", "a", encoding="utf-8") as fh:
                fh.write(f"{time.strftime('%H:%M:%S')} {event.kind}: {event.message}\n")
        if report:
            report(event)
    return emit


def peak_memory_mb() -> dict:
    """Peak resident memory of this process (and CUDA's max allocated, on a GPU)."""
    import resource
    import sys

    import torch

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {"peak_rss_mb": round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)}
    if torch.cuda.is_available():
        out["cuda_max_allocated_mb"] = round(torch.cuda.max_memory_allocated() / 2 ** 20, 1)
    return out


def versions() -> dict:
    import peft
    import torch
    import transformers

    from core import __version__
    return {"scriptorium": __version__, "torch": torch.__version__, "transformers": transformers.__version__,
            "peft": peft.__version__}


def read_metrics(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
