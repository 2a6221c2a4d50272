"""What the window says about evaluations: read from a run folder, put in rows and sentences.

Pure functions, no widgets: the Train page (quick checks while training), the Results page (full
evaluations) and their tests share them. Core writes its numbers in ``metrics.jsonl`` (quick
checks: ``exam_correct``/``exam_total``/``retention`` per evaluation step, step 0 = the base
model), ``evaluation*.json`` (the full summary of ``core.evaluate.evaluate``) and ``summary.json``
(verdict, warnings, the ``best`` checkpoint). Its sentences (verdict, warnings) are translated
through ``gui.messages``; everything the GUI words itself goes through ``tr``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from gui.i18n import N_, tr
from gui.messages import tr_message, tr_sentences

LANGUAGE_NAMES = {"en": N_("English"), "ru": N_("Russian")}
QUICK_KEYS = ("exam_correct", "exam_total", "retention", "general_known")


@dataclass
class Row:
    """One line of the results table; ``good`` colours the change (True green, False red, None plain)."""
    label: str
    base: str
    tuned: str
    change: str = ""
    good: bool | None = None
    tip: str = ""


def language_name(code: str) -> str:
    return tr(LANGUAGE_NAMES[code]) if code in LANGUAGE_NAMES else code


def read_json(path: Path) -> dict:
    """A JSON file as a dict; {} when it is missing or broken (a run still being written)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# ---------------------------------------------------------------- quick checks during training
def is_quick_point(row: dict) -> bool:
    return any(key in row for key in QUICK_KEYS)


def quick_points(metrics: list[dict]) -> list[dict]:
    """The quick-check points of a run's metric rows (step 0 is the base model), in order."""
    return [row for row in metrics if is_quick_point(row) and "step" in row]


def exam_share(point: dict) -> float | None:
    total = point.get("exam_total") or 0
    return point["exam_correct"] / total if total and point.get("exam_correct") is not None else None


def describe_point(point: dict) -> str:
    """'exam 5 of 12 · general knowledge kept 96%' (what is known of the point)."""
    parts = []
    if exam_share(point) is not None:
        parts.append(tr("exam {correct} of {total}", correct=point["exam_correct"], total=point["exam_total"]))
    if point.get("retention") is not None and point.get("step"):
        parts.append(tr("general knowledge kept {share}%", share=round(100 * point["retention"])))
    return " · ".join(parts)


def best_text(best: dict | None) -> str:
    """Which checkpoint chat and export use, in a sentence ('' when the run has no best point)."""
    if not best or best.get("step") is None:
        return ""
    about = describe_point(best)
    if best.get("used", True):
        return (tr("Chat and export use step {step}, the best check ({about}).", step=best["step"], about=about)
                if about else tr("Chat and export use step {step}, the best check.", step=best["step"]))
    return tr("The best check was at step {step}; chat and export use the last step (keep best is off).",
              step=best["step"])


def quick_verdict(points: list[dict]) -> str:
    """A verdict from the quick checks alone, for a run without a full evaluation."""
    if not points:
        return ""
    base = points[0] if points[0].get("step") == 0 else None
    last = points[-1]
    if last is base:
        return ""
    sentences = []
    if exam_share(last) is not None:
        if base is not None and exam_share(base) is not None:
            sentences.append(tr("Quick check at step {step}: {correct} of {total} exam questions right (base "
                                "model {base}).", step=last["step"], correct=last["exam_correct"],
                                total=last["exam_total"], base=base["exam_correct"]))
        else:
            sentences.append(tr("Quick check at step {step}: {correct} of {total} exam questions right.",
                                step=last["step"], correct=last["exam_correct"], total=last["exam_total"]))
    if last.get("retention") is not None:
        sentences.append(tr("It still answers {share}% of the general questions the base model knew.",
                            share=round(100 * last["retention"])))
    return " ".join(sentences)


