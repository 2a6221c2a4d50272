"""Chat speed and export cost, measured side by side in one run on the embedded SmolLM2.

Trains a tiny adapter (or reuses --project's newest run), exports it, then measures with the
same prompt and the same number of greedy tokens:
  - decode tokens/s and first-token latency: llama.cpp (base GGUF + adapter) vs transformers+PEFT
  - seconds to export the GGUF adapter and the merged Q8_0 file
Last line: ``ratio: X`` = llama.cpp decode tokens/s ÷ transformers decode tokens/s.

    python bench/chat.py [--project DIR] [--tokens 128]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROMPT = "Explain in detail how Scriptorium turns books into a tuned language model."


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", help="project with a trained run (default: train a tiny one)")
    parser.add_argument("--tokens", type=int, default=128, help="tokens to generate per measurement")
    args = parser.parse_args()

    from core.chat import TransformersChat
    from core.chat.llamacpp_backend import LlamaCppChat
    from core.config import ChatConfig, CorpusConfig, FormatConfig, ModelConfig, TrainConfig
    from core.demo import MANUAL
    from core.export.job import export_run
    from core.ingest import ingest
    from core.models import load_tokenizer, resolve
    from core.project import Project
    from core.train import train

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

    # Greedy, no repetition penalty: both sides compute the same thing (and usually the same text).
    settings = ChatConfig(max_new_tokens=args.tokens, temperature=0.0, repetition_penalty=1.0)
    tokenizer = load_tokenizer(resolve("embedded"))
    results = {}
    for name, chat in (("transformers", TransformersChat.from_run(project, run)),
                       ("llama.cpp", LlamaCppChat.from_run(project, run))):
        messages = chat.messages(PROMPT, settings)
        timed_stream(chat.stream(messages, settings, adapter=True), tokenizer)  # warm-up
        results[name] = timed_stream(chat.stream(messages, settings, adapter=True), tokenizer)
        del chat

    print(f"{'backend':<14}{'first token s':>15}{'decode tok/s':>15}{'tokens':>8}")
    for name, (latency, rate, n) in results.items():
        print(f"{name:<14}{latency:>15.3f}{rate:>15.1f}{n:>8}")
    print(f"export: adapter GGUF {adapter_s:.2f} s, merged Q8_0 GGUF {merged_s:.2f} s")
    ratio = results["llama.cpp"][1] / max(results["transformers"][1], 1e-9)
    print(f"first-token latency ratio (transformers ÷ llama.cpp): "
          f"{results['transformers'][0] / max(results['llama.cpp'][0], 1e-9):.2f}")
    print(f"ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
