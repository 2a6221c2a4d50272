"""The evaluation job: did the model learn the user's books, and what did it lose? One function.

evaluate(): what to evaluate (a run's best adapter, a checkpoint, or the base alone) → the
questions (the project's exam, written on first use, or a file the user brings) → the sets
(exam closed and open book, general knowledge and reasoning per language, reference perplexity)
→ the base side (cached per base model, questions, corpus and settings: it never changes) → the
tuned side → KL on neutral prompts → numbers, verdict and warnings → ``runs/<id>/eval.jsonl``
(every item, every reply), ``runs/<id>/evaluation.json`` and the run's ``summary.json``.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from core.config import EvalConfig, to_dict
from core.evaluate import suite
from core.evaluate.exam import exam_dir, load_exam, qa_sentences, save_exam, write_exam
from core.evaluate.questions import Question, load_probe, load_questions, neutral_prompts, spread
from core.evaluate.verdict import loss_trend, summarize, verdict, warnings
from core.events import CancelToken, Reporter, StageReporter
from core.project import Project, ProjectError, append_jsonl, atomic_write_json, read_jsonl

EVAL_VERSION = 2  # 2: open-book passages cut to their best sentences; reference perplexity on 2048 tokens


class EvaluateError(RuntimeError):
    """The evaluation cannot run; the message says what is missing."""


@dataclass
class Target:
    """What is evaluated: a base model folder, maybe an adapter, and the run it belongs to."""
    label: str
    load_dir: str
    model_id: str
    adapter_dir: Path | None = None
    run_dir: Path | None = None
    chat_template: str | None = None
    stop_tokens: list | None = None
    system_prompt: str = ""


def target_of(project: Project, run: str | None = None, checkpoint: str | None = None,
              base_only: bool = False, report: Reporter | None = None) -> Target:
    from core.models import resolve

    runs_with_adapter = [p for p in project.runs() if (p / "adapter" / "adapter_config.json").exists()]
    if base_only or (run is None and not runs_with_adapter):
        resolved = resolve(project.model.source, report)
        return Target(f"base model {resolved.name}", resolved.load_dir, Path(resolved.load_dir).name)
    run_dir = project.run_dir(run)
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    if info.get("kind") == "scratch":  # the lab's from-scratch model: a whole model, scored as itself
        model_dir = run_dir / "model"
        if not (model_dir / "config.json").exists():
            raise EvaluateError(f"{run_dir}: the from-scratch model was not saved (its training did not finish)")
        return Target(f"run {run_dir.name} (from scratch)", str(model_dir), f"scratch-{run_dir.name}", None, run_dir,
                      info.get("chat_template"), info.get("stop_tokens"), info.get("system_prompt", ""))
    resolved = resolve(info["model"]["source"], report)
    adapter = run_dir / "adapter"
    label = f"run {run_dir.name}"
    if checkpoint:
        adapter = run_dir / "checkpoints" / checkpoint / "adapter"
        if not (adapter / "adapter_config.json").exists():
            names = ", ".join(p.name for p in sorted((run_dir / "checkpoints").glob("step-*"))) or "none"
            raise EvaluateError(f"{run_dir.name}: no checkpoint {checkpoint!r} (checkpoints: {names})")
        label += f", checkpoint {checkpoint}"
    if not (adapter / "adapter_config.json").exists():
        raise EvaluateError(f"{run_dir}: this run has no adapter yet (it did not finish a step)")
    return Target(label, resolved.load_dir, Path(resolved.load_dir).name, adapter, run_dir,
                  info.get("chat_template"), info.get("stop_tokens"), info.get("system_prompt", ""))


def ensure_exam(project: Project, config: EvalConfig, report: Reporter | None = None,
                cancel: CancelToken | None = None, writer=None) -> list[Question]:
    """The project's exam; written (by the writer model, or fill-in-the-blank) when there is none."""
    from core.formats.builder import prepare_chunks

    items = load_exam(project)
    if items or config.exam_questions == 0 or (exam_dir(project) / "meta.json").exists():
        return items  # written before (possibly empty: nothing to ask about) or edited by the user
    chunks = prepare_chunks(project)
    if not chunks:
        raise ProjectError(f"{project.root}: the corpus is empty; add files first")
    if writer is None:
        writer = exam_writer(project, report)
    items = write_exam(project, chunks, config.exam_questions, writer, report, cancel, qa_sentences(project))
    save_exam(project, items, {"version": 1, "written": time.strftime("%Y-%m-%d %H:%M:%S"),
                               "writer": getattr(writer, "model_id", "fill-in-the-blank"), "chunks": len(chunks)})
    return items


