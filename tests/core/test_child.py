"""core.child: a job function in a spawned child — result, events, errors, cancel and death reach the caller."""
from __future__ import annotations

import os
import signal
import time

import pytest

from core.child import ChildDied, death_reason, run_in_child, set_background_priority
from core.events import CancelToken, Event
from core.project import ProjectError


def counts(n: int, report, cancel) -> dict:
    for i in range(n):
        report(Event("progress", "test", f"{i}", {"done": i + 1, "total": n}))
    return {"n": n, "pid": os.getpid(), "nice": os.nice(0)}


def fails(report, cancel) -> None:
    raise ProjectError("/p/notes.txt: not a folder")


def waits(report, cancel) -> str:
    report(Event("log", "test", "waiting"))
    deadline = time.monotonic() + 60
    while not cancel.cancelled and time.monotonic() < deadline:
        time.sleep(0.02)
    return "cancelled" if cancel.cancelled else "timed out"


def dies(report, cancel) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def target(name: str) -> str:
    return f"{__name__}:{name}"


def test_the_result_and_every_event_come_back_from_another_process():
    seen = []
    result = run_in_child(target("counts"), {"n": 3}, seen.append)
    assert result["n"] == 3 and result["pid"] != os.getpid()
    assert [e.data["done"] for e in seen] == [1, 2, 3]


def test_the_window_lowers_the_priority_of_the_children_it_starts():
    set_background_priority(5)
    try:
        assert run_in_child(target("counts"), {"n": 0})["nice"] == os.nice(0) + 5
    finally:
        set_background_priority(0)
    assert run_in_child(target("counts"), {"n": 0})["nice"] == os.nice(0)


def test_an_error_in_the_child_is_raised_here_as_itself():
    with pytest.raises(ProjectError, match="not a folder"):
        run_in_child(target("fails"), {})


def test_cancel_reaches_the_child():
    cancel, events = CancelToken(), []

    def report(event):
        events.append(event)
        cancel.cancel()   # as soon as the child is running

    assert run_in_child(target("waits"), {}, report, cancel) == "cancelled"


def test_a_killed_child_is_named_not_waited_for():
    with pytest.raises(ChildDied) as caught:
        run_in_child(target("dies"), {}, what="the evaluation process")
    assert str(caught.value) == "the evaluation process was killed by SIGKILL (the system ran out of memory?)"
    assert death_reason(3, "the reading process") == "the reading process exited with code 3"
