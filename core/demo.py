"""The demo job: the whole path, headless, on the embedded model and the app's own manual.

ingest resources/manual.md → chat-format dataset → short LoRA → one question answered by the
base and by the tuned model. It proves on a fresh machine that every stage works together.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from core.config import ChatConfig, CorpusConfig, FormatConfig, ModelConfig, TrainConfig
from core.events import CancelToken, Reporter, StageReporter

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
MANUAL = RESOURCES / "manual.md"
QUESTION = "How do I compare the tuned model with the base model in Scriptorium?"


def run_demo(project_dir: Path | None = None, steps: int = 30, model: str = "embedded",
             question: str = QUESTION, report: Reporter | None = None,
             cancel: CancelToken | None = None) -> dict:
    from core.chat import TransformersChat
    from core.ingest import ingest
    from core.models import load_tokenizer, resolve
    from core.project import Project
    from core.train import train

    say = StageReporter(report, "demo")
    project = Project.open(project_dir or tempfile.mkdtemp(prefix="scriptorium-demo-"))
    project.set_model(ModelConfig(model))
    say.log(f"Demo project: {project.root}")

    resolved = resolve(model, report)
    tokenizer = load_tokenizer(resolved)
    ingested = ingest(project, [MANUAL], tokenizer, CorpusConfig(chunk_tokens=128), report, cancel)
    if not ingested.ok and not any(o.status == "skipped" for o in ingested.outcomes):
        raise RuntimeError(f"demo: could not read the manual: {ingested.summary()['errors']}")

    result = train(project, ModelConfig(model), FormatConfig(),
                   # small blocks: the manual is ~1k tokens, so each step sees a part of it, and the demo
                   # finishes in a couple of minutes on two CPU cores
                   TrainConfig(steps=steps, eval_every=max(steps // 3, 1), max_seq_len=256, batch_size=2),
                   report, cancel)

    chat = TransformersChat.from_run(project, result.run_dir.name)
    settings = ChatConfig(max_new_tokens=80)
    say.log("Asking the base model…")
    base = chat.reply(question, settings, adapter=False)
    say.log("Asking the tuned model…")
    tuned = chat.reply(question, settings, adapter=True)
    return {"project": str(project.root), "run_dir": str(result.run_dir), "adapter": str(result.adapter_dir),
            "steps": result.steps, "first_loss": result.first_loss, "last_loss": result.last_loss,
            "eval_loss": result.eval_loss, "question": question, "base_answer": base, "tuned_answer": tuned,
            "answers_differ": base != tuned, "cancelled": result.cancelled}
