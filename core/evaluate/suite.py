"""One side of an evaluation: a model (base or tuned) answers every set, and each reply is graded.

The sets and how each is asked and graded:
- exam / user questions, closed book: the question alone; graded by ``grading.grade``; plus the
  reference answer's mean log-probability per token (``answer_logprob``, best accepted answer);
- the same, open book: the top-k passages of the corpus (BM25) in front of the question;
- general knowledge (per language): the question alone, ``grade``;
- reasoning (per language): the problem alone, and with a step-by-step prompt; exact answers
  (``grade_exact``);
- the reference texts' perplexity, and the base replies to neutral prompts (for KL, which needs
  both sides at once and so is computed by the job).
Every result row is one item: ``{set, mode, side, id, question, answers, reply, correct, logprob}``.
"""
from __future__ import annotations

from core.evaluate.grading import grade, grade_exact
from core.evaluate.questions import Question, reference_text
from core.evaluate.scorer import perplexity
from core.events import CancelToken

# the reference texts' first tokens scored for perplexity: plenty for a stable figure, and a
# tokenizer that spends a token per Cyrillic letter or two (SmolLM2's: 5,758 tokens for the
# Russian text) no longer triples the cost of one language
REFERENCE_TOKENS = 2048
STEP_BY_STEP = {"en": "{question}\nThink step by step, then finish with \"The answer is …\".",
                "ru": "{question}\nРассуждай по шагам, а в конце напиши «Ответ: …»."}


def chat(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def ask(scorer, items: list[Question], set_name: str, mode: str, side: str, max_new_tokens: int,
        cancel: CancelToken | None = None, retriever=None, open_book_k: int = 3, progress=None) -> list[dict]:
    """Generate and grade replies for ``items`` on one side (``side``: 'base' or 'tuned')."""
    if mode == "open":
        prompts = [retriever.prompt(q.question, open_book_k, q.language or "en") for q in items]
    elif mode == "cot":
        prompts = [STEP_BY_STEP.get(q.language, STEP_BY_STEP["en"]).format(question=q.question) for q in items]
    else:
        prompts = [q.question for q in items]
    replies = scorer.generate([chat(p) for p in prompts], max_new_tokens, side == "tuned", cancel, progress)
    exact = set_name.startswith("reasoning")
    return [{"set": set_name, "mode": mode, "side": side, "id": q.id, "question": q.question, "answers": q.answers,
             "reply": r, "correct": bool(grade_exact(r, q.answers) if exact else grade(r, q.answers))}
            for q, r in zip(items, replies)]


def add_likelihoods(scorer, items: list[Question], rows: list[dict], side: str,
                    cancel: CancelToken | None = None) -> None:
    """Fill ``logprob`` in the closed-book rows: the best accepted answer's mean log-prob per token."""
    pairs = [(i, a) for i, q in enumerate(items) for a in q.answers[:4]]
    scores = scorer.answer_logprob([chat(items[i].question) for i, _ in pairs], [a for _, a in pairs],
                                   side == "tuned", cancel)
    best: dict[int, float] = {}
    for (i, _a), s in zip(pairs, scores):
        best[i] = max(best.get(i, -1e9), s)
    for i, row in enumerate(rows):
        row["logprob"] = round(best[i], 4)


def reference_perplexity(scorer, languages: list[str], side: str, cancel: CancelToken | None = None) -> dict:
    out = {}
    for language in languages:
        nll, count = scorer.text_nll(reference_text(language), side == "tuned", cancel=cancel,
                                     max_tokens=REFERENCE_TOKENS)
        out[language] = perplexity(nll, count)
    return out


def accuracy(rows: list[dict], set_name: str, mode: str, side: str) -> tuple[int, int]:
    picked = [r for r in rows if r["set"] == set_name and r["mode"] == mode and r["side"] == side]
    return sum(r["correct"] for r in picked), len(picked)


def retention(rows: list[dict], set_name: str) -> tuple[int, int]:
    """(kept, known): of the items the base answered right, how many the tuned model still does."""
    base = {r["id"]: r["correct"] for r in rows if r["set"] == set_name and r["side"] == "base"}
    tuned = {r["id"]: r["correct"] for r in rows if r["set"] == set_name and r["side"] == "tuned"}
    known = [i for i, ok in base.items() if ok and i in tuned]
    return sum(tuned[i] for i in known), len(known)


def mean_logprob(rows: list[dict], set_name: str, side: str) -> float | None:
    values = [r["logprob"] for r in rows if r["set"] == set_name and r["side"] == side and "logprob" in r]
    return round(sum(values) / len(values), 4) if values else None
