"""Generated formats (qa, paraphrase): the base model writes training text from every chunk.

``generate()`` is the long job. It works through the chunks in batches — written by llama.cpp
with many sequences in flight when the base model is a GGUF (writers.py), else by transformers'
left-padded batched ``generate`` (``BatchGenerator``) — reports progress with an ETA, stops
between batches — or mid-batch — when cancelled, and appends one record per finished chunk to
``datasets/<format>/generated.jsonl``. The file is append-only and keyed by chunk
(``doc_id:chunk``) and by the generation settings, so a rerun resumes: finished chunks are never
generated again, and switching settings back reuses what was written for them.

Records keep the raw model output; ``samples_of()`` turns a record into training samples and
applies the checks of ``checks.py``, both here (to report what was dropped) and at build time.

- qa, answer first: the chunk's ``qa_pairs`` most telling sentences are picked, and the model
  writes a question that each one answers. The answer is that sentence (``qa_answers=passage``)
  or the model's own answer to its question with the passage in front of it (``model``). A
  135M model's own answers often say things the passage does not (bench/formats.py measures
  both); a sentence of the book is always backed by it, and the checks that the question is about
  the passage and about its answer still drop the questions the model made up. Twice as many
  sentences as pairs wanted are asked about; the first good pairs are kept.
- paraphrase: the model restates the passage; the original is kept next to the rewrite.

Small models follow a worked example far better than a description, so each ask comes after one
example exchange in the same chat.
"""
from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from core.config import GENERATED_FORMATS, FormatConfig
from core.events import CancelToken, Cancelled, Reporter, StageReporter
from core.formats.checks import (NO_QUESTION, check_answer, check_fit, check_paraphrase, check_question,
                                 fit_reply, focus_of, parse_questions, pick_sentences, words)
from core.formats.renderers import stop_tokens
from core.project import Project, append_jsonl, read_jsonl

# Bump when a prompt below changes: generations made with another prompt are not reused.
PROMPT_VERSION = 3
# One worked example goes before every ask (as an earlier turn of the chat): small models copy
# the shape of an example far more reliably than they follow a description of it.
EXAMPLE_PASSAGE = ("Tom planted three apple trees behind the barn in April. By autumn the smallest tree had already "
                   "given him a basket of red apples, which he shared with his neighbour Mrs. Hill.")
EXAMPLE_SENTENCE = ("By autumn the smallest tree had already given him a basket of red apples, which he shared with "
                    "his neighbour Mrs. Hill.")
EXAMPLE_QUESTION = "What did Tom share with his neighbour Mrs. Hill?"
EXAMPLE_ANSWER = "Red apples from the smallest of his three trees."
EXAMPLE_PARAPHRASE = ("In April, Tom put three apple trees in the ground behind his barn. When autumn came, even the "
                      "smallest one had produced a basket of red apples, and he gave some of them to Mrs. Hill, "
                      "who lives next door.")
QUESTION_PROMPT = ("Passage:\n{passage}\n\nWrite one question about {focus} that this sentence of the passage "
                   "answers:\n{sentence}")
ANSWER_PROMPT = "Passage:\n{passage}\n\nQuestion: {question}\nGive a short answer from the passage."
PARAPHRASE_PROMPT = ("Rewrite this passage in your own words. Keep every name, fact and event; add nothing.\n\n"
                     "{passage}")
QUESTION_TOKENS = 40   # one question; a longer reply is rambling
CANDIDATES = 2         # sentences asked about per pair wanted: the checks keep the first qa_pairs good ones
ANSWER_TOKENS = 64     # a short answer; more is a ramble or a loop


def with_example(ask: str, example: dict, reply: str, **real) -> list[dict]:
    """The ask filled with the worked example, its reply, then the same ask for the real passage."""
    return [{"role": "user", "content": ask.format(**example)}, {"role": "assistant", "content": reply},
            {"role": "user", "content": ask.format(**real)}]


def store_path(project: Project, fmt: str) -> Path:
    return project.dataset_dir(fmt) / "generated.jsonl"


def chunk_key(chunk: dict) -> str:
    return f"{chunk['doc_id']}:{chunk.get('chunk', 0)}"


def settings_key(config: FormatConfig, model_id: str) -> str:
    """What makes two generations interchangeable: format, model, prompts and decoding settings."""
    qa = [config.qa_pairs, config.qa_answers] if config.format == "qa" else []
    parts = [config.format, model_id, PROMPT_VERSION, *qa, config.gen_max_tokens, config.gen_temperature]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:12]


