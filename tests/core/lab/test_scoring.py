"""Data scoring: perplexity and IFD equal a brute-force loop on a tiny model; per-book aggregates,
histograms and the top-X% / IFD-band selection; a selection file filters the training rows."""
import json
import math

import pytest
import torch

from core.lab.scoring import SampleScore, aggregate, histogram, sample_id, score_samples, select


@pytest.fixture(scope="module")
def scorer(tiny_model_dir):
    from core.evaluate.scorer import TransformersScorer

    return TransformersScorer.load(str(tiny_model_dir), batch_size=2, device="cpu")


ROWS = [{"doc_id": "a", "kind": "qa", "prompt": "Question: where is the mill?\nAnswer:", "completion": " By the river."},
        {"doc_id": "a", "kind": "qa", "prompt": "Who read aloud?", "completion": " The librarian, every evening."},
        {"doc_id": "b", "kind": "source", "prompt": "", "completion": "The mill stood by the river for a century."},
        {"doc_id": "b", "kind": "qa", "prompt": "Где мельница?", "completion": " У реки."}]


def brute_ppl(scorer, context: list[int], answer: list[int]) -> float:
    """One forward per answer token, no batching, no padding."""
    total = 0.0
    with torch.no_grad():
        for j, token in enumerate(answer):
            logits = scorer.model(input_ids=torch.tensor([context + answer[:j]])).logits[0, -1].float()
            total -= float(torch.log_softmax(logits, -1)[token])
    return math.exp(total / len(answer))


def test_perplexity_and_ifd_equal_brute_force(scorer):
    tok = scorer.tokenizer
    start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    scores = score_samples(ROWS, scorer)
    for row, score in zip(ROWS, scores):
        answer = tok(row["completion"], add_special_tokens=False)["input_ids"]
        prompt = tok(row["prompt"], add_special_tokens=False)["input_ids"]
        alone = brute_ppl(scorer, [start], answer)
        assert score.ppl_alone == pytest.approx(alone, rel=1e-3)
        if prompt:
            conditional = brute_ppl(scorer, prompt, answer)
            assert score.ppl == pytest.approx(conditional, rel=1e-3)
            assert score.ifd == pytest.approx(conditional / alone, rel=2e-3)
        else:
            assert score.ifd is None and score.ppl == score.ppl_alone
        assert score.id == sample_id(row) and score.tokens == len(answer)


def test_aggregate_histogram_and_select():
    scores = [SampleScore("1", "a", "qa", 5, 10.0, 12.0, 0.9), SampleScore("2", "a", "qa", 5, 4.0, 8.0, 0.5),
              SampleScore("3", "b", "qa", 5, 30.0, 20.0, 1.5), SampleScore("4", "b", "source", 5, 9.0, 9.0, None),
              SampleScore("5", "b", "qa", 5, 7.0, 10.0, 0.7)]
    books = aggregate(scores, {"a": "Alice", "b": "Bob"})
    assert [b["title"] for b in books] == ["Bob", "Alice"]  # Bob's mean IFD (1.5 + 0.7) / 2 = 1.1 > 0.7
    assert books[1] == {"doc_id": "a", "title": "Alice", "samples": 2, "mean_ppl": 7.0, "mean_ifd": 0.7,
                        "median_ifd": 0.9}
    hist = histogram([0.1, 0.2, 0.9, 1.0], bins=2, low=0.0, high=1.0)
    assert hist == {"edges": [0.0, 0.5, 1.0], "counts": [2, 2]}
    assert select(scores) == {"1", "2", "4", "5"}  # IFD above 1 dropped, plain text kept
    assert select(scores, top_percent=50) == {"1", "5", "4"}  # top half of the 3 rated (ceil → 2)
    assert select(scores, ifd_low=0.6, ifd_high=None) == {"1", "3", "4", "5"}


def test_selection_file_filters_training_rows_only(tmp_path):
    from core.lab.score_job import LabError, apply_selection

    rows = [dict(r, split="train") for r in ROWS] + [dict(ROWS[0], split="eval"),
                                                    {"split": "train", "kind": "replay", "prompt": "p", "completion": "c"}]
    path = tmp_path / "selection.json"
    path.write_text(json.dumps({"ids": [sample_id(ROWS[1])]}), encoding="utf-8")
    kept, dropped = apply_selection(rows, path)
    assert dropped == 3 and [r["split"] for r in kept] == ["train", "eval", "train"]
    assert kept[0]["completion"] == ROWS[1]["completion"] and kept[2]["kind"] == "replay"
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    with pytest.raises(LabError, match="bad.json"):
        apply_selection(rows, tmp_path / "bad.json")
