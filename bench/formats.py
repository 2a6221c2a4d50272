"""Generated formats on the embedded SmolLM2: how many chunks get usable samples, how fast, and
whether the model's own wording is an easier target than the book's.

For one chapter of a book (default: "A Mad Tea-Party" from the Alice EPUB in ../shared/realdocs):
  - qa with answers from the passage (the default) and with the model's own answers:
    share of chunks with ≥ 1 pair kept by the checks, drop reasons, samples/s and chunks/s;
  - paraphrase: share kept, drop reasons, samples/s, and the perplexity under the base model of
    the paraphrases vs the original chunks, each as the completion after the same chat prompt
    (all generated paraphrases, and only the kept ones).
  - speed: the same chunks and FormatConfig written by the llama.cpp writer (the default for the
    embedded GGUF) and by transformers' BatchGenerator, qa then paraphrase, after a warm-up, over
    ``--rounds`` rounds whose side order alternates; per side the median samples/s and reply
    tokens/s, and last the line ``ratio: X`` = llama.cpp samples/s ÷ transformers samples/s
    (medians of each round's qa + paraphrase samples over its seconds).
The yield rows use the llama.cpp writer (``--writer transformers`` for the old one); perplexity is
always transformers' (it needs the torch model). One JSON line per measurement; the
tests/integration version asserts the issue's thresholds. The machine's load average is printed
with the speed rows: on shared cores both sides slow down, transformers' spinning threads more.

    python bench/formats.py [--book FILE] [--chapter NAME] [--chunk-tokens 160] [--batch 3] [--chunks N]
                            [--rounds 2] [--speed-only | --no-speed]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
ALICE = ROOT.parent / "shared" / "realdocs" / "epub" / "carroll_alice.epub"


def chapter_project(book: Path, chapter: str, chunk_tokens: int, folder: Path):
    """A project whose corpus is the one chapter, written as markdown (title, heading, paragraphs)."""
    from core.config import CorpusConfig
    from core.ingest import ingest
    from core.ingest.readers import read_file
    from core.models import load_tokenizer, resolve
    from core.project import Project

    doc = read_file(book)
    section = next((s for s in doc.sections if s.heading == chapter), None)
    if section is None:
        raise SystemExit(f"{book.name}: no chapter {chapter!r}; chapters: {[s.heading for s in doc.sections]}")
    md = folder / "chapter.md"
    md.write_text(f"# {doc.title}\n\n## {chapter}\n\n" + "\n\n".join(section.paragraphs), encoding="utf-8")
    project = Project.open(folder / "project")
    ingest(project, [md], load_tokenizer(resolve("embedded")), CorpusConfig(chunk_tokens=chunk_tokens))
    return project


def measure(project, config, generator, chunks) -> dict:
    from core.formats.generate import chunk_key, generate, load_generated, samples_of

    result = generate(project, config, chunks, generator)
    records = load_generated(project, config, generator.model_id)
    covered = sum(bool(samples_of(records[chunk_key(c)], config)[0]) for c in chunks)
    return {"chunks": len(chunks), "chunks_with_samples": covered, "share": round(covered / len(chunks), 3),
            "samples": result.kept, "dropped": dict(result.dropped), "seconds": round(result.seconds, 1),
            "samples_per_s": result.samples_per_s, "chunks_per_s": round(result.generated / result.seconds, 3)
            if result.seconds else None}


def paraphrase_perplexity(project, config, writer, transformers, chunks) -> dict:
    """Perplexity under the base model (transformers') of ``writer``'s paraphrases vs the originals."""
    from core.config import FormatConfig
    from core.formats.builder import render_rows
    from core.formats.generate import chunk_key, load_generated, perplexity
    from core.formats.renderers import render_paraphrase

    tok, model = transformers.tokenizer, transformers.model
    records = load_generated(project, config, writer.model_id)
    kept, _ = render_rows(chunks, config, tok, set(), records)
    generated = [render_paraphrase({**c, "paraphrase": records[chunk_key(c)]["paraphrase"]}, config, tok)
                 for c in chunks]
    originals = {r["chunk"]: r for r in render_rows(chunks, FormatConfig(format="chat"), tok, set())[0]}

    def ppl(rows):
        return round(perplexity(model, tok, rows), 3) if rows else None

    return {"ppl_paraphrase_all": ppl(generated), "ppl_original_all": ppl(list(originals.values())),
            "ppl_paraphrase_kept": ppl(kept), "ppl_original_kept": ppl([originals[r["chunk"]] for r in kept]),
            "kept": len(kept)}


def reply_tokens(project, config, writer, tokenizer) -> int:
    """Tokens the writer wrote for this format (questions, model answers, paraphrases)."""
    from core.formats.generate import store_path
    from core.project import read_jsonl

    texts = []
    for r in read_jsonl(store_path(project, config.format)):
        if r["model"] != writer.model_id:
            continue
        if config.format == "qa":  # the questions, and the model's own answers (not the passage's sentences)
            texts += [p["question_raw"] for p in r["pairs"]]
            texts += [p["answer"] for p in r["pairs"] if p["answer"] != p["sentence"]]
        else:
            texts.append(r["paraphrase"])
    return sum(len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]) if texts else 0


def speed(project, chunks, writers: dict, batch: int, rounds: int) -> None:
    """Alternating timed runs of every writer on the same chunks and settings; prints the ratio."""
    from core.config import FormatConfig
    from core.formats.generate import generate, store_path

    configs = [FormatConfig(format=f, gen_batch_size=batch) for f in ("qa", "paraphrase")]
    tokenizer = next(iter(writers.values())).tokenizer

    def run(name, config, these):
        store_path(project, config.format).unlink(missing_ok=True)  # nothing to resume: all generated again
        result = generate(project, config, these, writers[name])
        return result, reply_tokens(project, config, writers[name], tokenizer)

    for name in writers:  # warm-up: first allocations, caches, the llama.cpp context; not timed
        for config in configs:
            run(name, FormatConfig(format=config.format, gen_batch_size=batch, gen_max_tokens=16), chunks[:2])
    per_side = {name: {"samples_per_s": [], "tokens_per_s": [], "seconds": [], "samples": []} for name in writers}
    names = list(writers)
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            seconds = samples = tokens = 0
            for config in configs:
                result, n = run(name, config, chunks)
                seconds, samples, tokens = seconds + result.seconds, samples + result.new_kept, tokens + n
                print(json.dumps({"measure": "speed_run", "round": r, "writer": name, "format": config.format,
                                  "chunks": len(chunks), "seconds": round(result.seconds, 2),
                                  "samples": result.new_kept, "samples_per_s": result.samples_per_s,
                                  "tokens": n, "tokens_per_s": round(n / result.seconds, 1),
                                  "llama_threads": getattr(getattr(writers[name], "batch", None), "threads", None),
                                  "load": round(os.getloadavg()[0], 2)}), flush=True)
            for key, value in (("samples_per_s", samples / seconds), ("tokens_per_s", tokens / seconds),
                               ("seconds", seconds), ("samples", samples)):
                per_side[name][key].append(value)
    summary = {name: {key: round(statistics.median(values), 3) for key, values in v.items()}
               for name, v in per_side.items()}
    print(json.dumps({"measure": "speed", "chunks": len(chunks), "rounds": rounds, "batch": batch, **summary}),
          flush=True)
    fast, slow = summary["llama.cpp"]["samples_per_s"], summary["transformers"]["samples_per_s"]
    print(f"llama.cpp: {fast:.3f} samples/s, {summary['llama.cpp']['tokens_per_s']:.1f} tokens/s   "
          f"transformers: {slow:.3f} samples/s, {summary['transformers']['tokens_per_s']:.1f} tokens/s")
    print(f"ratio: {fast / slow:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=Path, default=ALICE)
    parser.add_argument("--chapter", default="A Mad Tea-Party")
    parser.add_argument("--chunk-tokens", type=int, default=160)
    parser.add_argument("--batch", type=int, default=3, help="gen_batch_size")
    parser.add_argument("--chunks", type=int, default=0, help="only the first N chunks of the chapter")
    parser.add_argument("--project", type=Path, help="keep the project (and its generations) here")
    parser.add_argument("--writer", choices=("llama.cpp", "transformers"), default="llama.cpp",
                        help="who writes the samples of the yield rows")
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds of the speed comparison")
    parser.add_argument("--speed-only", action="store_true", help="only the llama.cpp vs transformers speed")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed comparison")
    args = parser.parse_args()

    from core.config import FormatConfig
    from core.formats.builder import prepare_chunks
    from core.formats.generate import BatchGenerator
    from core.formats.writers import load_writer

    folder = args.project or Path(tempfile.mkdtemp(prefix="scriptorium-bench-formats-"))
    folder.mkdir(parents=True, exist_ok=True)
    project = chapter_project(args.book, args.chapter, args.chunk_tokens, folder)
    chunks = prepare_chunks(project)
    chunks = chunks[:args.chunks] if args.chunks else chunks
    settings = FormatConfig(gen_batch_size=args.batch)
    writers = {"llama.cpp": load_writer("embedded", settings, backend="llama.cpp"),
               "transformers": BatchGenerator.load("embedded", settings, device="cpu")}
    if not args.speed_only:
        writer = writers[args.writer]
        for name, config in (("qa_passage_answers", FormatConfig(format="qa", gen_batch_size=args.batch)),
                             ("qa_model_answers", FormatConfig(format="qa", qa_answers="model",
                                                               gen_batch_size=args.batch)),
                             ("paraphrase", FormatConfig(format="paraphrase", gen_batch_size=args.batch))):
            row = {"measure": name, "chapter": args.chapter, "writer": args.writer,
                   **measure(project, config, writer, chunks)}
            if name == "paraphrase":
                row.update(paraphrase_perplexity(project, config, writer, writers["transformers"], chunks))
            print(json.dumps(row, ensure_ascii=False), flush=True)
    if not args.no_speed:
        speed(project, chunks, writers, args.batch, args.rounds)


if __name__ == "__main__":
    main()
