"""Data scoring: which training samples teach — perplexity and Instruction-Following Difficulty.

For every sample (a prompt and the completion the model is trained to write) a scorer model — the
embedded model by default, any causal LM — gives:

- ``ppl``: perplexity of the completion after its prompt (how surprising the answer still is);
- ``ppl_alone``: perplexity of the completion with no prompt;
- ``ifd`` = ppl / ppl_alone (Li et al., "From Quantity to Quality", the Cherry LLM paper;
  Superfiltering shows a small model's IFD ranks data almost like a large model's). Near 1 the
  prompt does not help the model write the answer — the sample asks for something hard to
  follow, the ones that teach most; above 1 the prompt and the answer do not fit together (those
  are usually dropped); low values are answers the prompt already gives away.

"No prompt" is not an empty context: the first completion token needs something before it. Both
perplexities are taken over the same tokens — every completion token — with the prompt in front
for ``ppl`` and a single start token (the tokenizer's BOS, else its EOS) in front for
``ppl_alone``, so the ratio compares like with like. Samples without a prompt (plain text) get
``ifd`` None. Completions are cut to ``max_tokens`` and prompts keep their last tokens.

``aggregate`` gives per-book means, ``histogram`` the counts a chart draws, ``select`` the ids of
the samples a keep-top-X% (or IFD band) filter keeps; ``build_dataset`` applies a saved selection
(``FormatConfig.select``) to the training split.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass

from core.events import CancelToken, Reporter, StageReporter


@dataclass
class SampleScore:
    id: str
    doc_id: str
    kind: str
    tokens: int
    ppl: float
    ppl_alone: float
    ifd: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def sample_id(row: dict) -> str:
    """A sample's stable id: what it says (prompt and completion), so a rebuilt dataset keeps it."""
    text = (row.get("prompt") or "") + "\x00" + (row.get("completion") or "")
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def score_samples(rows: list[dict], scorer, report: Reporter | None = None, cancel: CancelToken | None = None,
                  max_tokens: int = 512) -> list[SampleScore]:
    """Perplexity and IFD of every row (``prompt`` / ``completion``) under ``scorer`` (a
    ``TransformersScorer``: its base model, adapter off), batched, with progress and cancel."""
    say = StageReporter(report, "lab")
    cancel = cancel or CancelToken()
    tok = scorer.tokenizer
    start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    start = start if start is not None else scorer.pad_id
    with_prompt, alone, sizes = [], [], []
    for row in rows:
        answer = tok(row.get("completion") or "", add_special_tokens=False)["input_ids"][:max_tokens]
        answer = answer or [scorer.pad_id]
        prompt = tok(row.get("prompt") or "", add_special_tokens=False)["input_ids"]
        prompt = prompt[-max(1, max_tokens - len(answer)):] if prompt else []
        with_prompt.append((prompt + answer, len(prompt)) if prompt else None)
        alone.append(([start] + answer, 1))
        sizes.append(len(answer))
    total = len(rows) + sum(1 for s in with_prompt if s is not None)
    done = [0]

    def progress(count: int) -> None:
        done[0] += count
        say.progress(done[0], total, f"scoring samples: {done[0]} of {total} passes")

    nll_alone = _mean_nll(scorer, alone, cancel, progress)
    scored = [(i, s) for i, s in enumerate(with_prompt) if s is not None]
    nll_prompt = dict(zip((i for i, _ in scored), _mean_nll(scorer, [s for _, s in scored], cancel, progress)))
    out = []
    for i, row in enumerate(rows):
        ppl_alone = math.exp(nll_alone[i])
        ppl = math.exp(nll_prompt[i]) if i in nll_prompt else ppl_alone
        out.append(SampleScore(sample_id(row), str(row.get("doc_id", "")), str(row.get("kind", "")), sizes[i],
                               round(ppl, 4), round(ppl_alone, 4),
                               round(ppl / ppl_alone, 4) if i in nll_prompt else None))
    return out


def _mean_nll(scorer, sequences: list[tuple[list[int], int]], cancel: CancelToken, progress) -> list[float]:
    """Mean negative log-likelihood per scored token of each (ids, first scored position)."""
    out = [0.0] * len(sequences)
    pending = 0
    for i, logp, targets in scorer.forward_batches(sequences, False, cancel):
        out[i] = -float(logp.gather(1, targets[:, None]).mean())
        pending += 1
        if pending == scorer.batch_size:
            progress(pending)
            pending = 0
    if pending:
        progress(pending)
    return out


def aggregate(scores: list[SampleScore], titles: dict[str, str] | None = None) -> list[dict]:
    """Per book: samples, mean perplexity, mean and median IFD — sorted by mean IFD, highest first
    (the books whose samples are hardest to follow, which teach most)."""
    titles = titles or {}
    books: dict[str, list[SampleScore]] = {}
    for score in scores:
        books.setdefault(score.doc_id, []).append(score)
    rows = []
    for doc_id, items in books.items():
        ifds = sorted(s.ifd for s in items if s.ifd is not None)
        rows.append({"doc_id": doc_id, "title": titles.get(doc_id, doc_id), "samples": len(items),
                     "mean_ppl": round(sum(s.ppl for s in items) / len(items), 3),
                     "mean_ifd": round(sum(ifds) / len(ifds), 4) if ifds else None,
                     "median_ifd": ifds[len(ifds) // 2] if ifds else None})
    return sorted(rows, key=lambda r: -(r["mean_ifd"] if r["mean_ifd"] is not None else -1))


def histogram(values: list[float], bins: int = 20, low: float | None = None, high: float | None = None) -> dict:
    """{"edges": [...], "counts": [...]} of ``values`` in ``bins`` equal bins (for a bar chart)."""
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return {"edges": [], "counts": []}
    low = min(values) if low is None else low
    high = max(values) if high is None else high
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for v in values:
        if low <= v <= high:
            counts[min(bins - 1, int((v - low) / width))] += 1
    return {"edges": [round(low + k * width, 4) for k in range(bins + 1)], "counts": counts}


def select(scores: list[SampleScore], top_percent: float | None = None, ifd_low: float | None = None,
           ifd_high: float | None = 1.0) -> set[str]:
    """Ids of the samples to keep: those with an IFD in [``ifd_low``, ``ifd_high``] (default: up
    to 1 — above it the prompt does not fit the answer), then the top ``top_percent`` of them by
    IFD. Samples without an IFD (plain text: nothing to follow) are always kept."""
    scores = list({s.id: s for s in scores}.values())  # samples saying the same count once
    plain = {s.id for s in scores if s.ifd is None}
    rated = [s for s in scores if s.ifd is not None
             and (ifd_low is None or s.ifd >= ifd_low) and (ifd_high is None or s.ifd <= ifd_high)]
    rated.sort(key=lambda s: -s.ifd)
    if top_percent is not None:
        rated = rated[:max(1, math.ceil(len(rated) * top_percent / 100))] if rated else []
    return plain | {s.id for s in rated}
