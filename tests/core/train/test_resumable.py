"""Which runs the window offers to resume: stopped or cut short, with a checkpoint (issue 14)."""
from __future__ import annotations

import json

from core.train.results import resumable


def make_run(tmp_path, checkpoint: bool, summary: dict | None):
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    if checkpoint:
        (run / "checkpoints" / "step-000004").mkdir(parents=True)
        (run / "checkpoints" / "step-000004" / "state.json").write_text("{}")
    if summary is not None:
        (run / "summary.json").write_text(json.dumps(summary))
    return run


def test_stopped_run_with_a_checkpoint(tmp_path):
    assert resumable(make_run(tmp_path, True, {"cancelled": True, "steps": 4})) == "stopped"


def test_killed_run_has_no_summary(tmp_path):
    assert resumable(make_run(tmp_path, True, None)) == "crashed"


def test_finished_or_checkpointless_runs_are_not_offered(tmp_path):
    assert resumable(make_run(tmp_path / "a", True, {"cancelled": False, "steps": 8})) is None
    assert resumable(make_run(tmp_path / "b", False, {"cancelled": True})) is None
    assert resumable(None) is None
