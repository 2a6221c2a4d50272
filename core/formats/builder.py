"""The format stage: render every corpus chunk, split train/eval, store it with its chat template.

Writes ``datasets/<format>/samples.jsonl`` and ``meta.json``. The meta keeps the chat template,
EOS and stop tokens used, so chat and export later render prompts exactly as in training.

For the generated formats (qa, paraphrase) the base model first writes its samples
(``generate.py``: resumable, cancellable); a chunk gives as many rows as it has usable samples,
all in the same split. The split is drawn over all chunks — or all books with
``split_by=book`` — before anything is dropped, so a chunk's side never depends on what the model
managed to write, and the same seed gives the same split for every format.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from core.config import GENERATED_FORMATS, FormatConfig, to_dict
from core.events import CancelToken, Reporter, StageReporter
from core.formats.renderers import RENDERERS, stop_tokens  # noqa: F401  (stop_tokens: public API here too)
from core.ingest.pipeline import load_chunks
from core.project import Project, ProjectError, atomic_write_json, read_jsonl, write_jsonl


@dataclass
class BuiltDataset:
    folder: Path
    train: list[dict]
    eval: list[dict]
    meta: dict


def split_indices(n: int, fraction: float, seed: int) -> set[int]:
    """Deterministic held-out chunk indices; none when there are too few chunks to spare one."""
    if fraction <= 0 or n < 4:
        return set()
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return set(order[:max(1, round(n * fraction))])


def held_out_books(chunks: list[dict], fraction: float, seed: int) -> list[str]:
    """Whole books for the held-out split: shuffled by seed, taken while they fit the share.

    Never every book; when each book alone is bigger than the share, the smallest one is held
    out (the caller reports the share it came to).
    """
    sizes = Counter(c["doc_id"] for c in chunks)
    books = sorted(sizes)
    if fraction <= 0 or len(books) < 2:
        return []
    random.Random(seed).shuffle(books)
    target, held, count = fraction * len(chunks), [], 0
    for book in books:
        if len(held) < len(books) - 1 and count + sizes[book] <= 1.5 * target:
            held.append(book)
            count += sizes[book]
    return held or [min(books, key=lambda b: (sizes[b], b))]


def prepare_chunks(project: Project) -> list[dict]:
    """The corpus chunks, with book-level fields (author, language) filled in from the documents."""
    from core.ingest.store import complete_documents

    chunks = load_chunks(project)
    books = {d["id"]: d for d in complete_documents(project)} if chunks else {}
    for chunk in chunks:
        book = books.get(chunk["doc_id"], {})
        for key in ("author", "language"):
            if not chunk.get(key) and book.get(key):
                chunk[key] = book[key]
        if not chunk.get("title") and book.get("title"):
            chunk["title"] = book["title"]
    return chunks


EXAM_HELD_OUT = "exam question (held out)"


def exam_pair(extra: dict, record: dict, held: set[str]) -> bool:
    """Is this generated question–answer pair one of the exam's (its question or its sentence)?"""
    from core.evaluate.grading import normalize

    if not held or "question" not in extra:
        return False
    sentence = record["pairs"][extra["pair"]].get("sentence", "") if "pair" in extra else extra.get("sentence", "")
    return normalize(extra["question"]) in held or (sentence and normalize(sentence) in held) or \
        normalize(extra.get("answer", "")) in held


def render_rows(chunks: list[dict], config: FormatConfig, tokenizer, eval_positions: set[int],
                records: dict[str, dict] | None = None, held_out: dict[str, set[str]] | None = None
                ) -> tuple[list[dict], Counter]:
    """Rows ``{split, doc_id, chunk, prompt, completion, …}`` and, for generated formats, drop counts.

    ``held_out``: per chunk key, the exam's questions and answer sentences; a generated Q&A pair
    that is one of them is never trained on (the exam stays honest)."""
    from core.formats.generate import chunk_key, samples_of

    render = RENDERERS[config.format]
    rows, dropped = [], Counter()
    if config.format == "knowledge":
        from core.formats.checks import token_pieces
        from core.formats.knowledge import TermIndex
        index = TermIndex(chunks, token_pieces(tokenizer))
    for i, chunk in enumerate(chunks):
        split = "eval" if i in eval_positions else "train"
        if config.format == "knowledge":
            from core.formats.knowledge import extracted_items, samples_of as knowledge_items
            record = (records or {}).get(chunk_key(chunk))
            held = (held_out or {}).get(chunk_key(chunk), set())
            items = extracted_items(chunk, index, held)
            if record is not None:
                written, why = knowledge_items(record, chunk, config)
                dropped.update(why)
                exam = [i for i in written if i["kind"] == "question" and exam_pair(i, {}, held)]
                if exam:
                    dropped[EXAM_HELD_OUT] += len(exam)
                items += [i for i in written if i not in exam]
            parts = {p.strip() for p in config.parts.split(",")}
            extras = [{"item": {"kind": "source"}}] if "text" in parts else []
            extras += [{"item": i} for i in items if knowledge_part(i) in parts]
        elif config.format in GENERATED_FORMATS:
            record = (records or {}).get(chunk_key(chunk))
            if record is None:
                continue  # not generated yet (a cancelled or limited job): left out, counted by the caller
            extras, why = samples_of(record, config)
            dropped.update(why)
            held = (held_out or {}).get(chunk_key(chunk), set())
            exam = [e for e in extras if exam_pair(e, record, held)]
            if exam:
                dropped[EXAM_HELD_OUT] += len(exam)
                extras = [e for e in extras if e not in exam]
        else:
            extras = [{}]
        for extra in extras:
            sample = render({**chunk, **extra}, config, tokenizer)
            rows.append({"split": split, "doc_id": chunk["doc_id"], "chunk": chunk.get("chunk", 0),
                         **({"pair": extra["pair"]} if "pair" in extra else {}), **sample})
    return rows, dropped


