"""Chat speed, measured side by side in one run on the embedded SmolLM2: base, adapter and merged,
llama.cpp vs transformers, decode tokens/s and first-token latency.

Trains a tiny adapter (or reuses --project's newest run), exports it (adapter GGUF and merged Q8_0),
then measures a new question each round (the same for every side in a round; a chat's system
prompt and template may come from llama.cpp's cache, as in the Chat page) and the same number of
greedy tokens on six sides:

  llama.cpp     base GGUF · base GGUF + adapter GGUF · merged Q8_0 GGUF
  transformers  base · base + PEFT adapter · adapter merged into the weights

Noise-proof: after a warm-up of every side, ``--rounds`` rounds run every side once, in an order
that alternates round by round (A B … then … B A), and each round's llama.cpp ÷ transformers ratio
is taken within the round (both sides saw the same load). Medians with min–max are printed, with
the load average before and after. Last lines: ``first_token_s: X`` (llama.cpp with the adapter,
median: what a user waits for in the Chat page) and ``ratio: X`` (median per-round llama.cpp ÷
transformers decode tokens/s, adapter sides).

    python bench/chat.py [--project DIR] [--tokens 96] [--rounds 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# A new question every round (the same for every side within a round): as in a real chat, only the
# system prompt and the template around the question can come from llama.cpp's cache.
QUESTIONS = ("Explain in detail how Scriptorium turns books into a tuned language model.",
             "What should I check before I train a model on my own notes?",
             "Describe the steps to export a fine-tuned model for Ollama.",
             "Why does a small language model forget things after fine-tuning?",
             "How can I tell whether a model has learned the facts of a book?",
             "Write a short story about a lighthouse keeper and his journal.",
             "Compare reading a PDF and reading an EPUB file for a computer program.",
             "Give me three tips for writing clear documentation for a tool.")
FIRST_TOKEN_GOAL_S = 0.3


def timed_stream(stream, tokenizer) -> tuple[float, float, int]:
    """(first-piece latency s, decode tokens/s after the first piece, tokens generated).

    Streamers yield pieces of different sizes (transformers: words, llama.cpp: tokens), so the
    tokens are counted by re-tokenizing the reply with the model's own tokenizer."""
    start = time.perf_counter()
    first = None
    pieces = []
    for piece in stream:
        pieces.append(piece)
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    n = len(tokenizer("".join(pieces), add_special_tokens=False)["input_ids"])
    latency = (first or end) - start
    rate = (n - len(tokenizer(pieces[0], add_special_tokens=False)["input_ids"])) / (end - first) \
        if first and len(pieces) > 1 and end > first else 0.0
    return latency, rate, n


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})"


def sides(project, run: str):
    """name → (chat object, adapter flag): the six things a user can chat with."""
    from core.chat import TransformersChat
    from core.chat.llamacpp_backend import LlamaCppChat

    export = project.root / "exports" / run
    info = json.loads((project.run_dir(run) / "run.json").read_text(encoding="utf-8"))
    llama = LlamaCppChat.from_run(project, run)
    merged_llama = LlamaCppChat(next(export.glob("merged-*.gguf")), None, info)
    hf = TransformersChat.from_run(project, run)
    merged_hf = TransformersChat.from_run(project, run)
    merged_hf.model = merged_hf.model.merge_and_unload()
    merged_hf.has_adapter = False
    return {"llama.cpp base": (llama, False), "llama.cpp adapter": (llama, True),
            "llama.cpp merged": (merged_llama, False), "transformers base": (hf, False),
            "transformers adapter": (hf, True), "transformers merged": (merged_hf, False)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", help="project with a trained run (default: train a tiny one)")
    parser.add_argument("--tokens", type=int, default=96, help="tokens to generate per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (sides alternate their order)")
    args = parser.parse_args()

    from core.cli import _quiet_libraries
    from core.config import ChatConfig, CorpusConfig, FormatConfig, ModelConfig, TrainConfig
    from core.demo import MANUAL
    from core.export.job import export_run
    from core.ingest import ingest
    from core.models import load_tokenizer, resolve
    from core.project import Project
    from core.train import train

    _quiet_libraries()
    project = Project.open(args.project or tempfile.mkdtemp(prefix="bench-chat-"))
    if not project.runs():
        print("training a 4-step adapter on the manual…", file=sys.stderr)
        ingest(project, [MANUAL], load_tokenizer(resolve("embedded")), CorpusConfig(chunk_tokens=128))
        train(project, ModelConfig(), FormatConfig(), TrainConfig(steps=4, eval_every=0))
    run = project.run_dir().name
    t = time.perf_counter()
    export_run(project, run, "adapter", verify=False)
    adapter_s = time.perf_counter() - t
    t = time.perf_counter()
    export_run(project, run, "merged", "Q8_0", verify=False)
    merged_s = time.perf_counter() - t

    # Greedy, no repetition penalty: every side computes the same thing (and usually the same text).
    settings = ChatConfig(max_new_tokens=args.tokens, temperature=0.0, repetition_penalty=1.0)
    tokenizer = load_tokenizer(resolve("embedded"))
    chats = sides(project, run)
    names = list(chats)

    def measure(name: str, question: str) -> tuple[float, float, int]:
        chat, adapter = chats[name]
        return timed_stream(chat.stream(chat.messages(question, settings), settings, adapter=adapter), tokenizer)

    load_before = os.getloadavg()
    for name in names:
        measure(name, QUESTIONS[0])  # warm-up: first calls allocate caches and threads
    results: dict[str, list[tuple[float, float, int]]] = {n: [] for n in names}
    ratios, latency_ratios = [], []
    for r in range(args.rounds):
        question = QUESTIONS[1 + r % (len(QUESTIONS) - 1)]
        for name in (names if r % 2 == 0 else names[::-1]):
            results[name].append(measure(name, question))
        llama, hf = results["llama.cpp adapter"][-1], results["transformers adapter"][-1]
        ratios.append(llama[1] / max(hf[1], 1e-9))
        latency_ratios.append(hf[0] / max(llama[0], 1e-9))
    load_after = os.getloadavg()

    print(f"{'side':<22}{'first token s':>26}{'decode tok/s':>26}{'tokens':>8}")
    for name in names:
        rows = results[name]
        print(f"{name:<22}{spread([x[0] for x in rows]):>26}{spread([x[1] for x in rows]):>26}"
              f"{statistics.median(x[2] for x in rows):>8.0f}")
    print(f"export: adapter GGUF {adapter_s:.2f} s, merged Q8_0 GGUF {merged_s:.2f} s")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; {args.rounds} rounds, "
          f"sides alternating")
    print(f"first-token ratio (transformers ÷ llama.cpp, adapter, per round): {spread(latency_ratios)}")
    first = statistics.median(x[0] for x in results["llama.cpp adapter"])
    print(f"decode ratio (llama.cpp ÷ transformers, adapter, per round): {spread(ratios)}")
    print(f"first-token goal ≤ {FIRST_TOKEN_GOAL_S} s: {'met' if first <= FIRST_TOKEN_GOAL_S else 'missed'}")
    print(f"first_token_s: {first:.3f}")
    print(f"ratio: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
