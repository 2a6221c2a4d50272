"""Generated formats on the embedded SmolLM2: how many chunks get usable samples, how fast, and
whether the model's own wording is an easier target than the book's.

For one chapter of a book (default: "A Mad Tea-Party" from the Alice EPUB in ../shared/realdocs):
  - qa with answers from the passage (the default) and with the model's own answers:
    share of chunks with ≥ 1 pair kept by the checks, drop reasons, samples/s and chunks/s;
  - paraphrase: share kept, drop reasons, samples/s, and the perplexity under the base model of
    the paraphrases vs the original chunks, each as the completion after the same chat prompt
    (all generated paraphrases, and only the kept ones).
One JSON line per measurement; the tests/integration version asserts the issue's thresholds.

    python bench/formats.py [--book FILE] [--chapter NAME] [--chunk-tokens 160] [--batch 3] [--chunks N]
"""
from __future__ import annotations

import argparse
import json
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


def paraphrase_perplexity(project, config, generator, chunks) -> dict:
    from core.config import FormatConfig
    from core.formats.builder import render_rows
    from core.formats.generate import chunk_key, load_generated, perplexity
    from core.formats.renderers import render_paraphrase

    tok, model = generator.tokenizer, generator.model
    records = load_generated(project, config, generator.model_id)
    kept, _ = render_rows(chunks, config, tok, set(), records)
    generated = [render_paraphrase({**c, "paraphrase": records[chunk_key(c)]["paraphrase"]}, config, tok)
                 for c in chunks]
    originals = {r["chunk"]: r for r in render_rows(chunks, FormatConfig(format="chat"), tok, set())[0]}

    def ppl(rows):
        return round(perplexity(model, tok, rows), 3) if rows else None

    return {"ppl_paraphrase_all": ppl(generated), "ppl_original_all": ppl(list(originals.values())),
            "ppl_paraphrase_kept": ppl(kept), "ppl_original_kept": ppl([originals[r["chunk"]] for r in kept]),
            "kept": len(kept)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=Path, default=ALICE)
    parser.add_argument("--chapter", default="A Mad Tea-Party")
    parser.add_argument("--chunk-tokens", type=int, default=160)
    parser.add_argument("--batch", type=int, default=3, help="gen_batch_size")
    parser.add_argument("--chunks", type=int, default=0, help="only the first N chunks of the chapter")
    parser.add_argument("--project", type=Path, help="keep the project (and its generations) here")
    args = parser.parse_args()

    from core.config import FormatConfig
    from core.formats.builder import prepare_chunks
    from core.formats.generate import BatchGenerator

    folder = args.project or Path(tempfile.mkdtemp(prefix="scriptorium-bench-formats-"))
    folder.mkdir(parents=True, exist_ok=True)
    project = chapter_project(args.book, args.chapter, args.chunk_tokens, folder)
    chunks = prepare_chunks(project)
    chunks = chunks[:args.chunks] if args.chunks else chunks
    generator = BatchGenerator.load("embedded", FormatConfig(gen_batch_size=args.batch), device="cpu")
    for name, config in (("qa_passage_answers", FormatConfig(format="qa", gen_batch_size=args.batch)),
                         ("qa_model_answers", FormatConfig(format="qa", qa_answers="model", gen_batch_size=args.batch)),
                         ("paraphrase", FormatConfig(format="paraphrase", gen_batch_size=args.batch))):
        row = {"measure": name, "chapter": args.chapter, **measure(project, config, generator, chunks)}
        if name == "paraphrase":
            row.update(paraphrase_perplexity(project, config, generator, chunks))
        print(json.dumps(row, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
