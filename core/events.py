"""Events and cancellation: the one channel every long job reports through.

A long job (ingest, train, chat generation, demo) is a plain function that takes
``report: Reporter`` and ``cancel: CancelToken``.  The GUI turns events into Qt signals,
the CLI into a progress bar, the trainer into ``metrics.jsonl`` — all from the same stream.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

Kind = Literal["progress", "metric", "log", "warning", "error"]


@dataclass
class Event:
    """One thing a job wants the world to know.

    kind:     progress (done/total), metric (numbers in ``data``), log, warning, error.
    stage:    which job sent it ("ingest", "train", …).
    message:  a sentence a user can read; may be empty for pure metrics.
    data:     machine-readable details (step, loss, file, done, total …).
    """

    kind: Kind
    stage: str
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "stage": self.stage, "message": self.message,
                "time": round(self.time, 3), **self.data}


Reporter = Callable[[Event], None]


def null_reporter(event: Event) -> None:
    """Reporter that drops everything (for callers that do not care)."""


class Cancelled(Exception):
    """Raised inside a job when its cancel token was set; callers treat it as a clean stop."""


class CancelToken:
    """Thread-safe flag a job polls between units of work (a step, a file, a token)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


class StageReporter:
    """Small convenience wrapper so job code reads as ``say.progress(3, 10, "…")``."""

    def __init__(self, report: Reporter | None, stage: str) -> None:
        self._report = report or null_reporter
        self.stage = stage

    def __call__(self, event: Event) -> None:
        self._report(event)

    def progress(self, done: int, total: int, message: str = "", **data: Any) -> None:
        self._report(Event("progress", self.stage, message, {"done": done, "total": total, **data}))

    def metric(self, message: str = "", **data: Any) -> None:
        self._report(Event("metric", self.stage, message, data))

    def log(self, message: str, **data: Any) -> None:
        self._report(Event("log", self.stage, message, data))

    def warning(self, message: str, **data: Any) -> None:
        self._report(Event("warning", self.stage, message, data))

    def error(self, message: str, **data: Any) -> None:
        self._report(Event("error", self.stage, message, data))
