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
    if tokenizer is None:  # character fallback: ~4 characters per token is a safe under-estimate
        step = limit * 3
        return [text[i:i + step] for i in range(0, len(text), step)]
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return [tokenizer.decode(ids[i:i + limit]).strip() for i in range(0, len(ids), limit)]


def chunk_document(doc: Document, chunk_tokens: int, count: CountTokens, min_tokens: int = 0,
                   tokenizer=None) -> Iterator[dict]:
    """Yield chunk records ``{heading, section, text, tokens}`` in document order."""
    for section_index, section in enumerate(doc.sections):
        paragraphs: list[str] = []
        for paragraph, size in zip(section.paragraphs, count(section.paragraphs)):
            if size > chunk_tokens:
                paragraphs.extend(_split_long(paragraph, chunk_tokens, count, tokenizer))
            else:
                paragraphs.append(paragraph)
        sizes = count(paragraphs)
        current: list[str] = []
        used = 0
        for paragraph, size in zip(paragraphs, sizes):
            # +2 approximates the blank line between paragraphs once joined
            if current and used + size + 2 > chunk_tokens:
                yield from _emit(section, section_index, current, count, min_tokens)
                current, used = [], 0
            current.append(paragraph)
            used += size + 2
        if current:
            yield from _emit(section, section_index, current, count, min_tokens)


def _emit(section, section_index: int, paragraphs: list[str], count: CountTokens, min_tokens: int) -> Iterator[dict]:
    text = "\n\n".join(paragraphs)
    tokens = count([text])[0]
    if tokens >= min_tokens:
        yield {"heading": section.heading, "section": section_index, "text": text, "tokens": tokens}