def exam_writer(project: Project, report: Reporter | None = None):
    """The model that writes the exam: the fast writer (llama.cpp) when there is one, else transformers."""
    from core.config import FormatConfig
    from core.formats.writers import load_writer

    return load_writer(project.model.source, FormatConfig(gen_batch_size=8), report)


def probe_sets(config: EvalConfig, languages: list[str]) -> list[tuple[str, list[Question]]]:
    sets = []
    for lang in languages:
        if config.general_items:
            sets.append((f"general-{lang}", spread(load_probe("general", lang), config.general_items)))
        if config.reasoning_items:
            sets.append((f"reasoning-{lang}", spread(load_probe("reasoning", lang), config.reasoning_items)))
    return sets


def _plan(exam_set: str, exam: list[Question], probes, config: EvalConfig, retriever) -> list[tuple]:
    """(set, mode, items, max tokens) for every generation one side makes."""
    plan = [(exam_set, "closed", exam, config.answer_tokens)]
    if retriever is not None and config.open_book_k:
        plan.append((exam_set, "open", exam, config.answer_tokens))
    for name, items in probes:
        if name.startswith("reasoning"):
            plan.append((name, "direct", items, config.answer_tokens))
            if config.step_by_step:
                plan.append((name, "cot", items, 4 * config.answer_tokens))
        else:
            plan.append((name, "closed", items, config.answer_tokens))
    return plan


def run_side(scorer, side: str, plan, exam_set: str, exam, config: EvalConfig, retriever, languages,
             say: StageReporter, cancel: CancelToken, done_before: int, total: int) -> tuple[list[dict], dict]:
    rows: list[dict] = []
    done = done_before
    for set_name, mode, items, tokens in plan:
        if not items:
            continue
        where = {"side": side, "set": set_name, "mode": mode}
        say.progress(done, total, f"{side}: {set_name} ({mode})", **where)
        base_done = done
        got = suite.ask(scorer, items, set_name, mode, side, tokens, cancel, retriever, config.open_book_k,
                        lambda n: say.progress(base_done + n, total, f"{side}: {set_name} ({mode})", **where))
        if set_name == exam_set and mode == "closed":
            suite.add_likelihoods(scorer, items, got, side, cancel)
        rows.extend(got)
        done += len(items)
    ppl = suite.reference_perplexity(scorer, languages, side, cancel)
    return rows, ppl


def baseline_key(target: Target, exam: list[Question], config: EvalConfig, languages, corpus_sig: str,
                 backend: str, system: str) -> str:
    from core.evaluate.exam import fingerprint
    parts = [EVAL_VERSION, target.model_id, target.chat_template or "", fingerprint(exam), languages, corpus_sig,
             backend, system, {k: v for k, v in to_dict(config).items()
                               if k not in ("quick_exam", "quick_general", "retention_floor", "batch_size")}]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, default=str).encode()).hexdigest()[:16]


def corpus_signature(project: Project) -> str:
    path = project.corpus_dir / "chunks.jsonl"
    if not path.exists():
        return "empty"
    st = path.stat()
    return f"{st.st_size}-{int(st.st_mtime)}"


def exam_training_note(project: Project, target: Target, exam: list[Question]) -> dict:
    """Was the exam's text trained on (normally yes), and was any exam item trained as Q&A (never)?"""
    if target.run_dir is None or not exam:
        return {}
    info = json.loads((target.run_dir / "run.json").read_text(encoding="utf-8"))
    samples = project.dataset_dir(info.get("format", "")) / "samples.jsonl"
    train_chunks, qa_hits = set(), 0
    held = {q.question.strip().lower() for q in exam}
    for row in read_jsonl(samples):
        if row.get("split") == "train":
            train_chunks.add(f"{row.get('doc_id')}:{row.get('chunk', 0)}")
            if str(row.get("question", "")).strip().lower() in held:
                qa_hits += 1
    located = [q for q in exam if q.doc_id]
    trained = sum(f"{q.doc_id}:{q.chunk or 0}" in train_chunks for q in located)
    return {"exam_passages": len(located), "exam_passages_trained": trained, "exam_questions_trained_as_qa": qa_hits,
            "note": (f"{trained} of {len(located)} exam passages were in the training text (the whole book is meant "
                     f"to be known); no exam question or its answer sentence was trained on as a question–answer "
                     f"pair." if not qa_hits else f"WARNING: {qa_hits} exam questions were trained on as Q&A pairs.")
            if located else ""}


