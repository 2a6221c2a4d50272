"""From graded rows to numbers and plain words: what the model learned, what it lost, what to try.

``summarize`` turns the per-item rows of an evaluation into the numbers every report shows (exam
closed/open × base/tuned, likelihood gain, retention per language, reasoning, perplexity, KL);
``verdict`` says them as a sentence a user reads; ``warnings`` names what went wrong and what to
try. ``best_point`` is the rule that picks the checkpoint chat and export use.
"""
from __future__ import annotations

from core.evaluate.fit import NAMES
from core.evaluate.suite import accuracy, mean_logprob, retention

EXAM_SETS = ("exam", "user")
OVERFIT_RISE = 1.10        # eval loss this much above its best while training loss falls: overfitting
EXPLODED = 1.25            # a checkpoint whose eval loss is this much above the best is never "best"
STILL = 0.05               # mean log-prob gain per token below this (and no more answers): the exam did not move


def _pair(rows, set_name, mode, side):
    correct, total = accuracy(rows, set_name, mode, side)
    return [correct, total] if total else None


def summarize(rows: list[dict], exam_set: str, languages: list[str]) -> dict:
    out: dict = {"exam": {"set": exam_set, "items": len({r["id"] for r in rows if r["set"] == exam_set})}}
    for mode in ("closed", "open"):
        out["exam"][mode] = {side: _pair(rows, exam_set, mode, side) for side in ("base", "tuned")}
    base_lp, tuned_lp = mean_logprob(rows, exam_set, "base"), mean_logprob(rows, exam_set, "tuned")
    out["exam"]["logprob"] = {"base": base_lp, "tuned": tuned_lp,
                              "gain": round(tuned_lp - base_lp, 4) if None not in (base_lp, tuned_lp) else None}
    general, kept_all, known_all = {}, 0, 0
    for lang in languages:
        name = f"general-{lang}"
        if not any(r["set"] == name for r in rows):
            continue
        kept, known = retention(rows, name)
        kept_all, known_all = kept_all + kept, known_all + known
        general[lang] = {"base": _pair(rows, name, "closed", "base"), "tuned": _pair(rows, name, "closed", "tuned"),
                         "kept": kept, "known": known, "retention": round(kept / known, 4) if known else None}
    out["general"] = general
    out["retention"] = round(kept_all / known_all, 4) if known_all else None
    out["reasoning"] = {}
    for lang in languages:
        name = f"reasoning-{lang}"
        if any(r["set"] == name for r in rows):
            out["reasoning"][lang] = {mode: {side: _pair(rows, name, mode, side) for side in ("base", "tuned")}
                                      for mode in ("direct", "cot") if any(r["mode"] == mode and r["set"] == name
                                                                           for r in rows)}
    return out


def _count(pair) -> str:
    return f"{pair[0]} of {pair[1]}" if pair else "—"


def reasoning_total(summary: dict, side: str, mode: str = "direct") -> list[int] | None:
    pairs = [v[mode][side] for v in summary.get("reasoning", {}).values() if mode in v and v[mode].get(side)]
    return [sum(p[0] for p in pairs), sum(p[1] for p in pairs)] if pairs else None


def verdict(summary: dict) -> str:
    """E.g. 'Learned 14 of 40 questions about your books (base 2; with look-up 25). Kept 96% of
    general answers. Reasoning 31 → 29 of 50.'"""
    exam, parts = summary["exam"], []
    closed, opened = exam["closed"], exam["open"]
    if closed.get("tuned"):
        look = f"; with look-up {opened['tuned'][0]}" if opened.get("tuned") else ""
        base = f"base {closed['base'][0]}" if closed.get("base") else "no base score"
        parts.append(f"Learned {_count(closed['tuned'])} questions about your books ({base}{look}).")
    elif closed.get("base"):
        look = f"; with look-up {opened['base'][0]}" if opened.get("base") else ""
        parts.append(f"The base model answers {_count(closed['base'])} questions about your books{look}.")
    if summary.get("retention") is not None and closed.get("tuned"):
        parts.append(f"Kept {summary['retention']:.0%} of general answers.")
    base_r, tuned_r = reasoning_total(summary, "base"), reasoning_total(summary, "tuned")
    if base_r and tuned_r:
        parts.append(f"Reasoning {base_r[0]} → {tuned_r[0]} of {tuned_r[1]}.")
    elif base_r:
        parts.append(f"Reasoning {base_r[0]} of {base_r[1]}.")
    return " ".join(parts)


