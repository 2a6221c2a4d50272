"""Split a document into token-bounded chunks that end on paragraph boundaries.

Paragraphs of one section are packed greedily while they fit in ``chunk_tokens``; a chunk never
spans two sections (so it can name its chapter). A paragraph longer than a chunk is cut at
sentence ends, and a sentence longer than a chunk at token boundaries.
"""
from __future__ import annotations

import re
from typing import Callable, Iterator

from core.ingest.readers import Document

CountTokens = Callable[[list[str]], list[int]]
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def tokenizer_counter(tokenizer) -> CountTokens:
    """Token counts for a batch of strings, without special tokens (fast tokenizers batch well)."""
    def count(texts: list[str]) -> list[int]:
        if not texts:
            return []
        return [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    return count


def _split_long(text: str, limit: int, count: CountTokens, tokenizer=None) -> list[str]:
    """Cut an over-long paragraph at sentence ends; fall back to a hard token cut."""
    sentences = _SENTENCE_END.split(text)
    sizes = count(sentences)
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for sentence, size in zip(sentences, sizes):
        if size > limit:
            if current:
                pieces.append(" ".join(current))
                current, used = [], 0
            pieces.extend(_hard_cut(sentence, limit, tokenizer))
            continue
        if current and used + size + 1 > limit:
            pieces.append(" ".join(current))
            current, used = [], 0
        current.append(sentence)
        used += size + 1
    if current:
        pieces.append(" ".join(current))
    return pieces


def _hard_cut(text: str, limit: int, tokenizer) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` tokens at token boundaries (see ``_hard_cut_sized``)."""
    return _hard_cut_sized(text, limit, tokenizer)[0]


def _hard_cut_sized(text: str, limit: int, tokenizer) -> tuple[list[str], list[int]]:
    """Cut ``text`` into pieces of at most ``limit`` tokens at token boundaries; (pieces, token counts).

    Pieces are cut out of the text by the tokens' character offsets (never by decoding token
    ids, which splits multi-byte characters into U+FFFD and re-encodes to more tokens), and a
    piece that still re-encodes over the limit gives up tokens from its end.
    """
    if tokenizer is None:  # character fallback: ~4 characters per token is a safe under-estimate
        step = limit * 3
        pieces = [text[i:i + step] for i in range(0, len(text), step)]
        return pieces, [limit] * len(pieces)
    offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    spans = _token_spans(offsets, 0, limit)
    pieces = [text[a:b].strip() for a, b, _ in spans]
    sizes = [len(ids) for ids in tokenizer(pieces, add_special_tokens=False)["input_ids"]] if pieces else []
    if all(size <= limit for size in sizes):
        kept = [(p, n) for p, n in zip(pieces, sizes) if p]
        return [p for p, _ in kept], [n for _, n in kept]
    out: list[str] = []
    counts: list[int] = []
    start = 0
    while start < len(offsets):  # rare: redo with shrinking until every piece fits
        for take in range(limit, 0, -1):
            a, b, end = _token_spans(offsets, start, take, once=True)[0]
            piece = text[a:b].strip()
            size = len(tokenizer(piece, add_special_tokens=False)["input_ids"])
            if take == 1 or size <= limit:
                break
        if piece:
            out.append(piece)
            counts.append(size)
        start = end
    return out, counts


def _token_spans(offsets: list, start: int, take: int, once: bool = False) -> list[tuple[int, int, int]]:
    """(char start, char end, next token) for runs of ``take`` tokens from token ``start``; tokens
    that only continue the last character of a run (byte-level BPE) go with that run."""
    spans = []
    while start < len(offsets):
        end = min(start + take, len(offsets))
        a, b = offsets[start][0], offsets[end - 1][1]
        while end < len(offsets) and offsets[end][1] <= b:
            end += 1
        spans.append((a, b, end))
        start = end
        if once:
            break
    return spans


def chunk_document(doc: Document, chunk_tokens: int, count: CountTokens, min_tokens: int = 0,
                   tokenizer=None) -> Iterator[dict]:
    """Yield chunk records ``{heading, section, text, tokens}`` in document order.

    Token counts are batched per section (one tokenizer call for the paragraphs, one for the
    chunks that join several of them): on a book-sized section that is the difference between
    seconds and minutes.
    """
    for section_index, section in enumerate(doc.sections):
        paragraphs: list[str] = []
        sizes: list[int] = []
        for paragraph, size in zip(section.paragraphs, count(section.paragraphs)):
            if size > chunk_tokens and not _SENTENCE_END.search(paragraph):
                # One endless sentence (a file without punctuation): cut by tokens straight away;
                # each piece is a full chunk, so its exact size does not matter for packing.
                pieces, counts = _hard_cut_sized(paragraph, chunk_tokens, tokenizer)
                paragraphs.extend(pieces)
                sizes.extend(counts)
            elif size > chunk_tokens:
                pieces = _split_long(paragraph, chunk_tokens, count, tokenizer)
                paragraphs.extend(pieces)
                sizes.extend(count(pieces))
            else:
                paragraphs.append(paragraph)
                sizes.append(size)
        groups: list[tuple[list[str], int]] = []
        current: list[str] = []
        used = known = 0
        for paragraph, size in zip(paragraphs, sizes):
            # +2 approximates the blank line between paragraphs once joined
            if current and used + size + 2 > chunk_tokens:
                groups.append((current, known))
                current, used = [], 0
            current.append(paragraph)
            used += size + 2
            known = size
        if current:
            groups.append((current, known))
        texts = ["\n\n".join(group) for group, _ in groups]
        # A one-paragraph chunk's size is known already; only joined ones are counted again.
        joined = [i for i, (group, _) in enumerate(groups) if len(group) > 1]
        totals = [size for _, size in groups]
        for i, tokens in zip(joined, count([texts[i] for i in joined])):
            totals[i] = tokens
        for text, tokens in zip(texts, totals):
            if tokens >= min_tokens:
                yield {"heading": section.heading, "section": section_index, "text": text, "tokens": tokens}
