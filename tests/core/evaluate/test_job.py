"""evaluate(): the whole job on a tiny model — sets, files, cached base side, CLI summary."""
import json

import pytest

from core.config import EvalConfig, ModelConfig, TrainConfig
from core.project import Project

SMALL = EvalConfig(exam_questions=4, general_items=3, reasoning_items=2, answer_tokens=8, languages="en,ru")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model_dir, sample_texts_dir):
    from core.config import FormatConfig
    from core.ingest import ingest
    from core.models import load_tokenizer, resolve
    from core.train import train

    p = Project.open(tmp_path_factory.mktemp("evaluate") / "p")
    p.set_model(ModelConfig(str(tiny_model_dir)))
    ingest(p, [sample_texts_dir / "book.md"], load_tokenizer(resolve(str(tiny_model_dir))))
    p.save_settings(evaluate=SMALL)
    result = train(p, p.model, FormatConfig(eval_fraction=0.0),
                   TrainConfig(steps=2, batch_size=2, max_seq_len=128, eval_every=0, precision="fp32"))
    return p, result


def test_evaluate_run(trained):
    from core.evaluate import evaluate
    from core.evaluate.report import report_text

    project, result = trained
    events = []
    summary = evaluate(project, config=SMALL, report=events.append)
    assert summary["exam"]["items"] >= 1 and summary["exam"]["closed"]["tuned"][1] == summary["exam"]["items"]
    assert summary["exam"]["open"]["base"] is not None
    assert set(summary["general"]) == {"en", "ru"} and summary["general"]["en"]["base"][1] == 3
    assert summary["reasoning"]["en"]["cot"]["tuned"][1] == 2
    assert summary["perplexity"]["en"]["base"] > 0 and summary["kl"] is not None and summary["kl"] >= 0
    assert summary["verdict"].startswith("Learned")
    assert "exam passages were in the training text" in summary["exam"]["training"]["note"]
    run_summary = json.loads((result.run_dir / "summary.json").read_text(encoding="utf-8"))
    assert run_summary["verdict"] == summary["verdict"]
    items = [json.loads(line) for line in (result.run_dir / "eval.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {r["side"] for r in items} == {"base", "tuned"} and all("reply" in r for r in items)
    assert any(e.kind == "progress" for e in events)
    assert "Your books" in report_text(summary)
    # the base side is cached: a second evaluation reuses it
    again = []
    evaluate(project, config=SMALL, report=again.append)
    assert any("Base model results reused" in e.message for e in again)


def test_evaluate_user_questions_and_base_only(trained, tmp_path):
    from core.evaluate import evaluate

    project, _ = trained
    questions = tmp_path / "mine.tsv"
    questions.write_text("Where is the mill?\triver\nWhat does the baker open?\tshop\n", encoding="utf-8")
    summary = evaluate(project, questions=questions, config=SMALL)
    assert summary["exam"]["set"] == "user" and summary["exam"]["items"] == 2
    base = evaluate(project, config=SMALL, base_only=True)
    assert base["exam"]["closed"]["tuned"] is None and base["verdict"].startswith("The base model answers")


def test_cli_evaluate_json(trained, capsys):
    from core.cli import main

    project, _ = trained
    code = main(["evaluate", "--project", str(project.root), "--general-items", "2", "--reasoning-items", "1",
                 "--languages", "en", "--answer-tokens", "8", "--json"])
    out = capsys.readouterr().out.strip().splitlines()[-1]
    summary = json.loads(out)
    assert code == 0 and summary["command"] == "evaluate" and summary["ok"]
    for key in ("exam", "general", "retention", "reasoning", "kl", "perplexity", "verdict"):
        assert key in summary
    code = main(["evaluate", "--project", str(project.root), "--questions", "/nonexistent.tsv", "--json"])
    assert code == 1 and "no such question file" in json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"]
