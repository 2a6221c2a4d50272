"""core.cli: ingest → train → chat in-process with --json, exit codes, and every --help."""
from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from core.cli import build_parser, main
from core.config import TrainConfig

FP32 = ["--precision", "fp32"] if "precision" in TrainConfig.__dataclass_fields__ else []  # no bf16 kernel warm-up

BOOK = "# The Mill\n\n" + "\n\n".join(
    f"## Part {part}\n\n" + "\n\n".join(f"The river ran past mill {part}.{i}, and the miller counted the boats "
                                          f"that went by on day {i}." for i in range(3)) for part in range(4))


@pytest.fixture(autouse=True)
def restore_sigint():
    """main() installs its own Ctrl-C handler; give pytest its own back."""
    previous = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, previous)


def run_cli(capsys, *argv) -> tuple[int, dict, str]:
    """Run main(argv); return the exit code, the JSON summary on stdout's last line, and stderr."""
    capsys.readouterr()
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if line.strip()]
    assert lines, f"nothing on stdout; stderr: {captured.err}"
    return code, json.loads(lines[-1]), captured.err


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli-input") / "book.md"
    path.write_text(BOOK, encoding="utf-8")
    return path


def test_ingest_train_chat(capsys, tmp_path, book, tiny_model_dir):
    project = tmp_path / "project"
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"\x00\x01\x02binary\x00" * 20)

    code, summary, _ = run_cli(capsys, "ingest", book, junk, "--project", project, "--json", "--quiet",
                            "--model", tiny_model_dir, "--chunk-tokens", 32)
    assert code == 0
    assert summary["command"] == "ingest" and summary["ok"] is True
    assert summary["project"] == str(project.resolve())
    assert (summary["files"], summary["ingested"], summary["failed"]) == (2, 1, 1)
    assert summary["chunks"] > 0 and summary["tokens"] > 0
    assert len(summary["errors"]) == 1 and "junk.txt" in summary["errors"][0]

    code, summary, _ = run_cli(capsys, "train", "--project", project, "--json", "--quiet", "--steps", 4,
                            "--batch-size", 2, "--max-seq-len", 64, "--eval-every", 2, "--lora-r", 4, *FP32)
    assert code == 0 and summary["command"] == "train" and summary["ok"] is True
    assert summary["steps"] == 4 and summary["cancelled"] is False
    assert {"run_dir", "adapter", "first_loss", "last_loss", "eval_loss", "first_eval_loss", "metrics"} <= set(summary)
    assert summary["first_eval_loss"] is not None
    assert (Path(summary["adapter"]) / "adapter_config.json").exists()
    assert "lora_r: 4" in (Path(summary["run_dir"]) / "config.yaml").read_text(encoding="utf-8")

    code, summary, _ = run_cli(capsys, "chat", "--project", project, "--json", "--quiet",
                               "--prompt", "Tell me about the mill", "--max-new-tokens", 6, "--compare")
    assert code == 0 and summary["command"] == "chat" and summary["ok"] is True
    assert summary["backend"] == "transformers" and Path(summary["run"]).parent == project.resolve() / "runs"
    (reply,) = summary["replies"]
    assert reply["prompt"] == "Tell me about the mill"
    assert isinstance(reply["base"], str) and isinstance(reply["tuned"], str)


def test_ingest_exit_code_1_when_nothing_usable(capsys, tmp_path, tiny_model_dir):
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"\x00\x01\x02binary\x00" * 20)
    code, summary, _ = run_cli(capsys, "ingest", junk, tmp_path / "missing.md", "--project", tmp_path / "p", "--json",
                            "--quiet", "--model", tiny_model_dir)
    assert code == 1 and summary["ok"] is False
    assert summary["ingested"] == 0 and summary["failed"] == 2


def test_ingest_again_is_usable(capsys, tmp_path, book, tiny_model_dir):
    args = ("ingest", book, "--project", tmp_path / "p", "--json", "--quiet", "--model", tiny_model_dir)
    assert run_cli(capsys, *args)[0] == 0
    code, summary, _ = run_cli(capsys, *args)
    assert code == 0 and summary["skipped"] == 1 and summary["ingested"] == 0


def test_errors_become_json_and_exit_1(capsys, tmp_path):
    code, summary, err = run_cli(capsys, "train", "--project", tmp_path / "nowhere", "--json", "--quiet")
    assert code == 1 and summary["ok"] is False and "not a Scriptorium project" in summary["error"]
    assert "error:" in err


def test_bad_model_is_reported(capsys, tmp_path, book):
    code, summary, _ = run_cli(capsys, "ingest", book, "--project", tmp_path / "p", "--json", "--quiet",
                            "--model", tmp_path / "no-such-model")
    assert code == 1 and "no such file or folder" in summary["error"]


def _subcommands() -> list[str]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return sorted(sub.choices)


@pytest.mark.parametrize("command", _subcommands())
def test_help_of_each_subcommand(capsys, command):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"python main.py {command}" in out and "--json" in out


def test_help_lists_stage_options(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "--lora-r" in out and "--max-seq-len" in out and "LoRA rank" in out


def test_no_command_prints_help_and_returns_2(capsys):
    assert main([]) == 2
    assert "ingest" in capsys.readouterr().out


def test_bad_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--project", "x", "--device", "tpu"])
    assert exit_info.value.code == 2


def test_goal_knowledge_trains_and_says_what_it_learned(capsys, tmp_path, book, tiny_model_dir):
    """--goal knowledge: the knowledge format and an auto plan; the run ends with a verdict. The tiny random
    writer's restatements fail the checks, so the recipe falls back to the text with its source, no replay."""
    project = tmp_path / "project"
    code, _, _ = run_cli(capsys, "ingest", book, "--project", project, "--json", "--quiet", "--model",
                         tiny_model_dir, "--chunk-tokens", 96)  # chunks of several sentences: room for an exam
    assert code == 0
    from core.config import EvalConfig
    from core.project import Project
    Project(project).save_settings(evaluate=EvalConfig(exam_questions=3, general_items=2, reasoning_items=1,
                                                       answer_tokens=8, quick_exam=2, quick_general=2, languages="en"))
    code, summary, _ = run_cli(capsys, "train", "--project", project, "--json", "--quiet", "--goal", "knowledge",
                               "--in-process", "--batch-size", 2, "--max-seq-len", 128, "--restatements", 1,
                               "--gen-max-tokens", 16, *FP32)
    assert code == 0 and summary["steps"] >= 20  # the auto plan's smallest run
    run = Path(summary["run_dir"])
    log = (run / "log.txt").read_text(encoding="utf-8")
    assert "Plan for the knowledge goal" in log
    samples = [json.loads(line) for line in (project / "datasets" / "knowledge" / "samples.jsonl").open()]
    kinds = {s.get("kind") for s in samples}
    assert kinds == {"source"} and "text with its source only" in log
    assert not (project / "datasets" / "replay" / "generated.jsonl").exists()  # no replay asked for
    from core.config import load_yaml
    trained = load_yaml(run / "config.yaml")["format"]  # the run records what it really trained on
    assert (trained.parts, trained.replay) == ("text", 0.0)
    assert summary["verdict"] and summary["evaluation"]["exam"]["items"] >= 1
    assert (run / "evaluation.json").exists() and (run / "eval.jsonl").exists()
