"""The evaluation inside a training run: a small, fixed subset checked at every evaluation step.

A few exam questions (spread over the books) and general questions are answered by the model
being trained — greedy, batched, in the training process, adapter on — and compared with the
base model's answers (adapter off, once, before the first step). Each point says how many exam
questions the model now answers, their mean answer log-probability, and what share of the
general answers the base got right it still gets right. The training loop plots these next to
the loss, keeps the best checkpoint by ``verdict.best_point`` and can stop when the exam stops
rising or retention falls. Budget: well under 20 s per point for the embedded model on 2 cores.
"""
from __future__ import annotations

from core.config import EvalConfig
from core.evaluate import suite
from core.evaluate.questions import Question, load_probe, spread
from core.evaluate.scorer import TransformersScorer
from core.events import CancelToken


class QuickEval:
    def __init__(self, exam: list[Question], general: list[Question], max_new_tokens: int = 40) -> None:
        self.exam, self.general, self.max_new_tokens = exam, general, max_new_tokens
        self.base_general: dict[str, bool] = {}
        self.last_rows: list[dict] = []
        self.base_exam: dict | None = None

    @classmethod
    def for_project(cls, project, config: EvalConfig, languages: list[str]) -> "QuickEval | None":
        from core.evaluate.exam import load_exam

        exam = spread(load_exam(project), config.quick_exam) if config.quick_exam else []
        general: list[Question] = []
        if config.quick_general:
            langs = languages or ["en"]
            for lang in langs:
                general += spread(load_probe("general", lang), max(1, config.quick_general // len(langs)))
        if not exam and not general:
            return None
        return cls(exam, general, min(config.answer_tokens, 32))

    def _scorer(self, model, tokenizer, device: str, stop_tokens, autocast: str | None) -> TransformersScorer:
        return TransformersScorer(model, tokenizer, device, stop_tokens, batch_size=64, autocast=autocast)

    def _measure(self, scorer: TransformersScorer, side: str, cancel: CancelToken | None) -> dict:
        rows = suite.ask(scorer, self.exam + self.general, "quick", "closed", side, self.max_new_tokens, cancel)
        exam_rows, general_rows = rows[:len(self.exam)], rows[len(self.exam):]
        self.last_rows = rows  # the replies themselves, for the run's quick.jsonl
        out: dict = {"general": {q.id: r["correct"] for q, r in zip(self.general, general_rows)}}
        if self.exam:
            suite.add_likelihoods(scorer, self.exam, exam_rows, side, cancel)
            out["exam_correct"] = sum(r["correct"] for r in exam_rows)
            out["exam_logprob"] = round(sum(r["logprob"] for r in exam_rows) / len(exam_rows), 4)
        return out

    def baseline(self, model, tokenizer, device: str, stop_tokens, autocast=None, cancel=None) -> dict:
        """The base model's answers (adapter off); call once before training."""
        got = self._measure(self._scorer(model, tokenizer, device, stop_tokens, autocast), "base", cancel)
        self.base_general = got.pop("general")
        self.base_exam = got
        return self.point_from(got, self.base_general)

    def point_from(self, got: dict, general: dict[str, bool]) -> dict:
        known = [i for i, ok in self.base_general.items() if ok]
        kept = sum(general.get(i, False) for i in known)
        point = {"exam_total": len(self.exam), "general_known": len(known),
                 "retention": round(kept / len(known), 4) if known else None}
        if self.exam:
            point.update(exam_correct=got["exam_correct"], exam_logprob=got["exam_logprob"])
        return point

    def measure(self, model, tokenizer, device: str, stop_tokens, autocast=None, cancel=None) -> dict:
        """The model as it is now (adapter on)."""
        got = self._measure(self._scorer(model, tokenizer, device, stop_tokens, autocast), "tuned", cancel)
        return self.point_from(got, got.pop("general"))