def load_generated(project: Project, config: FormatConfig, model_id: str) -> dict[str, dict]:
    """Finished records for these settings, by chunk key (a chunk written twice: the last wins)."""
    key = settings_key(config, model_id)
    return {r["key"]: r for r in read_jsonl(store_path(project, config.format)) if r.get("settings") == key}


def samples_of(record: dict, config: FormatConfig) -> tuple[list[dict], Counter]:
    """The usable samples of one record (fields to add to its chunk) and the drop reasons."""
    kept, dropped = [], Counter()
    if config.format == "qa":
        if not record["pairs"]:
            dropped[NO_QUESTION] += 1  # not one sentence worth asking about
        for i, pair in enumerate(record["pairs"]):
            reason = check_question(pair["question"], record["original"], config.min_grounding)
            answer, finished = pair["answer"].strip(), pair["finished"]
            if not reason and answer != pair.get("sentence"):  # the passage's own sentence needs no check
                answer, finished = fit_reply(answer, finished)
                reason = check_answer(pair["question"], answer, record["original"], finished, config.min_grounding)
            reason = reason or check_fit(pair["question"], answer, config.min_grounding)
            if reason:
                dropped[reason] += 1
            elif len(kept) < config.qa_pairs:  # more were asked for than needed: keep the first good ones
                kept.append({"question": pair["question"], "answer": answer, "pair": i})
    else:
        length = int(1.3 * len(words(record["original"]))) + 5
        text, finished = fit_reply(record["paraphrase"], record["finished"], length)
        reason = check_paraphrase(text, record["original"], finished, config.min_grounding)
        if reason:
            dropped[reason] += 1
        else:
            kept.append({"paraphrase": text})
    return kept, dropped


class BatchGenerator:
    """The base model answering many one-turn chats at once (left-padded batch)."""

    def __init__(self, model, tokenizer, model_id: str, temperature: float = 0.0, batch_size: int = 4,
                 device: str = "cpu") -> None:
        self.model, self.tokenizer, self.model_id = model, tokenizer, model_id
        self.temperature, self.batch_size, self.device = temperature, batch_size, device
        self.stop_ids = [i for i in tokenizer.convert_tokens_to_ids(stop_tokens(tokenizer)) if i is not None]
        self.calls = 0  # batches run (tests check that a resumed job does not redo work)

    @classmethod
    def load(cls, source: str, config: FormatConfig, report: Reporter | None = None,
             device: str = "auto") -> "BatchGenerator":
        from core.models import load_model, load_tokenizer, pick_device, resolve

        resolved = resolve(source, report)
        device = pick_device(device)
        model = load_model(resolved, device)
        model.eval()
        return cls(model, load_tokenizer(resolved), model_identity(resolved), config.gen_temperature,
                   config.gen_batch_size, device)

    def __call__(self, prompts: list[str | list[dict]], max_new_tokens: int, cancel: CancelToken,
                 seed: int = 0) -> list[tuple[str, bool]]:
        """Reply text and whether it ended by itself (not at the token limit), per prompt."""
        out: list[tuple[str, bool]] = []
        for start in range(0, len(prompts), self.batch_size):
            out.extend(self._batch(prompts[start:start + self.batch_size], max_new_tokens, cancel, seed + start))
        return out

    def _batch(self, prompts: list[str], max_new_tokens: int, cancel: CancelToken, seed: int):
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs) -> bool:
                return cancel.cancelled

        cancel.raise_if_cancelled()
        tok = self.tokenizer
        # A prompt is a user message, or a whole conversation (a worked example before the real ask).
        texts = [tok.apply_chat_template([{"role": "user", "content": p}] if isinstance(p, str) else p,
                                         tokenize=False, add_generation_prompt=True) for p in prompts]
        side, tok.padding_side = tok.padding_side, "left"  # new tokens must line up at the right edge
        try:
            enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        finally:
            tok.padding_side = side
        sampling = dict(do_sample=True, temperature=self.temperature, top_p=0.9) if self.temperature > 0 else dict(
            do_sample=False, temperature=None, top_p=None, top_k=None)
        if self.temperature > 0:
            torch.manual_seed(seed)
        with torch.inference_mode():
            ids = self.model.generate(**enc, max_new_tokens=max_new_tokens, eos_token_id=self.stop_ids or None,
                                      pad_token_id=tok.pad_token_id, repetition_penalty=1.1,
                                      stopping_criteria=StoppingCriteriaList([_Stop()]), **sampling)
        self.calls += 1
        cancel.raise_if_cancelled()  # a batch stopped mid-way is incomplete: never stored
        new = ids[:, enc["input_ids"].shape[1]:].tolist()
        return [(tok.decode(row, skip_special_tokens=True).strip(), any(i in self.stop_ids for i in row))
                for row in new]


