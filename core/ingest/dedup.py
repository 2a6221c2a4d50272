"""Duplicates: exact repeated paragraphs and chunks, and near-duplicate documents (MinHash/LSH).

- Paragraphs of at least ``MIN_PARAGRAPH_CHARS`` characters that already appear in the corpus
  (or earlier in the same document) are dropped: licence blurbs, repeated front matter, the
  same article saved twice inside a bigger file. Short lines ("* * *", "Yes.") are left alone,
  they are part of the text's rhythm.
- Chunks whose exact text is already in the corpus are dropped.
- A document whose word 5-gram set is similar enough (MinHash estimate of Jaccard similarity,
  datasketch's LSH index) to a document already in the corpus is the same book again — an EPUB
  and a TXT of one novel, or one dropped twice under two names — and is skipped.

Signatures are stored in each document record, so the index is rebuilt from the corpus files
when an ingest starts. Very long documents hash a fixed, content-defined sample of their
shingles (crc32 modulo a power of two), which keeps the work bounded and keeps documents of
similar size comparable.
"""
from __future__ import annotations

import hashlib
import re
import zlib

NUM_PERM = 128
SHINGLE = 5
MAX_SHINGLES = 100_000
MAX_WORDS = 400_000
MIN_PARAGRAPH_CHARS = 60
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def fingerprint(text: str) -> str:
    """Case- and whitespace-insensitive fingerprint of a paragraph or chunk."""
    return hashlib.blake2b(" ".join(text.lower().split()).encode("utf-8"), digest_size=10).hexdigest()


def shingles(text: str) -> list[bytes]:
    # The first MAX_WORDS words identify a book well enough and bound the work on huge files.
    words = _WORD.findall(text[:MAX_WORDS * 12].lower())[:MAX_WORDS]
    grams = {" ".join(words[i:i + SHINGLE]).encode("utf-8") for i in range(max(len(words) - SHINGLE + 1, 1))}
    if len(grams) > MAX_SHINGLES:
        modulus = 1
        while len(grams) / modulus > MAX_SHINGLES:
            modulus *= 2
        grams = {g for g in grams if zlib.crc32(g) % modulus == 0}
    return sorted(grams)


def signature(text: str) -> list[int]:
    """MinHash signature (NUM_PERM 32-bit values) of the text's word 5-grams."""
    from datasketch import MinHash

    minhash = MinHash(num_perm=NUM_PERM, scheme="affine32")
    grams = shingles(text)
    if grams:
        minhash.update_batch(grams)
    return [int(v) for v in minhash.hashvalues]


def _minhash(values: list[int]):
    from datasketch import MinHash

    return MinHash(num_perm=len(values), hashvalues=values, scheme="affine32")


class CorpusIndex:
    """What the corpus already holds, for duplicate checks while new files are added."""

    def __init__(self, threshold: float = 0.8) -> None:
        self.threshold = threshold
        self.doc_ids: set[str] = set()
        self.paragraphs: set[str] = set()
        self.chunks: set[str] = set()
        self.titles: dict[str, str] = {}
        self._signatures: dict[str, list[int]] = {}
        self._lsh = None
        if 0 < threshold < 1:
            from datasketch import MinHashLSH

            self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)

    @classmethod
    def load(cls, documents: list[dict], chunks: list[dict], threshold: float) -> "CorpusIndex":
        index = cls(threshold)
        for record in documents:
            index.add_document(record, record.get("minhash"))
            for section in record.get("sections", []):
                index.paragraphs.update(fingerprint(p) for p in section.get("paragraphs", [])
                                        if len(p) >= MIN_PARAGRAPH_CHARS)
        index.chunks.update(fingerprint(c["text"]) for c in chunks if c.get("doc_id") in index.doc_ids)
        return index

    def add_document(self, record: dict, values: list[int] | None) -> None:
        self.doc_ids.add(record["id"])
        self.titles[record["id"]] = record.get("title") or record.get("path", "")
        if values and self._lsh is not None and record["id"] not in self._signatures:
            self._signatures[record["id"]] = values
            self._lsh.insert(record["id"], _minhash(values))

    def near_duplicate(self, values: list[int]) -> tuple[str, float] | None:
        """(doc id, estimated similarity) of the most similar document over the threshold."""
        if self._lsh is None or not values:
            return None
        probe = _minhash(values)
        best = None
        for doc_id in self._lsh.query(probe):
            similarity = probe.jaccard(_minhash(self._signatures[doc_id]))
            if similarity >= self.threshold and (best is None or similarity > best[1]):
                best = (doc_id, similarity)
        return best

    def drop_seen_paragraphs(self, doc) -> tuple[int, set[str]]:
        """Remove long paragraphs already in the corpus or earlier in ``doc``.

        Returns (paragraphs dropped, new fingerprints) — add the latter with ``commit`` once the
        document is really stored.
        """
        new: set[str] = set()
        dropped = 0
        for section in doc.sections:
            kept = []
            for paragraph in section.paragraphs:
                if len(paragraph) >= MIN_PARAGRAPH_CHARS:
                    key = fingerprint(paragraph)
                    if key in self.paragraphs or key in new:
                        dropped += 1
                        continue
                    new.add(key)
                kept.append(paragraph)
            section.paragraphs = kept
        doc.sections = [s for s in doc.sections if s.paragraphs]
        return dropped, new

    def drop_seen_chunks(self, chunks: list[dict]) -> tuple[list[dict], set[str]]:
        kept, new = [], set()
        for chunk in chunks:
            key = fingerprint(chunk["text"])
            if key in self.chunks or key in new:
                continue
            new.add(key)
            kept.append(chunk)
        return kept, new

    def commit(self, record: dict, values: list[int] | None, paragraphs: set[str], chunks: set[str]) -> None:
        self.add_document(record, values)
        self.paragraphs |= paragraphs
        self.chunks |= chunks
