"""Retention, summary and verdict arithmetic; the best-checkpoint rule."""
from core.evaluate.verdict import best_point, chosen_point, least_forgetting, summarize, verdict, warnings


def rows(set_name, mode, side, results):
    return [{"set": set_name, "mode": mode, "side": side, "id": f"{set_name}-{i}", "correct": ok,
             **({"logprob": -2.0 if side == "base" else -1.0} if set_name == "exam" and mode == "closed" else {})}
            for i, ok in enumerate(results)]


def test_retention_counts_only_what_the_base_knew():
    data = (rows("general-en", "closed", "base", [True, True, True, True, False])
            + rows("general-en", "closed", "tuned", [True, True, True, False, True])
            + rows("exam", "closed", "base", [False] * 4) + rows("exam", "closed", "tuned", [True, True, False, False])
            + rows("exam", "open", "base", [True, True, True, False]) + rows("exam", "open", "tuned", [True] * 4)
            + rows("reasoning-en", "direct", "base", [True, False]) + rows("reasoning-en", "direct", "tuned", [False, False]))
    s = summarize(data, "exam", ["en"])
    assert s["general"]["en"] == {"base": [4, 5], "tuned": [4, 5], "kept": 3, "known": 4, "retention": 0.75}
    assert s["retention"] == 0.75
    assert s["exam"]["closed"] == {"base": [0, 4], "tuned": [2, 4]}
    assert s["exam"]["logprob"] == {"base": -2.0, "tuned": -1.0, "gain": 1.0}
    text = verdict(s)
    assert text == ("Learned 2 of 4 questions about your books (base 0; with look-up 4). Kept 75% of general answers. "
                    "Reasoning 1 → 0 of 2.")
    warned = warnings(s, 0.9, {"train_first": 3.0, "train_last": 1.0, "eval_best": 3.0, "eval_last": 3.9})
    assert any("Kept only 75%" in w for w in warned)
    assert any("Held-out loss rose from 3.00 to 3.90" in w for w in warned)
    assert not any("did not move" in w for w in warned)
    forgetting = next(w for w in warned if "Kept only 75%" in w)
    assert "knowledge format" in forgetting  # a run without replay is pointed to it …
    # … one that already replays gets what it has not tried
    replaying = warnings(s, 0.9, None, {"format": "knowledge", "replay": 0.25})
    assert any("Kept only 75%" in w and "--replay 0.4" in w and "knowledge format" not in w for w in replaying)


def test_exam_that_did_not_move_and_a_language_the_base_does_not_know():
    data = (rows("exam", "closed", "base", [True, False]) + rows("exam", "closed", "tuned", [True, False])
            + rows("general-ru", "closed", "base", [False, False]) + rows("general-ru", "closed", "tuned", [False, False]))
    for r in data:
        if "logprob" in r:
            r["logprob"] = -2.0
    s = summarize(data, "exam", ["ru"])
    assert s["retention"] is None and s["general"]["ru"]["retention"] is None
    warned = warnings(s, 0.9)
    assert any("did not move" in w for w in warned)
    assert any("answered none of the general questions in Russian" in w for w in warned)


def test_base_only_verdict():
    data = rows("exam", "closed", "base", [True, False, False]) + rows("exam", "open", "base", [True, True, False])
    assert verdict(summarize(data, "exam", [])) == "The base model answers 1 of 3 questions about your books; with look-up 2."


def test_best_point_rule():
    points = [{"step": 10, "exam_correct": 2, "exam_logprob": -3.0, "retention": 1.0, "eval_loss": 2.0},
              {"step": 20, "exam_correct": 5, "exam_logprob": -2.0, "retention": 0.95, "eval_loss": 2.1},
              {"step": 30, "exam_correct": 7, "exam_logprob": -1.5, "retention": 0.80, "eval_loss": 2.2},  # forgot
              {"step": 40, "exam_correct": 8, "exam_logprob": -1.0, "retention": 0.97, "eval_loss": 2.9},  # exploded
              {"step": 50, "exam_correct": 5, "exam_logprob": -1.9, "retention": 0.96, "eval_loss": 2.3}]
    assert best_point(points, 0.9)["step"] == 50  # ties on answers go to the better likelihood
    assert best_point(points[:2], 0.9)["step"] == 20
    assert best_point([{"step": 5, "retention": 0.5}], 0.9) is None


def test_when_no_point_keeps_enough_the_least_forgetting_one_is_used():
    points = [{"step": 10, "exam_correct": 1, "retention": 0.85}, {"step": 20, "exam_correct": 2, "retention": 0.69},
              {"step": 30, "exam_correct": 0, "retention": 0.85}]
    assert best_point(points, 0.9) is None
    assert least_forgetting(points)["step"] == 10  # most kept, then most exam answers, then the earliest
    assert least_forgetting([]) is None
    assert chosen_point(points, 0.9) == (points[0], True) and chosen_point([], 0.9) == (None, False)