def model_identity(resolved) -> str:
    """Names the weights, not the path the user typed: a converted GGUF's folder holds its hash."""
    return f"{resolved.source}|{Path(resolved.load_dir).name}"


@dataclass
class GenerateResult:
    chunks: int = 0                 # chunks this run had to cover
    reused: int = 0                 # already generated before (resumed)
    generated: int = 0              # generated by this run
    kept: int = 0                   # usable samples over all covered chunks
    new_kept: int = 0               # … of which this run generated
    dropped: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    cancelled: bool = False
    model_id: str = ""              # whose writing it is (records are keyed by it)

    @property
    def samples_per_s(self) -> float | None:
        """Samples kept per second of generation in this run (None when nothing was generated)."""
        return round(self.new_kept / self.seconds, 3) if self.generated and self.seconds else None

    def summary(self) -> dict:
        return {"chunks": self.chunks, "reused": self.reused, "generated": self.generated, "kept": self.kept,
                "dropped": dict(self.dropped), "dropped_total": sum(self.dropped.values()),
                "seconds": round(self.seconds, 1), "samples_per_s": self.samples_per_s, "cancelled": self.cancelled}


def _qa_records(batch: list[dict], config: FormatConfig, gen: BatchGenerator, cancel: CancelToken) -> list[dict]:
    """Answer first: the chunk's most telling sentences, a question the model writes for each,
    then the answer — that sentence itself (qa_answers=passage) or the model's (qa_answers=model)."""
    targets = [(i, s) for i, c in enumerate(batch) for s in pick_sentences(c["text"], CANDIDATES * config.qa_pairs)]
    example = {"passage": EXAMPLE_PASSAGE, "sentence": EXAMPLE_SENTENCE, "focus": focus_of(EXAMPLE_SENTENCE)}
    replies = gen([with_example(QUESTION_PROMPT, example, EXAMPLE_QUESTION, passage=batch[i]["text"], sentence=s,
                                focus=focus_of(s)) for i, s in targets],
                  min(config.gen_max_tokens, QUESTION_TOKENS), cancel)
    pairs = [{"sentence": s, "question_raw": text, "question": next(iter(parse_questions(text, 1)), ""),
              "answer": s, "finished": True} for (i, s), (text, _) in zip(targets, replies)]
    if config.qa_answers == "model":
        asked = [(k, i) for k, (i, _) in enumerate(targets) if pairs[k]["question"]]
        example = {"passage": EXAMPLE_PASSAGE, "question": EXAMPLE_QUESTION}
        answers = gen([with_example(ANSWER_PROMPT, example, EXAMPLE_ANSWER, passage=batch[i]["text"],
                                    question=pairs[k]["question"]) for k, i in asked],
                      min(config.gen_max_tokens, ANSWER_TOKENS), cancel)
        for (k, _), (answer, finished) in zip(asked, answers):
            pairs[k].update(answer=answer, finished=finished)
    records = [{"pairs": []} for _ in batch]
    for (i, _), pair in zip(targets, pairs):
        records[i]["pairs"].append(pair)
    return records


def _paraphrase_records(batch: list[dict], config: FormatConfig, gen: BatchGenerator,
                        cancel: CancelToken) -> list[dict]:
    # A paraphrase about as long as its passage; twice as long is already a ramble or a loop.
    budget = min(config.gen_max_tokens, 2 * max(int(c.get("tokens") or 0) for c in batch) + 32)
    replies = gen([with_example(PARAPHRASE_PROMPT, {"passage": EXAMPLE_PASSAGE}, EXAMPLE_PARAPHRASE, passage=c["text"])
                   for c in batch], budget, cancel)
    return [{"paraphrase": text, "finished": finished} for text, finished in replies]