def run_outcome(run_dir: Path, metrics: list[dict]) -> tuple[str, list[str], str]:
    """(verdict, warnings, footnote) of a run: the full evaluation's words in ``summary.json``, else what
    the quick checks in ``metrics`` said, and which checkpoint chat and export use."""
    summary = read_json(Path(run_dir) / "summary.json")
    verdict = tr_sentences(summary.get("verdict") or "")
    if not verdict and (verdict := quick_verdict(quick_points(metrics))):
        verdict += " " + tr("(Quick check; Results… runs the full evaluation.)")
    return verdict, [tr_sentences(w) for w in summary.get("warnings") or []], best_text(summary.get("best"))


_LOG_LINE = re.compile(r"(?P<time>\d\d:\d\d:\d\d) (?P<kind>\w+): (?P<message>.*)")


def log_tail(path: Path, lines: int = 200) -> list[str]:
    """The end of a run's log.txt as the Train page shows its log: messages translated, warnings marked."""
    try:
        tail = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    except OSError:
        return []
    out = []
    for line in tail:
        match = _LOG_LINE.fullmatch(line)
        if match is None:
            out.append(line)
            continue
        prefix = {"warning": "⚠ ", "error": "✖ "}.get(match["kind"], "")
        out.append(f"{match['time']} {prefix}{tr_sentences(match['message'])}")
    return out


# ---------------------------------------------------------------- full evaluations
def evaluations(run_dir: Path) -> list[Path]:
    """The run's saved evaluations (evaluation.json, evaluation-<questions or checkpoint>.json), newest first."""
    found = [p for p in Path(run_dir).glob("evaluation*.json") if p.is_file()]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def evaluation_name(path: Path) -> str:
    """How the Results page lists a saved evaluation."""
    stem = Path(path).stem
    if stem == "evaluation":
        return tr("Exam from your books")
    name = stem.removeprefix("evaluation-")
    return tr("Checkpoint {name}", name=name) if re.fullmatch(r"step-\d+", name) else tr("Your questions: {name}",
                                                                                       name=name)


_TARGET = [(re.compile(r"run (?P<run>\S+), checkpoint (?P<checkpoint>.+)"), N_("run {run}, checkpoint {checkpoint}")),
           (re.compile(r"run (?P<run>.+)"), N_("run {run}")),
           (re.compile(r"base model (?P<name>.+)"), N_("base model {name}"))]


def target_text(label: str) -> str:
    """core's 'run X' / 'run X, checkpoint Y' / 'base model Z' in the UI language."""
    for pattern, text in _TARGET:
        if match := pattern.fullmatch(label or ""):
            return tr(text, **match.groupdict())
    return label or "?"


def header_text(summary: dict) -> str:
    """'run 2024… · evaluated 2024-05-01 12:00 · 95 s · transformers'"""
    return tr("{target} · evaluated {when} · {seconds} s · {backend}", target=target_text(summary.get("target", "")),
              when=summary.get("evaluated", "?"), seconds=round(summary.get("seconds") or 0),
              backend=summary.get("backend", "?"))


def verdict_text(summary: dict) -> str:
    return tr_sentences(summary.get("verdict") or "")


def warning_texts(summary: dict) -> list[str]:
    return [tr_sentences(w) for w in summary.get("warnings") or []]


def note_text(summary: dict) -> str:
    note = (summary.get("exam") or {}).get("training", {}).get("note", "")
    return tr_message(note) if note else ""


def _count(pair) -> str:
    return tr("{correct} of {total}", correct=pair[0], total=pair[1]) if pair else "—"


def _signed(value: float, digits: int = 2) -> str:
    return f"{value:+.{digits}f}"


def _pair_row(label: str, pair: dict, tip: str = "") -> Row:
    base, tuned = pair.get("base"), pair.get("tuned")
    change, good = "", None
    if base and tuned:
        delta = tuned[0] - base[0]
        change, good = (f"{delta:+d}", delta > 0 if delta else None)
    return Row(label, _count(base), _count(tuned), change, good, tip)


