"""An evaluation as a person reads it: a few aligned tables, the verdict, and the warnings.

Used by the CLI (``python main.py evaluate``); the GUI shows the same numbers in its own widgets.
"""
from __future__ import annotations

from core.evaluate.fit import NAMES as LANGUAGE_NAMES


def _cell(pair) -> str:
    return f"{pair[0]}/{pair[1]}" if pair else "—"


def _lp(value) -> str:
    return f"{value:.2f}" if value is not None else "—"


def report_text(summary: dict) -> str:
    exam = summary["exam"]
    lines = [f"Evaluation of {summary.get('target', '?')} ({summary.get('backend', '?')}, "
             f"{summary.get('seconds', 0):.0f} s)", ""]
    source = "your questions" if exam.get("set") == "user" else "exam questions from your books"
    lines.append(f"Your books — {exam['items']} {source} ({exam.get('source', '')})")
    lines.append(f"  {'':24}{'base':>10}{'tuned':>10}")
    lines.append(f"  {'closed book':24}{_cell(exam['closed'].get('base')):>10}{_cell(exam['closed'].get('tuned')):>10}")
    if exam.get("open", {}).get("base"):
        lines.append(f"  {'open book (look-up)':24}{_cell(exam['open'].get('base')):>10}"
                     f"{_cell(exam['open'].get('tuned')):>10}")
    lp = exam.get("logprob", {})
    gain = f"   ({lp['gain']:+.2f} per token)" if lp.get("gain") is not None else ""
    lines.append(f"  {'answer log-likelihood':24}{_lp(lp.get('base')):>10}{_lp(lp.get('tuned')):>10}{gain}")
    if exam.get("training", {}).get("note"):
        lines.append(f"  {exam['training']['note']}")
    lines.append("")
    if summary.get("general"):
        lines.append("What it kept — general questions (base → tuned)")
        for lang, g in summary["general"].items():
            kept = (f"kept {g['retention']:.0%} ({g['kept']} of {g['known']} the base knew)"
                    if g.get("retention") is not None else "the base model answered none")
            tuned = f" → {_cell(g.get('tuned'))}" if g.get("tuned") else ""
            lines.append(f"  {LANGUAGE_NAMES.get(lang, lang):10}{_cell(g.get('base')):>8}{tuned:<10}  "
                         + (kept if g.get("tuned") else ""))
        lines.append("")
    if summary.get("reasoning"):
        lines.append(f"Reasoning{'':21}{'base':>10}{'tuned':>10}")
        for lang, modes in summary["reasoning"].items():
            for mode, sides in modes.items():
                name = f"{LANGUAGE_NAMES.get(lang, lang)}, {'step by step' if mode == 'cot' else 'direct'}"
                lines.append(f"  {name:28}{_cell(sides.get('base')):>10}{_cell(sides.get('tuned')):>10}")
        lines.append("")
    ppl = summary.get("perplexity") or {}
    if ppl:
        parts = []
        for lang, sides in ppl.items():
            if sides.get("tuned") is not None:
                parts.append(f"{LANGUAGE_NAMES.get(lang, lang)} {sides['base']:.2f} → {sides['tuned']:.2f}")
            elif sides.get("base") is not None:
                parts.append(f"{LANGUAGE_NAMES.get(lang, lang)} {sides['base']:.2f}")
        lines.append("Perplexity on general text: " + "; ".join(parts))
    if summary.get("kl") is not None:
        lines.append(f"KL(base ‖ tuned) on neutral prompts: {summary['kl']:.4f} per token")
    loss = summary.get("loss") or {}
    if loss.get("eval_first") is not None:
        lines.append(f"Held-out loss: {loss['eval_first']:.3f} first, {loss['eval_best']:.3f} best, "
                     f"{loss['eval_last']:.3f} last; training loss {loss['train_first']:.3f} → {loss['train_last']:.3f}")
    lines += ["", f"Verdict: {summary['verdict']}"]
    for w in summary.get("warnings", []):
        lines.append(f"  ! {w}")
    return "\n".join(lines)
