"""What a run learns while it trains: the quick exam and retention at every evaluation step.

Before the first step the base model (adapter off) answers a few exam and general questions
(``core.evaluate.quick``); at every evaluation the model being trained answers them again. Each
point goes to ``metrics.jsonl`` (the loss plot shows exam and retention beside the losses); the
best point by ``verdict.best_point`` has its adapter saved to ``best/``, and at the end that
adapter becomes ``adapter/`` — what chat and export use — while the last one is kept in
``adapter-final/``. With ``exam_patience`` the run stops when the exam has not improved for that
many evaluations, or when two evaluations in a row keep less general knowledge than the floor.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from core.config import EvalConfig, TrainConfig
from core.events import CancelToken, StageReporter
from core.project import append_jsonl


class Watch:
    def __init__(self, quick, eval_cfg: EvalConfig, cfg: TrainConfig, say: StageReporter, cancel: CancelToken,
                 tokenizer, device: str, stop_tokens, autocast_dtype) -> None:
        self.quick, self.eval_cfg, self.cfg, self.say, self.cancel = quick, eval_cfg, cfg, say, cancel
        self.tokenizer, self.device, self.stop_tokens, self.autocast = tokenizer, device, stop_tokens, autocast_dtype
        self.points: list[dict] = []
        self.stop_reason = ""
        self._low_retention = 0

    @classmethod
    def start(cls, project, eval_cfg: EvalConfig, cfg: TrainConfig, data, model, tokenizer, device: str, autocast,
              autocast_dtype, say: StageReporter, cancel: CancelToken, run_dir: Path | None = None) -> "Watch | None":
        from core.evaluate.quick import QuickEval
        from core.formats.builder import prepare_chunks

        languages = sorted({c.get("language") or "" for c in prepare_chunks(project)})
        quick = QuickEval.for_project(project, eval_cfg, eval_cfg.probe_languages(languages))
        if quick is None:
            return None
        watch = cls(quick, eval_cfg, cfg, say, cancel, tokenizer, device, data.meta.get("stop_tokens"),
                    autocast_dtype)
        started = time.time()
        with model.disable_adapter():
            base = quick.baseline(model, tokenizer, device, watch.stop_tokens, autocast_dtype, cancel)
        base = {**base, "retention": 1.0 if base.get("general_known") else None}
        for row in quick.last_rows if run_dir is not None else []:
            append_jsonl(Path(run_dir) / "quick.jsonl", {"step": 0, **{k: row[k] for k in (
                "id", "question", "reply", "correct")}})
        say.metric(step=0, **{k: v for k, v in base.items() if v is not None}, eval_seconds=round(time.time() - started, 1))
        say.log(watch._describe("Before training", base))
        return watch

    def _describe(self, when: str, point: dict) -> str:
        parts = []
        if point.get("exam_total"):
            parts.append(f"exam {point['exam_correct']} of {point['exam_total']}")
        if point.get("retention") is not None:
            parts.append(f"general knowledge kept {point['retention']:.0%}")
        return f"{when}: " + ", ".join(parts)

    def check(self, step: int, eval_loss: float | None, model, run_dir: Path) -> bool:
        """Measure now; save the adapter if this is the best point; True when the run should stop."""
        from core.evaluate.verdict import chosen_point

        started = time.time()
        point = self.quick.measure(model, self.tokenizer, self.device, self.stop_tokens, self.autocast, self.cancel)
        point.update(step=step, eval_loss=eval_loss)
        self.points.append(point)
        for row in self.quick.last_rows:  # what the model answered at this point, item by item
            append_jsonl(Path(run_dir) / "quick.jsonl", {"step": step, **{k: row[k] for k in (
                "id", "question", "reply", "correct")}})
        self.say.metric(step=step, **{k: v for k, v in point.items() if v is not None and k not in ("step", "eval_loss")},
                        eval_seconds=round(time.time() - started, 1))
        self.say.log(self._describe(f"Step {step}", point))
        best, _ = chosen_point(self.points, self.eval_cfg.retention_floor)
        if best is point:
            model.save_pretrained(Path(run_dir) / "best")
        return self._should_stop(point)

    def _should_stop(self, point: dict) -> bool:
        patience = self.cfg.exam_patience
        if not patience:
            return False
        floor = self.eval_cfg.retention_floor
        self._low_retention = self._low_retention + 1 if (point.get("retention") or 1.0) < floor else 0
        if self._low_retention >= 2:
            self.stop_reason = (f"Stopped: two evaluations in a row kept less than {floor:.0%} of the general "
                                f"answers the base model knew")
            return True
        scores = [(p.get("exam_correct") or 0, p.get("exam_logprob") or -1e9) for p in self.points]
        if len(scores) > patience:
            best_before = max(scores[:-patience])
            if all(s[0] <= best_before[0] and s[1] <= best_before[1] + 0.01 for s in scores[-patience:]):
                self.stop_reason = f"Stopped: the exam has not improved for {patience} evaluations"
                return True
        return False

    def finish(self, run_dir: Path, final_step: int, keep_best: bool) -> dict | None:
        """Make the best point's adapter the run's adapter (keeping the last in adapter-final/)."""
        from core.evaluate.verdict import chosen_point

        run_dir = Path(run_dir)
        saved = run_dir / "best"
        floor = self.eval_cfg.retention_floor
        # none kept enough (fallback): the step that forgot least is still a better model than the last one
        best, fallback = chosen_point(self.points, floor)
        if best is None:
            shutil.rmtree(saved, ignore_errors=True)
            return None
        info = {k: best.get(k) for k in ("step", "exam_correct", "exam_total", "exam_logprob", "retention",
                                         "eval_loss")}
        info["rule"] = (f"no evaluation kept {floor:.0%} of the general answers: the one that kept most" if fallback
                        else f"most exam answers (then highest answer likelihood) among evaluations keeping at least "
                             f"{floor:.0%} of general answers, eval loss not exploding")
        if keep_best and best["step"] != final_step and (saved / "adapter_config.json").exists():
            shutil.rmtree(run_dir / "adapter-final", ignore_errors=True)
            (run_dir / "adapter").rename(run_dir / "adapter-final")
            for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"):
                if (run_dir / "adapter-final" / name).exists():
                    shutil.copy2(run_dir / "adapter-final" / name, saved / name)
            saved.rename(run_dir / "adapter")
            info["used"] = True
            why = (f"none kept {floor:.0%} of the general answers; it kept most" if fallback else "the best evaluation")
            self.say.log(f"Chat and export will use step {best['step']} ({why}); the last step's adapter is kept "
                         f"in adapter-final/")
        else:
            shutil.rmtree(saved, ignore_errors=True)
            info["used"] = best["step"] == final_step
        return info