def loss_trend(metrics: list[dict]) -> dict:
    train = [m["loss"] for m in metrics if "loss" in m]
    evals = [m["eval_loss"] for m in metrics if "eval_loss" in m]
    return {"train_first": train[0] if train else None, "train_last": train[-1] if train else None,
            "eval_first": evals[0] if evals else None, "eval_best": min(evals) if evals else None,
            "eval_last": evals[-1] if evals else None}


def warnings(summary: dict, floor: float, trend: dict | None = None, recipe: dict | None = None) -> list[str]:
    """Plain-words warnings, each with what to try; ``recipe`` (the run's format settings, when a run
    is evaluated) keeps the advice to what the run did not use already."""
    out = []
    retained = summary.get("retention")
    tuned = summary["exam"]["closed"].get("tuned")
    if retained is not None and tuned and retained < floor:
        replaying = (recipe or {}).get("format") == "knowledge" and (recipe or {}).get("replay", 0) > 0
        advice = ("Try the best checkpoint, a larger replay share (--replay 0.4), the KL penalty (--kl-weight "
                  "0.1), fewer steps or a lower learning rate." if replaying else
                  "Try the best checkpoint, fewer steps or a lower learning rate, or the knowledge format (goal "
                  "“Know the facts in my books”) with replay.")
        out.append(f"Kept only {retained:.0%} of the general answers the base model knew (below {floor:.0%}): "
                   f"the model is forgetting. {advice}")
    trend = trend or {}
    if trend.get("eval_last") and trend.get("eval_best") and trend.get("train_last") is not None \
            and trend["eval_last"] > OVERFIT_RISE * trend["eval_best"] and trend["train_last"] < trend["train_first"]:
        out.append(f"Held-out loss rose from {trend['eval_best']:.2f} to {trend['eval_last']:.2f} while training "
                   f"loss fell to {trend['train_last']:.2f}: the run memorised its training text (overfitting). "
                   f"Use the best checkpoint, fewer steps, or a lower learning rate.")
    base = summary["exam"]["closed"].get("base")
    gain = summary["exam"]["logprob"].get("gain")
    if tuned and base and tuned[0] <= base[0] and (gain is None or gain < STILL):
        out.append("The exam did not move: the model did not learn the facts of your books. Try the knowledge "
                   "format (goal “Know the facts in my books”: restatements and questions from every passage), more "
                   "steps, or a larger base model; with look-up (open book) it can still quote them.")
    for lang, g in summary.get("general", {}).items():
        if g.get("base") and g["base"][1] and g["base"][0] == 0:
            out.append(f"The base model answered none of the general questions in {NAMES.get(lang, repr(lang))}: it "
                       f"does not know that language, so it cannot learn books written in it. Choose a multilingual "
                       f"base model (e.g. a Qwen2.5 or Gemma folder or GGUF) on the Model page.")
    return out


def best_point(points: list[dict], floor: float) -> dict | None:
    """The evaluation point chat and export should use.

    Rule: among points whose retention is at least ``floor`` (or unknown) and whose eval loss is
    not above ``EXPLODED`` × the lowest eval loss seen, the one with the most exam answers, then
    the highest exam log-probability, then the latest. None when no point qualifies.
    """
    losses = [p["eval_loss"] for p in points if p.get("eval_loss") is not None]
    lowest = min(losses) if losses else None
    ok = [p for p in points
          if (p.get("retention") is None or p["retention"] >= floor)
          and (lowest is None or p.get("eval_loss") is None or p["eval_loss"] <= EXPLODED * lowest)]
    if not ok:
        return None
    return max(ok, key=lambda p: (p.get("exam_correct") or 0, p.get("exam_logprob") or -1e9, p["step"]))


def least_forgetting(points: list[dict]) -> dict | None:
    """When no point keeps enough (``best_point`` is None): the one that kept most of the general
    answers, then the most exam answers, then the earliest — the last step is usually the worst."""
    if not points:
        return None
    return max(points, key=lambda p: (p.get("retention") if p.get("retention") is not None else -1.0,
                                      p.get("exam_correct") or 0, p.get("exam_logprob") or -1e9, -p["step"]))


def chosen_point(points: list[dict], floor: float) -> tuple[dict | None, bool]:
    """The point chat and export use, and whether it is only the least forgetting one (none kept ``floor``)."""
    best = best_point(points, floor) if points else None
    if best is None and any(p.get("retention") is not None for p in points):
        return least_forgetting(points), True
    return best, False
