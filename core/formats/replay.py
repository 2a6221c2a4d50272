"""Replay: the base model's own answers to general prompts, mixed into training to keep what it knew.

Before training, the *base* model (never the writer model: this is self-distillation, no
outside data) answers general prompts shipped in ``resources/replay/`` (English, plus the books'
languages), greedy. ``replay_rows`` adds as many of these chat samples to the training split as
``FormatConfig.replay`` asks for (a share of all training samples), cycling through the prompts
when more are needed. The answers are cached in ``datasets/replay/generated.jsonl`` per base
model, so they are written once. The prompts are disjoint from the evaluation probes
(``resources/probes/``), so retention still measures what the model kept, not what it rehearsed.
"""
from __future__ import annotations

from importlib import resources

from core.config import FormatConfig
from core.events import CancelToken, Reporter, StageReporter
from core.formats.checks import fit_reply, repetitive, words
from core.project import Project, append_jsonl, read_jsonl

REPLY_TOKENS = 160
LANGUAGES = ("en", "ru")


def prompts(language: str) -> list[str]:
    path = resources.files("resources").joinpath("replay", f"prompts.{language}.txt")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def replay_languages(chunks: list[dict]) -> list[str]:
    books = {c.get("language") or "" for c in chunks}
    return ["en"] + [x for x in LANGUAGES if x != "en" and x in books]


def _store(project: Project):
    return project.dataset_dir("replay") / "generated.jsonl"


def answers(project: Project, wanted: list[str], config: FormatConfig, report: Reporter | None = None,
            cancel: CancelToken | None = None, writer=None) -> dict[str, str]:
    """The base model's answer to each wanted prompt (written now if missing; cached per base model)."""
    from core.formats.builder import load_writer

    say = StageReporter(report, "format")
    writer = writer or load_writer(project, FormatConfig(**{**config.__dict__, "writer": ""}), report)
    model_id = writer.model_id
    done = {r["prompt"]: r["answer"] for r in read_jsonl(_store(project)) if r.get("model") == model_id}
    todo = [p for p in dict.fromkeys(wanted) if p not in done]
    if todo:
        say.log(f"Replay: the base model answers {len(todo)} general prompts (once; kept for later runs)")
        step = 32
        for start in range(0, len(todo), step):
            batch = todo[start:start + step]
            replies = writer([[{"role": "user", "content": p}] for p in batch], REPLY_TOKENS, cancel or CancelToken())
            for prompt, (text, finished) in zip(batch, replies):
                text, complete = fit_reply(text, finished)
                answer = text if complete and words(text) and not repetitive(text) else ""
                append_jsonl(_store(project), {"model": model_id, "prompt": prompt, "answer": answer})
                done[prompt] = answer
            say.progress(min(start + step, len(todo)), len(todo), "replay answers")
    return {p: done[p] for p in wanted if done.get(p)}


def replay_rows(project: Project, config: FormatConfig, tokenizer, n_train: int, chunks: list[dict],
                report: Reporter | None = None, cancel: CancelToken | None = None, writer=None) -> list[dict]:
    """Training rows of replay: ``replay`` / (1 − ``replay``) × ``n_train`` of them."""
    from core.formats.renderers import render_messages

    count = round(config.replay / (1.0 - config.replay) * n_train)
    if count <= 0:
        return []
    # languages interleaved, so a small count still covers each; only as many as needed are answered
    lists = [prompts(lang) for lang in replay_languages(chunks)]
    pool = [lst[i] for i in range(max(map(len, lists))) for lst in lists if i < len(lst)][:count]
    got = answers(project, pool, config, report, cancel, writer)
    usable = [p for p in pool if p in got]
    rows = []
    system = [{"role": "system", "content": config.system_prompt}] if config.system_prompt else []
    for i in range(count if usable else 0):
        prompt = usable[i % len(usable)]
        sample = render_messages(system + [{"role": "user", "content": prompt},
                                           {"role": "assistant", "content": got[prompt]}], tokenizer)
        rows.append({"split": "train", "doc_id": "replay", "chunk": i, "kind": "replay", **sample})
    return rows