def result_rows(summary: dict, floor: float = 0.9) -> list[Row]:
    """The results table of one evaluation summary (base vs tuned), every text translated."""
    rows: list[Row] = []
    exam = summary.get("exam") or {}
    mine = exam.get("set") == "user"
    closed = tr("Your questions, closed book") if mine else tr("Your books: exam, closed book")
    rows.append(_pair_row(closed, exam.get("closed") or {},
                          tr("{items} questions answered from memory, without the books", items=exam.get("items", 0))))
    if (exam.get("open") or {}).get("base"):
        rows.append(_pair_row(tr("…open book (looked up in your books)"), exam["open"],
                              tr("The same questions with the best passages of your books put before each")))
    lp = exam.get("logprob") or {}
    if lp.get("base") is not None or lp.get("tuned") is not None:
        gain = lp.get("gain")
        rows.append(Row(tr("…likelihood of the right answers"), _num(lp.get("base")), _num(lp.get("tuned")),
                        _signed(gain) if gain is not None else "", gain > 0.05 if gain is not None else None,
                        tr("Mean log-probability per token of the accepted answers: higher means the model finds "
                           "them more likely even where it does not say them")))
    for lang, g in (summary.get("general") or {}).items():
        row = _pair_row(tr("General knowledge, {language}", language=language_name(lang)), g)
        if g.get("retention") is not None:
            row.change = tr("kept {share}%", share=round(100 * g["retention"]))
            row.good = g["retention"] >= floor
            row.tip = tr("Of the {known} general questions the base model answered right, the tuned model still "
                         "answers {kept}", known=g.get("known", 0), kept=g.get("kept", 0))
        rows.append(row)
    for lang, modes in (summary.get("reasoning") or {}).items():
        for mode, sides in modes.items():
            name = tr("step by step") if mode == "cot" else tr("direct")
            rows.append(_pair_row(tr("Reasoning, {language}, {mode}", language=language_name(lang), mode=name),
                                  sides))
    for lang, sides in (summary.get("perplexity") or {}).items():
        base, tuned = sides.get("base"), sides.get("tuned")
        change = _signed(tuned - base) if None not in (base, tuned) else ""
        rows.append(Row(tr("Perplexity on general text, {language}", language=language_name(lang)), _num(base),
                        _num(tuned), change, False if change and tuned > base * 1.05 else None,
                        tr("How surprised the model is by ordinary text; lower is better, a big rise means it "
                           "forgot how ordinary text goes")))
    if summary.get("kl") is not None:
        rows.append(Row(tr("Drift from the base model (KL per token)"), "—", _num(summary["kl"], 4), "", None,
                        tr("How far the tuned model's next-word guesses moved from the base model's on neutral "
                           "prompts; 0 means no change")))
    loss = summary.get("loss") or {}
    if loss.get("eval_first") is not None:
        rows.append(Row(tr("Held-out loss (first → best → last)"), "—",
                        f"{loss['eval_first']:.3f} → {loss['eval_best']:.3f} → {loss['eval_last']:.3f}", "", None,
                        tr("Loss on text held out from training, at the first, the best and the last evaluation")))
    return rows


def _num(value, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "—"


# ---------------------------------------------------------------- an evaluation in progress
_PROGRESS = re.compile(r"(?P<side>base|tuned): (?P<set>[\w-]+) \((?P<mode>\w+)\)")
_SIDES = {"base": N_("Base model"), "tuned": N_("Tuned model")}
_MODES = {"closed": N_("closed book"), "open": N_("open book"), "direct": N_("direct"), "cot": N_("step by step")}


def _set_name(name: str) -> str:
    kind, _, lang = name.partition("-")
    if kind == "general" and lang:
        return tr("general knowledge ({language})", language=language_name(lang))
    if kind == "reasoning" and lang:
        return tr("reasoning ({language})", language=language_name(lang))
    return tr("your questions") if kind == "user" else tr("exam from your books") if kind == "exam" else name


def progress_text(message: str) -> str:
    """An evaluation's progress message ('tuned: general-en (closed)') as a person reads it."""
    match = _PROGRESS.fullmatch(message or "")
    if match and match["side"] in _SIDES:
        mode = tr(_MODES[match["mode"]]) if match["mode"] in _MODES else match["mode"]
        return tr("{side}: {what}, {mode}", side=tr(_SIDES[match["side"]]), what=_set_name(match["set"]), mode=mode)
    if message == "scoring":
        return tr("Scoring the answers…")
    return tr_message(message or "")