def _recipe_of(target: Target) -> dict:
    """The evaluated run's format settings (format, replay …), or {} for the base model."""
    from core.config import load_yaml, to_dict

    try:
        fmt = load_yaml(target.run_dir / "config.yaml").get("format") if target.run_dir else None
    except (OSError, ValueError):
        return {}
    return to_dict(fmt) if fmt is not None and not isinstance(fmt, dict) else (fmt or {})


def eval_precision(config: EvalConfig) -> str:
    """bf16 or fp32 for the transformers backend: asked for, or bf16 where this device computes it
    fast (a CPU with AMX / AVX-512 bf16, measured once; a GPU that supports it)."""
    if config.precision != "auto":
        return config.precision
    import torch

    from core.models import pick_device
    device = pick_device("auto")
    if device == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device == "cpu":
        from core.train.precision import cpu_bf16_speedup
        return "bf16" if cpu_bf16_speedup() >= 1.3 else "fp32"
    return "fp32"


def make_scorer(target: Target, config: EvalConfig, report: Reporter | None = None):
    """llama.cpp when asked for, or on auto when the base model exists as a GGUF and transformers
    would run in fp32 (llama.cpp is faster there); transformers otherwise — in bf16 on a CPU that
    multiplies bf16 fast, where its batched decoding measured ~3.5× llama.cpp's."""
    from core.evaluate.scorer import TransformersScorer

    scorer = None
    precision = eval_precision(config)
    if config.backend == "llamacpp" or (config.backend == "auto" and precision == "fp32"):
        try:
            from core.evaluate.llamacpp_scorer import LlamaCppScorer
            scorer = LlamaCppScorer.for_target(target, n_parallel=min(config.batch_size, 32))
        except Exception as exc:  # noqa: BLE001 — no llama-cpp-python, an unsupported GGUF: fall back
            StageReporter(report, "evaluate").log(f"llama.cpp is not available for this model ({exc}); "
                                                  f"evaluating with transformers")
        if scorer is None and config.backend == "llamacpp":
            StageReporter(report, "evaluate").warning("llama.cpp needs the base model as a GGUF file; "
                                                      "evaluating with transformers instead")
    if scorer is None:
        scorer = TransformersScorer.load(target.load_dir, target.adapter_dir, target.chat_template,
                                         target.stop_tokens, batch_size=config.batch_size, precision=precision)
    scorer.system = target.system_prompt
    return scorer


