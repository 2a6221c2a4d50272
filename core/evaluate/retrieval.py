"""Look it up in my books: BM25 over the corpus chunks (``bm25s``), for open-book answers.

The same retriever serves the open-book half of the exam (fine-tune vs retrieval vs both) and
chat's "look it up in my books" switch. Words are lower-cased and cut to a five-letter stem, a
crude but language-blind stem that treats "installed"/"install" and "мельника"/"мельник" alike
without a stemmer per language. The index is built in memory from ``chunks.jsonl`` (fast: a
thousand chunks index in well under a second) and cached per corpus state.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from core.project import Project

_WORD = re.compile(r"\w+", re.UNICODE)
# Words too common to help find a passage (BM25 already weights them down; these carry nothing).
_STOP = frozenset("""the a an of in on at to for from by with and or is are was were be been it its this that what
which who how why when where does do did has have had not can you your i he she they we не и в на что как это по
из за от до для о об же ли бы""".split())
MAX_CHARS = 1200  # of passages in one open-book prompt (about 300 tokens)
OPEN_BOOK_PROMPT = ("Answer the question using these passages from the user's books.\n\n{passages}\n\n"
                    "Question: {question}")
OPEN_BOOK_PROMPT_RU = ("Ответь на вопрос по этим отрывкам из книг пользователя.\n\n{passages}\n\n"
                       "Вопрос: {question}")


def terms(text: str) -> list[str]:
    return [w[:5] for w in (m.lower() for m in _WORD.findall(text)) if w not in _STOP]


def question_language(text: str) -> str:
    """'ru' for a mostly Cyrillic question, else 'en' (the open-book prompt's language)."""
    from core.ingest.textstats import script_counts

    letters = script_counts(text)
    return "ru" if letters["cyrillic"] > letters["latin"] else "en"


def best_window(text: str, wanted: set[str], max_chars: int) -> str:
    """The consecutive sentences of ``text`` (at most ``max_chars``) that hold most of the
    ``wanted`` terms, the earliest such run on a tie; the whole text when it is short enough.

    Whole chunks made the open-book prompts ~750 tokens each, most of it text the question is not
    about, and a chunk cut at a fixed length could lose the very sentence that answers."""
    if len(text) <= max_chars:
        return text
    from core.formats.checks import sentences

    parts = sentences(text) or [text]
    found = [set(terms(s)) & wanted for s in parts]
    best, best_key = (0, 1), (-1, 0)
    for i in range(len(parts)):
        size, covered, j = 0, set(), i
        while j < len(parts) and (j == i or size + 1 + len(parts[j]) <= max_chars):
            size += len(parts[j]) + (j > i)
            covered |= found[j]
            j += 1
        key = (len(covered), -i)
        if key > best_key:
            best, best_key = (i, j), key
    return " ".join(parts[best[0]:best[1]])[:max_chars]


@dataclass
class Passage:
    text: str
    title: str
    heading: str
    doc_id: str
    chunk: int
    score: float

    def cite(self, text: str | None = None) -> str:
        text = self.text if text is None else text
        where = " — ".join(x for x in (self.title, self.heading) if x)
        return f"[{where}]\n{text}" if where else text


class Retriever:
    """BM25 over chunks; ``search(query, k)`` returns the best passages, best first."""

    def __init__(self, chunks: list[dict]) -> None:
        import bm25s

        self.chunks = [c for c in chunks if c.get("text", "").strip()]
        self._index = None
        if self.chunks:
            self._index = bm25s.BM25()
            self._index.index([terms(self._searchable(c)) for c in self.chunks], show_progress=False)

    @staticmethod
    def _searchable(chunk: dict) -> str:
        return " ".join(x for x in (chunk.get("title", ""), chunk.get("heading", ""), chunk["text"]) if x)

    @classmethod
    def for_project(cls, project: Project) -> "Retriever":
        from core.formats.builder import prepare_chunks
        return cls(prepare_chunks(project))

    def search(self, query: str, k: int = 3) -> list[Passage]:
        import numpy as np

        words = terms(query)
        if self._index is None or not words:
            return []
        scores = np.asarray(self._index.get_scores(words), dtype=float)
        best = [int(i) for i in np.argsort(-scores, kind="stable")[:k] if scores[int(i)] > 0]
        return [Passage(self.chunks[i]["text"], self.chunks[i].get("title", ""), self.chunks[i].get("heading", ""),
                        self.chunks[i].get("doc_id", ""), int(self.chunks[i].get("chunk", 0)), float(scores[i]))
                for i in best]

    def prompt(self, question: str, k: int = 3, language: str = "en", max_chars: int = MAX_CHARS) -> str:
        """The question with its top-k passages in front: of each, the run of sentences that holds
        most of the question's words, so the prompt stays short and the answer stays in it."""
        found = self.search(question, k)
        if not found:
            return question
        per = max(200, max_chars // len(found))
        wanted = set(terms(question))
        passages = "\n\n".join(p.cite(best_window(p.text, wanted, per)) for p in found)
        template = OPEN_BOOK_PROMPT_RU if language == "ru" else OPEN_BOOK_PROMPT
        return template.format(passages=passages, question=question)