def generate(project: Project, config: FormatConfig, chunks: list[dict], generator: BatchGenerator | None = None,
             report: Reporter | None = None, cancel: CancelToken | None = None) -> GenerateResult:
    """Make sure every chunk in ``chunks`` has a generated record; resumable and cancellable.

    ``generator`` defaults to the project's base model (loaded only when something is missing):
    through llama.cpp when it is a GGUF (the embedded model too), else transformers — see writers.py.
    """
    if config.format not in GENERATED_FORMATS:
        raise ValueError(f"{config.format}: not a generated format ({', '.join(GENERATED_FORMATS)})")
    say = StageReporter(report, "format")
    cancel = cancel or CancelToken()
    path = store_path(project, config.format)
    if generator is None:
        from core.formats.writers import writer_identity
        model_id = writer_identity(project.model.source, report)  # llama.cpp's when the base is a GGUF
    else:
        model_id = generator.model_id
    done = load_generated(project, config, model_id)
    todo = [c for c in chunks if chunk_key(c) not in done]
    if todo and generator is None:
        from core.formats.writers import load_writer
        generator = load_writer(project.model.source, config, report)
        if generator.model_id != model_id:  # llama.cpp failed to load: the fallback's records are its own
            model_id = generator.model_id
            done = load_generated(project, config, model_id)
            todo = [c for c in chunks if chunk_key(c) not in done]
    result = GenerateResult(chunks=len(chunks), reused=len(chunks) - len(todo), model_id=model_id)
    if todo:
        say.log(f"{config.format}: the base model writes samples for {len(todo)} chunks"
                + (f" ({result.reused} already written, kept)" if result.reused else ""))
        make = _qa_records if config.format == "qa" else _paraphrase_records
        started = time.monotonic()
        say.progress(result.reused, len(chunks), f"{config.format}: generating…")
        # a llama.cpp writer keeps more sequences in flight than gen_batch_size chunks would fill
        step = max(config.gen_batch_size, getattr(generator, "chunks_per_call", 0))
        for start in range(0, len(todo), step):
            batch = todo[start:start + step]
            try:
                records = make(batch, config, generator, cancel)
            except Cancelled:
                result.cancelled = True
                break
            for chunk, rec in zip(batch, records):
                rec = {"key": chunk_key(chunk), "settings": settings_key(config, model_id), "doc_id": chunk["doc_id"],
                       "chunk": chunk.get("chunk", 0), "model": model_id, "original": chunk["text"], **rec}
                append_jsonl(path, rec)  # flushed per chunk: a crash or cancel keeps every finished one
                done[rec["key"]] = rec
                result.new_kept += len(samples_of(rec, config)[0])
            result.generated += len(batch)
            result.seconds = time.monotonic() - started
            rate = result.generated / result.seconds
            remaining = len(todo) - result.generated
            say.progress(result.reused + result.generated, len(chunks),
                         f"{config.format}: {result.reused + result.generated}/{len(chunks)} chunks, "
                         f"ETA {remaining / rate:.0f} s", eta_s=round(remaining / rate, 1),
                         samples_per_s=result.samples_per_s, chunks_per_s=round(rate, 3))
            if cancel.cancelled:
                result.cancelled = True
                break
    for chunk in chunks:
        if chunk_key(chunk) in done:
            kept, dropped = samples_of(done[chunk_key(chunk)], config)
            result.kept += len(kept)
            result.dropped.update(dropped)
    if result.cancelled:
        say.warning(f"{config.format}: stopped; {result.reused + result.generated} of {len(chunks)} chunks are "
                    f"written and kept — run again to continue")
    drops = ", ".join(f"{n} {why}" for why, n in result.dropped.most_common()) or "none"
    say.metric(f"{config.format}: {result.kept} usable samples; dropped: {drops}", **result.summary())
    say.log(f"{config.format}: {result.kept} usable samples from {result.reused + result.generated} chunks; "
            f"dropped: {drops}")
    return result


def perplexity(model, tokenizer, samples: list[dict], batch_size: int = 4, device: str = "cpu") -> float | None:
    """Perplexity of the completions given their prompts (exactly the tokens training learns).

    Token-weighted over all samples. Used to test the seed's claim that the model's own wording
    (a paraphrase) is an easier target than the book's text under the base model.
    """
    import math

    import torch

    from core.formats.renderers import encode

    encoded = [encode(s, tokenizer, 1 << 30) for s in samples]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    total, count = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(encoded), batch_size):
            batch = encoded[start:start + batch_size]
            width = max(len(e["input_ids"]) for e in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            labels = torch.full((len(batch), width), -100, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, e in enumerate(batch):
                n = len(e["input_ids"])
                ids[row, :n], labels[row, :n], mask[row, :n] = torch.tensor(e["input_ids"]), torch.tensor(
                    e["labels"]), 1
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits[:, :-1].float()
            target = labels[:, 1:].to(device)
            nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, ignore_index=-100,
                                                    reduction="sum")
            total += float(nll)
            count += int((target != -100).sum())
    return math.exp(total / count) if count else None