def eval_positions(chunks: list[dict], config: FormatConfig, say: StageReporter | None = None) -> set[int]:
    if config.split_by == "chunk":
        return split_indices(len(chunks), config.eval_fraction, config.split_seed)
    books = set(held_out_books(chunks, config.eval_fraction, config.split_seed))
    if say and config.eval_fraction > 0 and not books:
        say.warning("split_by=book needs at least two books; nothing is held out, so there is no eval loss")
    return {i for i, c in enumerate(chunks) if c["doc_id"] in books}


def build_dataset(project: Project, config: FormatConfig, tokenizer, report: Reporter | None = None,
                  cancel: CancelToken | None = None, generator=None, limit: int | None = None) -> BuiltDataset:
    """Render (and for qa/paraphrase, first generate) the dataset; ``limit``: only the first N chunks."""
    say = StageReporter(report, "format")
    chunks = prepare_chunks(project)
    if not chunks:
        raise ProjectError(f"{project.root}: the corpus is empty; add files first "
                           f"(`python main.py ingest FILE --project {project.root}`)")
    held = eval_positions(chunks, config, say)  # over all chunks, so a limit never changes a chunk's side
    if limit:
        chunks = chunks[:limit]
    records, generation = None, None
    from core.evaluate.exam import held_out_sentences
    held_out = held_out_sentences(project)
    if config.format == "knowledge":
        from core.formats.knowledge import generate_knowledge
        knowledge = generate_knowledge(project, config, chunks, generator or load_writer(project, config, report),
                                       held_out, report, cancel)
        records = knowledge.pop("records")
        generation = KnowledgeSummary(knowledge)
        if knowledge.get("fallback"):  # an unfaithful writer: the text with its source, no replay (meta says so)
            config = dataclasses.replace(config, parts="text", replay=0.0)
    elif config.format in GENERATED_FORMATS:
        from core.formats.generate import generate, load_generated

        generation = generate(project, config, chunks, generator, report, cancel)
        records = load_generated(project, config, generation.model_id)
    rows, dropped = render_rows(chunks, config, tokenizer, held, records, held_out)
    if config.replay > 0 and rows:
        from core.formats.replay import replay_rows
        rows += replay_rows(project, config, tokenizer, sum(r["split"] == "train" for r in rows), chunks, report,
                            cancel)
    selected = None
    if config.select:  # the lab's data scoring kept these (held-out and replay rows always stay)
        from core.lab.score_job import apply_selection
        rows, removed = apply_selection(rows, config.select)
        selected = {"file": config.select, "dropped": removed}
        say.log(f"Selection {config.select}: {removed} training samples left out")
    covered = len({(r["doc_id"], r["chunk"]) for r in rows}) if generation is None else (
        generation.reused + generation.generated)
    if not rows and not (generation and generation.cancelled):
        raise ProjectError(f"{config.format}: no usable samples (dropped: {dict(dropped) or 'none'}); "
                           f"lower min_grounding or use a larger base model")
    folder = project.dataset_dir(config.format)
    write_jsonl(folder / "samples.jsonl", rows)
    fingerprint = hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()[:16]
    eval_rows = [r for r in rows if r["split"] == "eval"]
    titles = {c["doc_id"]: c.get("title", "") for c in chunks}
    meta = {"format": to_dict(config), "chat_template": tokenizer.chat_template, "eos_token": tokenizer.eos_token,
            "stop_tokens": stop_tokens(tokenizer), "samples": len(rows), "eval_samples": len(eval_rows),
            "fingerprint": fingerprint, "chunks": len(chunks), "chunks_covered": covered,
            "complete": not limit and covered == len(chunks),
            "split": {"by": config.split_by, "seed": config.split_seed, "fraction": config.eval_fraction,
                      "eval_chunks": len(held),
                      "held_out_books": sorted({titles.get(c["doc_id"], c["doc_id"]) for i, c in enumerate(chunks)
                                                if i in held}) if config.split_by == "book" else []},
            "dropped": dict(dropped), "generation": generation.summary() if generation else None,
            "selection": selected}
    atomic_write_json(folder / "meta.json", meta)
    say.log(f"{config.format}: {len(rows) - len(eval_rows)} training and {len(eval_rows)} held-out samples"
            + (f" ({sum(dropped.values())} generated samples dropped)" if dropped else ""))
    return BuiltDataset(folder, [r for r in rows if r["split"] == "train"], eval_rows, meta)


class KnowledgeSummary:
    """The knowledge job's counts, shaped like generate()'s result for the meta and the CLI."""

    def __init__(self, counts: dict) -> None:
        self.counts = counts
        self.reused, self.generated, self.cancelled = counts["reused"], counts["generated"], counts["cancelled"]

    def summary(self) -> dict:
        return dict(self.counts)


def knowledge_part(item: dict) -> str:
    """Which of ``FormatConfig.parts`` a knowledge item belongs to."""
    if item["kind"] != "question":
        return "restatements"
    return "cues" if item.get("origin") == "cues" else "questions"


def load_writer(project: Project, config: FormatConfig, report: Reporter | None = None):
    """The model that writes generated samples: ``config.writer`` or the base model; llama.cpp when it can."""
    from core.formats.writers import load_writer as load

    return load(config.writer or project.model.source, config, report)


def load_dataset_meta(project: Project, fmt: str) -> dict:
    path = project.dataset_dir(fmt) / "meta.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def load_samples(project: Project, fmt: str) -> list[dict]:
    return list(read_jsonl(project.dataset_dir(fmt) / "samples.jsonl"))
