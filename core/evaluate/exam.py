"""The exam: closed-book questions with short reference answers, written from the user's own books.

``write_exam`` spreads the questions over every book and chapter (chapters taken in turn, books
interleaved), picks in each chosen chunk its most telling sentence and in that sentence the term
a question should be answered with — a number, a name, a technical or rare word, never a word
of the book's title — and asks the writer model (the base model unless the user picked a bigger
one) for a question that this sentence answers with that term. The answer comes first, so the
reference is short and exact; a question that gives its answer away, is not about the sentence,
or is no question at all is replaced by a fill-in-the-blank item built from the sentence itself
(honest in any language, no model needed).

The exam lives in ``exam/exam.jsonl`` and is the user's to edit (add, change, delete items;
``exam/exam.tsv`` is written beside it for a spreadsheet). Its items carry the sentence they were
written from: the dataset builder never trains on those as question–answer pairs.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from pathlib import Path

from core.evaluate.grading import contains_answer, normalize
from core.evaluate.questions import Question, load_questions, save_jsonl, to_tsv
from core.events import CancelToken, Reporter, StageReporter
from core.formats.checks import answer_term, content_words, grounding, pick_sentences, repetitive, sentences, words
from core.project import Project, atomic_write_json, atomic_write_text

EXAM_VERSION = 1
QUESTION_TOKENS = 48
EXAMPLE = {
    "passage": "Tom planted three apple trees behind the barn in April. By autumn the smallest tree had already "
               "given him a basket of red apples, which he shared with his neighbour Mrs. Hill.",
    "sentence": "By autumn the smallest tree had already given him a basket of red apples, which he shared with "
                "his neighbour Mrs. Hill.",
    "answer": "Mrs. Hill",
}
EXAMPLE_QUESTION = "With which neighbour did Tom share the red apples from his smallest tree?"
ASK = ("Passage:\n{passage}\n\nWrite one question about the passage whose answer is \"{answer}\". "
       "The question must not contain \"{answer}\". It is answered by this sentence:\n{sentence}")
CLOZE = {"en": "Fill in the blank (from “{title}”): {blanked}",
         "ru": "Вставьте пропущенное слово (из «{title}»): {blanked}"}
BLANK = "____"


def exam_dir(project: Project) -> Path:
    return project.root / "exam"


def exam_path(project: Project) -> Path:
    return exam_dir(project) / "exam.jsonl"


def load_exam(project: Project) -> list[Question]:
    path = exam_path(project)
    if not path.exists() or not path.read_text(encoding="utf-8").strip():
        return []  # none written yet, or a corpus with nothing to ask about
    return load_questions(path, kind="exam")


def save_exam(project: Project, items: list[Question], meta: dict | None = None) -> None:
    """Write the exam (JSONL, the truth) and a TSV copy for people; keep meta beside them."""
    save_jsonl(exam_path(project), items)
    atomic_write_text(exam_dir(project) / "exam.tsv", to_tsv(items))
    if meta is not None:
        atomic_write_json(exam_dir(project) / "meta.json", meta)


def exam_meta(project: Project) -> dict:
    path = exam_dir(project) / "meta.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def fingerprint(items: list[Question]) -> str:
    data = json.dumps([[q.question, q.answers] for q in items], ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def held_out_sentences(project: Project) -> dict[str, set[str]]:
    """Per chunk key (doc_id:chunk), the normalised exam sentences and questions: never trained as Q&A."""
    out: dict[str, set[str]] = {}
    for q in load_exam(project):
        if q.doc_id:
            key = f"{q.doc_id}:{q.chunk or 0}"
            out.setdefault(key, set()).update(normalize(x) for x in (q.sentence, q.question) if x)
    return out


# ------------------------------------------------------------------ choosing what to ask
def spread_chunks(chunks: list[dict], n: int) -> list[dict]:
    """``n`` chunks spread over every book and chapter: chapters in turn, books interleaved."""
    books: OrderedDict[str, OrderedDict[str, list[dict]]] = OrderedDict()
    for c in chunks:
        books.setdefault(c["doc_id"], OrderedDict()).setdefault(c.get("heading") or "", []).append(c)
    # One queue per book: its chapters' first chunks, then their second ones, …
    queues = []
    for chapters in books.values():
        lists = list(chapters.values())
        depth = max(len(x) for x in lists)
        order = [lst[len(lst) * d // depth] for d in range(depth) for lst in lists
                 if d < len(lst) and len(lst) * d // depth < len(lst)]
        seen, queue = set(), []
        for c in order:
            if id(c) not in seen:
                seen.add(id(c))
                queue.append(c)
        queues.append(queue)
    picked: list[dict] = []
    while len(picked) < n and any(queues):
        for queue in queues:
            if queue and len(picked) < n:
                picked.append(queue.pop(0))
    return picked


def cloze(sentence: str, answer: str, title: str, language: str) -> str:
    blanked = re.sub(re.escape(answer), BLANK, sentence, count=1)
    return CLOZE.get(language, CLOZE["en"]).format(title=title or "your book", blanked=blanked)


WH = {"en": ("how many", "who", "what"), "ru": ("сколько", "кто", "что")}


def in_place_question(sentence: str, answer: str, language: str) -> str:
    """The sentence asked back with its term replaced by a question word, where it stands ("PeptoVar
    uses genome annotation data in what format?"): no model needed, any sentence, and close to how a
    reader asks — the words around the fact stay, the fact is what is asked for."""
    many, who, what = WH.get(language, WH["en"])
    year = re.fullmatch(r"(1[5-9]|20)\d\d", answer)
    word = what if year else many if re.fullmatch(r"\d+(?:[.,]\d+)?", answer) else \
        who if answer[:1].isupper() and " " in answer else what
    asked = re.sub(re.escape(answer), word, sentence.strip(), count=1)
    asked = re.sub(r"[\s.:;!,]+$", "", asked)
    return asked[:1].upper() + asked[1:] + "?"


def check_question(question: str, answer: str, sentence: str) -> str | None:
    """Why a written exam question is unusable, or None."""
    if not question.endswith("?") or len(words(question)) < 4:
        return "no question"
    if len(words(question)) > 40 or repetitive(question):
        return "rambling"
    if contains_answer(question, answer):
        return "gives the answer away"
    mine = set(content_words(question))
    if grounding(question, sentence) < 0.6 or len(mine & set(content_words(sentence))) < min(2, len(mine)):
        return "not about the sentence"
    return None


def first_question(text: str) -> str:
    text = text.strip().strip('"“”').strip()
    line = next((x.strip() for x in text.splitlines() if "?" in x), text.splitlines()[0] if text else "")
    line = re.sub(r"^\s*(?:Question\s*\d*\s*[:.)]|Q\s*[:.)]|\d+[.)])\s*", "", line, flags=re.IGNORECASE)
    return line[:line.index("?") + 1].strip(" \"'“”*") if "?" in line else line.strip()


def choose_targets(chunks: list[dict], n: int, rare: dict[str, int], avoid: set[str], pieces=None) -> list[tuple]:
    """(chunk, sentence, answer term) for up to ``n`` questions, chunks in spread order, round by round.

    A chunk gives at most half of its telling sentences (a one-sentence chunk none), so every chunk
    keeps sentences for the training Q&A pairs; sentences already used as Q&A pairs (``avoid``)
    are never picked."""
    order = spread_chunks(chunks, len(chunks))
    picks = {id(c): pick_sentences(c["text"], 8) for c in order}
    # a small book gives a small exam: about one telling sentence in ten is held out of the Q&A
    # training (at least 8 questions), so most of what it says can still be taught as questions
    n = min(n, max(8, sum(len(p) for p in picks.values()) // 10))
    used: dict[int, int] = {}
    targets: list[tuple] = []
    for _round in range(4):
        for c in order:
            if len(targets) >= n:
                return targets
            if used.get(id(c), 0) >= len(picks[id(c)]) // 2:
                continue
            title_words = " ".join(x for x in (c.get("title", ""), c.get("heading", "")) if x)
            taken = {t[1] for t in targets if t[0] is c}
            free = [s for s in picks[id(c)] if s not in taken and normalize(s) not in avoid]
            # a sentence with a name, number or technical term first; a common word ("several",
            # "recommended") is asked for only where a chunk has nothing better
            found = next(((s, t) for strong in (True, False) for s in free
                          if (t := answer_term(s, title_words, rare, pieces, strong=strong))), None)
            if found:
                targets.append((c, *found))
                used[id(c)] = used.get(id(c), 0) + 1
    return targets


def qa_sentences(project: Project) -> set[str]:
    """Sentences the generated Q&A pairs of any format already answer with (the exam avoids them)."""
    from core.project import read_jsonl

    out = set()
    for path in (project.root / "datasets").glob("*/generated.jsonl"):
        for record in read_jsonl(path):
            for pair in record.get("pairs") or []:
                if pair.get("sentence"):
                    out.add(normalize(pair["sentence"]))
    return out


def write_exam(project: Project, chunks: list[dict], n: int, writer=None, report: Reporter | None = None,
               cancel: CancelToken | None = None, avoid_sentences: set[str] | None = None) -> list[Question]:
    """Write ``n`` exam questions from ``chunks`` (see module doc). ``writer`` is a BatchGenerator-like
    callable; without one every item is a fill-in-the-blank (used for tests and languages the
    writer cannot write)."""
    from core.formats.generate import with_example

    say = StageReporter(report, "evaluate")
    cancel = cancel or CancelToken()
    rare: dict[str, int] = {}
    for c in chunks:
        for w in words(c["text"]):
            rare[w] = rare.get(w, 0) + 1
    from core.formats.checks import token_pieces
    tokenizer = getattr(writer, "tokenizer", None)
    targets = choose_targets(chunks, n, rare, avoid_sentences or set(), token_pieces(tokenizer) if tokenizer else None)
    items: list[Question] = []
    from core.formats.knowledge import EXAMPLE_QUESTION_RU, EXAMPLE_RU, QUESTION_ASK_RU, is_russian, wrong_language
    askable = [(c, s, t) for c, s, t in targets if (c.get("language") or "en") in ("en", "ru", "uk")]
    asked = {}
    if writer is not None and askable:
        say.progress(0, len(targets), f"Writing {len(targets)} exam questions…")
        prompts = []
        for c, s, t in askable:
            if is_russian(c):  # the book's language: a question in another one is dropped below
                ex_sentence, ex_answer, ex_question = EXAMPLE_QUESTION_RU
                prompts.append(with_example(QUESTION_ASK_RU, {"passage": EXAMPLE_RU, "sentence": ex_sentence,
                                                              "answer": ex_answer}, ex_question,
                                            passage=c["text"], sentence=s, answer=t))
            else:
                prompts.append(with_example(ASK, EXAMPLE, EXAMPLE_QUESTION, passage=c["text"], sentence=s, answer=t))
        replies = writer(prompts, QUESTION_TOKENS, cancel)
        asked = {id(s): first_question(text) for (c, s, t), (text, _done) in zip(askable, replies)
                 if not wrong_language(text, is_russian(c))}
    for c, sentence, term in targets:
        language = c.get("language") or "en"
        question = asked.get(id(sentence), "")
        origin = "model"
        if not question or check_question(question, term, sentence):
            question, origin = cloze(sentence, term, c.get("title", ""), language), "cloze"
        items.append(Question(question, [term], id=f"exam-{len(items) + 1}", kind="exam", language=language,
                              doc_id=c["doc_id"], chunk=int(c.get("chunk", 0)), title=c.get("title", ""),
                              chapter=c.get("heading", ""), sentence=sentence, origin=origin))
    written = sum(q.origin == "model" for q in items)
    say.log(f"Exam: {len(items)} questions from {len({q.doc_id for q in items})} book(s) "
            f"({written} written by the model, {len(items) - written} fill-in-the-blank)")
    return items


def sentence_of(question: Question, chunk_text: str) -> str:
    """The chunk's sentence holding the answer (for items added by hand without one)."""
    for s in sentences(chunk_text):
        if any(contains_answer(s, a) for a in question.answers):
            return s
    return ""
