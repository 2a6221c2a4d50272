"""Per-book influence of an evaluated run: one row per book with its exam and held-out loss, the
loss equal to the scorer's own per-book computation; an unevaluated run is refused with what to do."""
from __future__ import annotations

import json

import pytest

from core.config import CorpusConfig, EvalConfig, FormatConfig, ModelConfig, TrainConfig
from core.project import Project

SMALL = EvalConfig(exam_questions=4, general_items=2, reasoning_items=1, answer_tokens=8, languages="en",
                   step_by_step=False)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, tiny_model_dir, sample_texts_dir):
    from core.evaluate import evaluate
    from core.ingest import ingest
    from core.models import load_tokenizer, resolve
    from core.train import train

    p = Project.open(tmp_path_factory.mktemp("books") / "p")
    p.set_model(ModelConfig(str(tiny_model_dir)))
    ingest(p, [sample_texts_dir / "book.md", sample_texts_dir / "rus-cp1251.txt"],
           load_tokenizer(resolve(str(tiny_model_dir))), CorpusConfig(chunk_tokens=32))
    result = train(p, p.model, FormatConfig(eval_fraction=0.3),
                   TrainConfig(steps=2, batch_size=2, max_seq_len=96, eval_every=0, precision="fp32",
                               evaluate_at_end=False))
    evaluate(p, result.run_dir.name, None, SMALL)
    return p, result.run_dir.name


def test_each_book_has_its_exam_and_held_out_loss(evaluated, capsys):
    from core.cli import main

    project, run = evaluated
    assert main(["lab", "books", "--project", str(project.root), "--run", run, "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    books = {b["title"]: b for b in result["books"]}
    assert len(books) == 2 and result["held_out_chunks"] >= 1
    exam = [json.loads(line) for line in (project.root / "exam" / "exam.jsonl").read_text().splitlines()]
    for book in books.values():
        assert book["exam_items"] == sum(1 for q in exam if q["doc_id"] == book["doc_id"])
        if book["loss_reduction"] is not None:
            assert book["loss_reduction"] == pytest.approx(book["heldout_loss_base"] - book["heldout_loss_tuned"],
                                                          abs=1e-3)
    assert any(b["heldout_loss_base"] for b in books.values())
    assert (project.run_dir(run) / "books.json").exists()


def test_an_unevaluated_run_says_what_to_do(evaluated, tmp_path):
    from core.lab.books import book_influence
    from core.lab.score_job import LabError

    project, run = evaluated
    (project.run_dir(run) / "eval.jsonl").rename(tmp_path / "eval.jsonl")
    try:
        with pytest.raises(LabError, match="not been evaluated"):
            book_influence(project, run)
    finally:
        (tmp_path / "eval.jsonl").rename(project.run_dir(run) / "eval.jsonl")
