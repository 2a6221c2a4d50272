"""Run a core job function in a spawned child process, its events relayed to the caller's ``report``.

Why a child: a job that loads torch, transformers or a model in the app's own process holds the
GIL in C for hundreds of milliseconds at a time (importing torch alone stalled a window 0.6 s,
measured), so the window froze while it started. In a child the window only reads a queue. A
crash, an out-of-memory kill or a hung kernel in the child never takes the app down either.

``run_in_child("core.evaluate.job:evaluate", {...}, report, cancel)`` calls
``evaluate(**kwargs, report=…, cancel=…)`` in the child and returns its result (which must pickle);
an exception raised there is raised here (the same class when it pickles), and a child that dies
raises ``ChildDied`` naming the signal. Cancel is an inter-process event the child's token polls.
"""
from __future__ import annotations

import multiprocessing as mp
import pickle
import queue
import signal
from typing import Any, Callable

from core.events import CancelToken, Reporter


# How much a child yields the CPU to its parent (os.nice). The window sets it (MainWindow): with
# training on both cores, the window's plot redraws waited behind it for up to 0.12 s (gui_stall);
# the CLI keeps 0, a terminal has nothing to redraw.
_nice = 0


def set_background_priority(nice: int) -> None:
    """Children started from now on run at this niceness (0: the caller's priority)."""
    global _nice
    _nice = nice


class ChildDied(RuntimeError):
    """The child process ended without a result (killed, crashed)."""


class ProcessCancel(CancelToken):
    """A CancelToken backed by a multiprocessing.Event shared with the parent."""

    def __init__(self, event) -> None:
        super().__init__()
        self._mp_event = event

    @property
    def cancelled(self) -> bool:
        return self._mp_event.is_set()

    def cancel(self) -> None:
        self._mp_event.set()


def _entry(target: str, kwargs: dict, events, stop, nice: int = 0) -> None:
    """The child's entry point (module-level so 'spawn' can import it)."""
    import importlib
    import os
    import traceback

    if nice:
        try:
            os.nice(nice)
        except OSError:  # not allowed here: run at the parent's priority
            pass
    from core.quiet import quiet_transformers
    quiet_transformers()  # a spawned child starts from scratch: quiet its imports too
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the parent, which cancels cleanly
    try:
        module, name = target.split(":")
        fn = getattr(importlib.import_module(module), name)
        events.put(("result", fn(**kwargs, report=lambda e: events.put(("event", e)), cancel=ProcessCancel(stop))))
    except BaseException as exc:  # report it, with the traceback in the log for the unexpected ones
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:  # noqa: BLE001 — an exception that does not travel goes as its message
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        if not type(exc).__module__.startswith("core."):  # core's own errors are messages for the user
            traceback.print_exc()
        events.put(("error", exc))


def death_reason(code: int | None, what: str = "the job's process") -> str:
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        hint = " (the system ran out of memory?)" if name == "SIGKILL" else ""
        return f"{what} was killed by {name}{hint}"
    return f"{what} exited with code {code}"


def run_in_child(target: str, kwargs: dict, report: Reporter | None = None, cancel: CancelToken | None = None,
                 name: str = "scriptorium-job", what: str = "the job's process", on_start: Callable | None = None,
                 on_event: Callable | None = None) -> Any:
    """``target(**kwargs, report, cancel)`` in a spawned child; see the module doc. ``on_event(event)``
    sees every event before ``report`` (the train runner follows the run folder with it)."""
    cancel = cancel or CancelToken()
    ctx = mp.get_context("spawn")  # fork would copy the GUI's threads and Qt state into the child
    events, stop = ctx.Queue(), ctx.Event()
    child = ctx.Process(target=_entry, args=(target, kwargs, events, stop, _nice), name=name, daemon=True)
    child.start()
    if on_start:
        on_start(child)
    outcome = None
    while outcome is None:
        if cancel.cancelled:
            stop.set()
        try:
            kind, payload = events.get(timeout=0.2)
        except queue.Empty:
            if child.is_alive():
                continue
            try:  # drain anything sent just before exit, then give up
                kind, payload = events.get(timeout=1.0)
            except queue.Empty:
                break
        if kind == "event":
            if on_event:
                on_event(payload)
            if report:
                report(payload)
        else:
            outcome = (kind, payload)
    child.join(timeout=30)
    if outcome is None:
        raise ChildDied(death_reason(child.exitcode, what))
    kind, payload = outcome
    if kind == "error":
        raise payload
    return payload
