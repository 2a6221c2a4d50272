"""core.events: the cancel token and the reporter every long job talks through."""
from __future__ import annotations

import threading
import time

import pytest

from core.events import Cancelled, CancelToken, Event, StageReporter, null_reporter


def test_cancel_token_starts_clear_and_stays_set():
    token = CancelToken()
    assert not token.cancelled
    token.raise_if_cancelled()  # no-op while clear
    token.cancel()
    token.cancel()  # idempotent
    assert token.cancelled
    with pytest.raises(Cancelled):
        token.raise_if_cancelled()


def test_cancel_token_is_seen_across_threads():
    token = CancelToken()
    seen = threading.Event()

    def job():
        while not token.cancelled:
            time.sleep(0.001)
        seen.set()

    worker = threading.Thread(target=job, daemon=True)
    worker.start()
    token.cancel()
    worker.join(timeout=5)
    assert seen.is_set()


def test_stage_reporter_emits_events_with_kind_stage_and_data():
    events: list[Event] = []
    say = StageReporter(events.append, "ingest")
    say.progress(3, 10, "Reading a.txt", file="a.txt")
    say.metric(loss=1.5, step=2)
    say.log("hello", file="b.md")
    say.warning("careful")
    say.error("broken", file="c.txt")
    say(Event("log", "other", "passed through"))

    assert all(isinstance(e, Event) for e in events)
    assert [e.kind for e in events] == ["progress", "metric", "log", "warning", "error", "log"]
    assert [e.stage for e in events] == ["ingest"] * 5 + ["other"]
    assert events[0].data == {"done": 3, "total": 10, "file": "a.txt"}
    assert events[0].message == "Reading a.txt"
    assert events[1].data == {"loss": 1.5, "step": 2} and events[1].message == ""
    assert events[2].data == {"file": "b.md"}
    assert events[3].message == "careful" and events[3].data == {}
    assert events[4].data == {"file": "c.txt"}
    assert events[5].message == "passed through"


def test_stage_reporter_without_callback_drops_events():
    say = StageReporter(None, "train")
    say.progress(1, 2)
    say.metric(loss=1.0)
    say.error("nobody listens")
    assert say.stage == "train"
    assert null_reporter(Event("log", "x")) is None


def test_event_to_dict_flattens_data_and_rounds_time():
    event = Event("metric", "train", "", {"step": 4, "loss": 0.25}, time=1234.56789)
    assert event.to_dict() == {"kind": "metric", "stage": "train", "message": "", "time": 1234.568,
                               "step": 4, "loss": 0.25}


def test_event_defaults():
    before = time.time()
    event = Event("log", "model")
    assert event.message == "" and event.data == {}
    assert before <= event.time <= time.time()
    assert Event("log", "a").data is not Event("log", "b").data  # no shared mutable default
