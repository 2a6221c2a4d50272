"""Background jobs for the GUI: run a core function in a QThread, relay its events as signals.

Worker code never touches widgets (Anki's rule): the job gets a ``report`` that only emits a
signal, and Qt delivers the signal on the GUI thread. Results and errors come back the same way.
"""
from __future__ import annotations

import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal

from core.events import CancelToken, Event


class Job(QObject):
    """``fn(report=…, cancel=…)`` in a background thread.

    Signals: ``event(Event)`` for every report, ``done(result)`` on success, ``failed(str)`` with
    a one-line message on error, and ``finished()`` last in every case.
    """

    event = Signal(object)
    done = Signal(object)
    failed = Signal(str)
    finished = Signal()

    def __init__(self, fn: Callable[..., Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fn = fn
        self.cancel_token = CancelToken()
        self.thread = QThread()
        self.thread.setObjectName(getattr(fn, "__name__", "job"))
        self.moveToThread(self.thread)
        self.thread.started.connect(self._run)
        # direct: the thread's own event loop ends as soon as the job does. Queued (the default, QThread
        # lives on the GUI thread) the quit waited for the GUI loop, so a window waiting for the thread
        # on close (stop_all) waited its whole deadline.
        self.finished.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def wait(self, ms: int = 30000) -> bool:
        return self.thread.wait(ms)

    def _report(self, event: Event) -> None:
        self.event.emit(event)

    def _run(self) -> None:
        try:
            result = self.fn(report=self._report, cancel=self.cancel_token)
        except Exception as exc:  # every failure becomes a message; the window stays usable
            traceback.print_exc()
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.failed.emit(message)
        else:
            self.done.emit(result)
        self.finished.emit()


class Jobs(QObject):
    """Keeps references to running jobs (a QThread collected while running crashes Qt).

    Pass bound methods of widgets as callbacks: Qt then queues each call to the GUI thread.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: list[Job] = []

    def start(self, fn: Callable[..., Any], on_event: Callable | None = None, on_done: Callable | None = None,
              on_failed: Callable | None = None) -> Job:
        job = Job(fn)
        for signal, slot in ((job.event, on_event), (job.done, on_done), (job.failed, on_failed)):
            if slot:
                signal.connect(slot)
        job.thread.finished.connect(self._forget_finished)
        self._jobs.append(job)
        job.start()
        return job

    def _forget_finished(self) -> None:
        self._jobs = [j for j in self._jobs if not j.thread.isFinished()]

    def running(self) -> list[Job]:
        return [j for j in self._jobs if j.is_running()]

    def stop_all(self, ms: int = 60000) -> None:
        for job in list(self._jobs):
            job.cancel()
        for job in list(self._jobs):
            job.thread.wait(ms)