def evaluate(project: Project, run: str | None = None, questions: str | Path | None = None,
             config: EvalConfig | None = None, checkpoint: str | None = None, base_only: bool = False,
             report: Reporter | None = None, cancel: CancelToken | None = None, scorer=None) -> dict:
    """Evaluate a run (or the base model) on the exam or ``questions``; see the module doc."""
    from core.formats.builder import prepare_chunks
    from core.evaluate.retrieval import Retriever

    config = config or EvalConfig()
    cancel = cancel or CancelToken()
    say = StageReporter(report, "evaluate")
    started = time.time()
    target = target_of(project, run, checkpoint, base_only, report)
    say.log(f"Evaluating {target.label}")

    # 1. Questions and sets
    if questions:
        exam, exam_set = load_questions(questions, kind="user"), "user"
    else:
        exam, exam_set = ensure_exam(project, config, report, cancel), "exam"
    chunks = prepare_chunks(project)
    languages = config.probe_languages(sorted({c.get("language") or "" for c in chunks}))
    retriever = Retriever(chunks) if chunks else None
    probes = probe_sets(config, languages)
    plan = _plan(exam_set, exam, probes, config, retriever)
    per_side = sum(len(items) for _s, _m, items, _t in plan)

    # 2. Base side (cached), then tuned side
    scorer = scorer or make_scorer(target, config, report)
    system = getattr(scorer, "system", "")
    key = baseline_key(target, exam, config, languages, corpus_signature(project),
                       f"{scorer.name}/{getattr(scorer, 'precision', '')}", system)
    cache = exam_dir(project) / "baseline" / f"{key}.json"
    sides = ["base"] + (["tuned"] if target.adapter_dir else [])
    total = per_side * len(sides)
    rows, ppl = [], {}
    cacheable = target.adapter_dir is not None or target.run_dir is None  # (a from-scratch model is no baseline)
    if cacheable and cache.exists():
        cached = json.loads(cache.read_text(encoding="utf-8"))
        rows, ppl["base"] = cached["rows"], cached["perplexity"]
        say.log("Base model results reused (same base model, questions and settings)")
    else:
        base_rows, ppl["base"] = run_side(scorer, "base", plan, exam_set, exam, config, retriever, languages, say,
                                          cancel, 0, total)
        rows = base_rows
        if cacheable:
            atomic_write_json(cache, {"rows": base_rows, "perplexity": ppl["base"], "model": target.model_id})
    if "tuned" in sides:
        tuned_rows, ppl["tuned"] = run_side(scorer, "tuned", plan, exam_set, exam, config, retriever, languages,
                                            say, cancel, per_side, total)
        rows = rows + tuned_rows
    say.progress(total, total, "scoring")

    # 3. KL on neutral prompts (both sides at once: nothing to cache)
    kl = None
    if "tuned" in sides:
        prompts = [p for lang in languages for p in neutral_prompts(lang)[:20]]
        chats = [suite.chat(p) for p in prompts]
        replies = scorer.generate(chats, 48, False, cancel)
        kl = scorer.kl(chats, replies, cancel)

    # 4. Numbers, words, files
    from core.train.results import read_metrics
    summary = summarize(rows, exam_set, languages)
    summary["perplexity"] = {lang: {side: ppl[side].get(lang) for side in ppl} for lang in languages}
    summary["kl"] = round(kl, 5) if kl is not None else None
    trend = loss_trend(read_metrics(target.run_dir)) if target.run_dir else {}
    summary["loss"] = trend
    summary["exam"]["training"] = exam_training_note(project, target, exam) if exam_set == "exam" else {}
    summary["exam"]["source"] = str(questions) if questions else "exam/exam.jsonl"
    summary["verdict"] = verdict(summary)
    summary["warnings"] = warnings(summary, config.retention_floor, trend, _recipe_of(target))
    try:
        from core.evaluate.fit import language_fit, warnings_of
        summary["language_fit"] = language_fit(project, scorer if scorer.name == "transformers" else None)
        summary["warnings"] += warnings_of(summary["language_fit"])
    except Exception as exc:  # noqa: BLE001 — a check, never a reason to fail the evaluation
        say.log(f"Could not check the books' language against the base model ({exc})")
    summary.update(target=target.label, backend=scorer.name, precision=getattr(scorer, "precision", None),
                   languages=languages, checkpoint=checkpoint,
                   questions=str(questions) if questions else None, run=target.run_dir.name if target.run_dir else None,
                   seconds=round(time.time() - started, 1), evaluated=time.strftime("%Y-%m-%d %H:%M:%S"))
    if target.run_dir is not None:
        stamp = summary["evaluated"]
        for row in rows:
            append_jsonl(target.run_dir / "eval.jsonl", {"evaluation": stamp, "target": target.label, **row})
        name = "evaluation.json" if not questions and not checkpoint else \
            f"evaluation-{Path(str(questions or checkpoint)).stem}.json"
        atomic_write_json(target.run_dir / name, summary)
        if name == "evaluation.json":
            update_run_summary(target.run_dir, summary)
    elif not questions:  # the base model alone: kept with the exam, so the app can show it again
        atomic_write_json(exam_dir(project) / "base-evaluation.json", summary)
    say.log(summary["verdict"])
    for w in summary["warnings"]:
        say.warning(w)
    return summary


def final_evaluation(project: Project, result, report: Reporter | None = None,
                     cancel: CancelToken | None = None) -> dict | None:
    """The full evaluation after a training run (its adapter: the best checkpoint). Never fails the run:
    a problem becomes a warning, and a stop skips it (``python main.py evaluate`` runs it later)."""
    from core.config import load_yaml
    from core.events import Cancelled

    say = StageReporter(report, "evaluate")
    saved = load_yaml(Path(result.run_dir) / "config.yaml")
    config = saved.get("evaluate") if isinstance(saved.get("evaluate"), EvalConfig) else project.settings("evaluate")
    try:
        return evaluate(project, Path(result.run_dir).name, config=config, report=report, cancel=cancel)
    except Cancelled:
        say.warning("Evaluation stopped; run it later on the Results page or with `python main.py evaluate`")
    except Exception as exc:  # noqa: BLE001 — the adapter is saved; the report is extra
        say.warning(f"The evaluation could not run ({exc}); the adapter is saved")
    return None


def update_run_summary(run_dir: Path, summary: dict) -> None:
    path = run_dir / "summary.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data["verdict"] = summary["verdict"]
    data["warnings"] = summary["warnings"]
    data["evaluation"] = {k: summary[k] for k in ("exam", "general", "retention", "reasoning", "perplexity", "kl")}
    atomic_write_json(path, data)
