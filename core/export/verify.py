"""Export verification: does llama.cpp compute what PEFT computes?

A fixed text is evaluated teacher-forced (the same token ids everywhere) by the PEFT model with
the adapter on and off, and by llama.cpp (base GGUF + adapter GGUF, or a merged GGUF). Per
position we compare logits: argmax agreement, mean |Δ| and correlation — and the adapter's own
effect (how many argmaxes the adapter changes in PEFT), without which agreement means nothing.
Greedy generated text is no check: quantized bases drift apart after a few tokens.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

VERIFY_TEXT = (
    "Scriptorium turns your own books into a language model that runs on your computer. "
    "You add files, choose how the text is shown to the model, train a small adapter and chat with the result. "
    "Once upon a time, in a quiet town by the river, an old librarian kept a secret catalogue of every story "
    "ever told. Каждый вечер она читала вслух, и дети слушали, затаив дыхание. "
    "The numbers 3, 14, 159 and 2653 appeared in the margins of her notes."
)


def compare(reference: np.ndarray, candidate: np.ndarray) -> dict:
    """Agreement of two [positions, vocab] logit arrays."""
    n = min(len(reference), len(candidate))
    ref, cand = reference[:n].astype(np.float64), candidate[:n].astype(np.float64)
    agree = float(np.mean(ref.argmax(-1) == cand.argmax(-1)))
    return {"positions": n, "argmax_agreement": round(agree, 4),
            "mean_abs_diff": round(float(np.mean(np.abs(ref - cand))), 5),
            "correlation": round(float(np.corrcoef(ref.ravel(), cand.ravel())[0, 1]), 6)}


def peft_logits(load_dir: str, adapter_dir: Path, token_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(tuned, base) logits of the PEFT model on ``token_ids``."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(load_dir, dtype=torch.float32)
    model = PeftModel.from_pretrained(model, str(adapter_dir)).eval()
    ids = torch.tensor([token_ids])
    with torch.no_grad():
        tuned = model(ids).logits[0].numpy()
        with model.disable_adapter():
            base = model(ids).logits[0].numpy()
    return tuned, base


def verify(load_dir: str, adapter_dir: Path, token_ids: list[int], base_gguf: Path,
           adapter_gguf: Path | None = None, merged_gguf: Path | None = None, exact_base: bool = True,
           exact_merged: bool = False) -> dict:
    """Compare PEFT with llama.cpp and judge what can be judged.

    base + adapter: on an exact (f32/f16) base it must agree on ≥ 98% of positions; on a quantized
    base the adapter may not lose more than 3 points against the base's own agreement. A merged
    file is judged only when it is unquantized on an exact base; otherwise its numbers are reported.
    """
    from core.chat.llamacpp_backend import LlamaCppModel

    tuned, base = peft_logits(load_dir, adapter_dir, token_ids)
    effect = float(np.mean(tuned.argmax(-1) != base.argmax(-1)))
    report: dict = {"tokens": len(token_ids), "adapter_effect": round(effect, 4), "exact_base": exact_base}
    n_ctx = max(512, len(token_ids) + 16)
    verdicts = []
    if adapter_gguf is not None:
        model = LlamaCppModel(base_gguf, adapter_gguf, n_ctx=n_ctx, logits_all=True)
        report["adapter"] = compare(tuned, model.logits(token_ids, adapter=True))
        report["base"] = compare(base, model.logits(token_ids, adapter=False))
        del model
        threshold = 0.98 if exact_base else round(report["base"]["argmax_agreement"] - 0.03, 4)
        report["adapter"]["threshold"] = threshold
        verdicts.append(report["adapter"]["argmax_agreement"] >= threshold)
    if merged_gguf is not None:
        merged = LlamaCppModel(merged_gguf, None, n_ctx=n_ctx, logits_all=True)
        report["merged"] = compare(tuned, merged.logits(token_ids))
        del merged
        if exact_base and exact_merged:
            report["merged"]["threshold"] = 0.98
            verdicts.append(report["merged"]["argmax_agreement"] >= 0.98)
    report["passed"] = all(verdicts) if verdicts else None
    return report


def describe(report: dict) -> str:
    """One paragraph a user can read next to the export."""
    parts = [f"Checked {report['tokens']} tokens; the adapter itself changes "
             f"{report['adapter_effect']:.0%} of the next-token choices."]
    for key, label in (("adapter", "base + adapter in llama.cpp"), ("merged", "merged file in llama.cpp")):
        if key in report:
            r = report[key]
            parts.append(f"{label} agrees with the trained model on {r['argmax_agreement']:.1%} of positions "
                         f"(mean |Δlogit| {r['mean_abs_diff']:.3f}, correlation {r['correlation']:.4f}).")
            if "threshold" not in r:
                parts.append("(quantized: reported, not judged)")
    if report["passed"] is not None:
        parts.append("PASSED." if report["passed"] else "NOT PASSED: the export does not compute what was trained.")
    return " ".join(parts)
