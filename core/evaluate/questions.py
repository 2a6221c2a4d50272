"""Question sets: the exam written from the user's books, files the user brings, and the probes.

One item is a ``Question``: the question, its accepted answers (any one counts), and where it
came from. Files are read in two shapes:

- TSV, exactly like ``../shared/facts/*.tsv``: ``question<TAB>answer1|answer2`` per line, ``#``
  comments; a third column, if present, is ignored (room for notes).
- JSONL: one ``{"question": …, "answers": [...]}`` object per line; the exam keeps its source
  (book, chapter, chunk, the sentence it was written from) in the same records.

The probes shipped in ``resources/probes/`` (general knowledge, reasoning, reference text,
neutral prompts; English and Russian) are loaded from the installed package.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

PROBE_LANGUAGES = ("en", "ru")


class QuestionFileError(ValueError):
    """A question file cannot be used; the message names the file and the line."""


@dataclass
class Question:
    question: str
    answers: list[str]
    id: str = ""
    kind: str = "exam"            # exam | user | general | reasoning
    language: str = ""
    doc_id: str = ""              # exam items: where the answer is in the corpus
    chunk: int | None = None
    title: str = ""
    chapter: str = ""
    sentence: str = ""            # the book's sentence that answers it (never trained on as a Q&A pair)
    origin: str = ""              # who wrote it: "model", "cloze", "user", "file"
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in ("", None, {}, [])}

    @classmethod
    def from_dict(cls, data: dict) -> "Question":
        known = {f for f in cls.__dataclass_fields__}
        answers = data.get("answers", data.get("answer", []))
        if isinstance(answers, str):
            answers = split_answers(answers)
        item = cls(**{k: v for k, v in data.items() if k in known and k not in ("answers",)}, answers=list(answers))
        return item


def split_answers(text: str) -> list[str]:
    return [a.strip() for a in text.split("|") if a.strip()]


def parse_tsv(text: str, source: str = "<text>", kind: str = "user") -> list[Question]:
    items: list[Question] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 2 or not parts[0].strip() or not split_answers(parts[1]):
            raise QuestionFileError(f"{source}, line {number}: expected 'question<TAB>answer1|answer2', "
                                    f"got {line[:80]!r}")
        items.append(Question(parts[0].strip(), split_answers(parts[1]), id=f"{kind}-{len(items) + 1}", kind=kind,
                              origin="file"))
    return items


def load_questions(path: str | Path, kind: str = "user") -> list[Question]:
    """Read a TSV or JSONL question file; a bad file raises QuestionFileError naming it."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise QuestionFileError(f"{path}: no such question file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise QuestionFileError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    if path.suffix.lower() in (".jsonl", ".json"):
        items = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = Question.from_dict(json.loads(line))
            except (ValueError, TypeError) as exc:
                raise QuestionFileError(f"{path}, line {number}: not a question record ({exc})") from None
            if not item.question.strip() or not item.answers:
                raise QuestionFileError(f"{path}, line {number}: needs a question and at least one answer")
            item.id = item.id or f"{kind}-{len(items) + 1}"
            item.kind = item.kind if item.kind != "exam" or kind == "exam" else kind
            items.append(item)
    else:
        items = parse_tsv(text, str(path), kind)
    if not items:
        raise QuestionFileError(f"{path}: no questions in it")
    return items


def save_jsonl(path: Path, items: list[Question]) -> None:
    from core.project import write_jsonl
    write_jsonl(path, [q.to_dict() for q in items])


def to_tsv(items: list[Question]) -> str:
    """The exam as the user edits it: one question per line, answers |-separated."""
    clean = [(q.question.replace("\t", " ").replace("\n", " "), "|".join(a.replace("|", "/") for a in q.answers))
             for q in items]
    return "# question\taccepted answers (| separated)\n" + "".join(f"{q}\t{a}\n" for q, a in clean)


# ------------------------------------------------------------------ shipped probes
def _probe_file(name: str):
    return resources.files("resources").joinpath("probes", name)


def load_probe(kind: str, language: str) -> list[Question]:
    """``general`` or ``reasoning`` items in ``en``/``ru`` from resources/probes/."""
    if kind not in ("general", "reasoning") or language not in PROBE_LANGUAGES:
        raise ValueError(f"no probe {kind!r} in {language!r}")
    text = _probe_file(f"{kind}.{language}.tsv").read_text(encoding="utf-8")
    items = parse_tsv(text, f"resources/probes/{kind}.{language}.tsv", kind)
    for i, item in enumerate(items, 1):
        item.id, item.language, item.origin = f"{kind}-{language}-{i}", language, "probe"
    return items


def reference_text(language: str) -> str:
    return _probe_file(f"reference.{language}.txt").read_text(encoding="utf-8")


def neutral_prompts(language: str) -> list[str]:
    text = _probe_file(f"neutral.{language}.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def spread(items: list, n: int) -> list:
    """``n`` items evenly spread over the list (deterministic; all of them when n ≥ len)."""
    if n <= 0 or n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]
