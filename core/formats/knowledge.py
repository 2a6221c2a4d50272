"""The knowledge recipe's material: restatements and answer-first questions written from every chunk.

Facts seen in one phrasing are stored but cannot be pulled out by a question; several diverse
restatements make them retrievable, and question–answer pairs mixed in teach the model to answer
from them (Allen-Zhu & Li; Yang et al.'s synthetic continued pretraining; Jiang et al.). From each
chunk the writer model (the base model unless the user picked a bigger one) writes:

- ``restatements`` kinds taken in turn — paraphrase, summary, the facts as a list, the passage in
  simple words, what it says about its main term, questions with answers — each checked: grounded
  in the chunk, no names or numbers the chunk does not have, no loop, not cut off;
- answer-first questions: in the chunk's telling sentences the terms a reader would ask for (a
  number, a name, an option, a rare word) are picked, and the writer asks a question that the
  sentence answers with that term, without the term in the question. The answer trained on is
  the sentence itself — a book's sentence is always true to the book. A question that fails the
  checks becomes a fill-in-the-blank item built from the sentence (right in any language).
  Sentences the exam asks about are never used (the exam stays honest).

Records are appended per chunk to ``datasets/knowledge/generated.jsonl``, keyed by chunk, writer
and settings: a stopped job resumes, and nothing is written twice.
"""
from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter

from core.config import FormatConfig
from core.events import CancelToken, Cancelled, Reporter, StageReporter
from core.formats.cue_questions import cue_questions
from core.formats.checks import (REPETITION, UNFINISHED, UNGROUNDED, answer_terms, copied_share, fit_reply,
                                 grounding, pick_sentences, repetitive, token_pieces, words)
from core.project import Project, append_jsonl, atomic_write_json, read_jsonl

VERSION = 5  # 5: answer terms are never web addresses
KINDS = ("paraphrase", "summary", "facts", "simple", "entity", "qa")
INVENTED = "invents names or numbers"
EXAMPLE = ("Tom planted three apple trees behind the barn in April. By autumn the smallest tree had already given "
           "him a basket of red apples, which he shared with his neighbour Mrs. Hill.")
ASKS = {
    "paraphrase": ("Rewrite this passage in your own words. Keep every name, number and fact; add nothing.\n\n{passage}",
                   "In April, Tom put three apple trees in the ground behind his barn. When autumn came, even the "
                   "smallest one had produced a basket of red apples, and he gave some of them to his neighbour, "
                   "Mrs. Hill."),
    "summary": ("Summarize this passage in two or three sentences. Keep the names and numbers.\n\n{passage}",
                "Tom planted three apple trees in April. By autumn the smallest one gave a basket of red apples, "
                "which he shared with Mrs. Hill."),
    "facts": ("List the facts this passage states, one short sentence per line.\n\n{passage}",
              "- Tom planted three apple trees.\n- The trees are behind the barn.\n- He planted them in April.\n"
              "- By autumn the smallest tree gave a basket of red apples.\n- Tom shared the apples with his "
              "neighbour Mrs. Hill."),
    "simple": ("Explain this passage in simple words to a beginner. Keep every name and number.\n\n{passage}",
               "Tom put three small apple trees into the ground in April, behind his barn. Apple trees need time "
               "to grow fruit, but by autumn even the smallest one had apples: a whole basket of red ones. Tom "
               "gave some to Mrs. Hill, who lives next to him."),
    "entity": ("What does this passage say about {term}? Answer in two or three sentences.\n\n{passage}",
               "Tom planted three apple trees behind his barn in April. The smallest of them gave him a basket of "
               "red apples by autumn, and Tom shared those apples with his neighbour Mrs. Hill."),
    "qa": ("Write three questions about this passage, each followed by its answer from the passage.\n\n{passage}",
           "Q: How many apple trees did Tom plant?\nA: Three.\nQ: When did Tom plant the trees?\nA: In April.\n"
           "Q: Who did Tom share his apples with?\nA: His neighbour Mrs. Hill."),
}
EXAMPLE_TERM = "the apple trees"
# What the user turn of a restatement sample asks (the assistant turn is the restatement).
REQUESTS = {
    "paraphrase": "Tell me in your own words what {title} says in “{chapter}”.",
    "summary": "Summarize “{chapter}” from {title}.",
    "facts": "What facts does {title} give in “{chapter}”?",
    "simple": "Explain “{chapter}” from {title} in simple words.",
    "entity": "What does {title} say about {term}?",
    "qa": "Ask and answer a few questions about “{chapter}” from {title}.",
}
# Russian books get Russian asks and requests (a writer that cannot write Russian then writes nothing
# usable, and the checks drop it: see ``wrong_language``).
EXAMPLE_RU = ("Весной Том посадил за сараем три яблони. К осени самая маленькая уже дала ему корзину красных яблок, "
              "и он поделился ими с соседкой, госпожой Хилл.")
ASKS_RU = {
    "paraphrase": ("Перескажи этот отрывок своими словами. Сохрани все имена, числа и факты, ничего не добавляй.\n\n"
                   "{passage}", "Весной Том посадил три яблони позади своего сарая. Осенью даже самая маленькая "
                   "принесла корзину красных яблок, и часть их он отдал соседке, госпоже Хилл."),
    "summary": ("Кратко изложи этот отрывок в двух-трёх предложениях. Сохрани имена и числа.\n\n{passage}",
                "Том посадил весной три яблони. К осени самая маленькая дала корзину красных яблок, и он поделился "
                "ими с госпожой Хилл."),
    "facts": ("Перечисли факты из этого отрывка, по одному короткому предложению в строке.\n\n{passage}",
              "- Том посадил три яблони.\n- Яблони растут за сараем.\n- Он посадил их весной.\n- К осени самая "
              "маленькая дала корзину красных яблок.\n- Том поделился яблоками с соседкой, госпожой Хилл."),
    "simple": ("Объясни этот отрывок простыми словами новичку. Сохрани все имена и числа.\n\n{passage}",
               "Том весной посадил за сараем три маленькие яблони. Уже к осени даже самая маленькая дала целую "
               "корзину красных яблок, и Том угостил ими госпожу Хилл, которая живёт рядом."),
    "entity": ("Что говорится в этом отрывке о {term}? Ответь в двух-трёх предложениях.\n\n{passage}",
               "Том посадил за сараем три яблони. Самая маленькая к осени дала корзину красных яблок, и Том "
               "поделился ими с соседкой, госпожой Хилл."),
    "qa": ("Задай три вопроса по этому отрывку и после каждого дай ответ из отрывка.\n\n{passage}",
           "В: Сколько яблонь посадил Том?\nО: Три.\nВ: Когда он их посадил?\nО: Весной.\nВ: С кем Том поделился "
           "яблоками?\nО: С соседкой, госпожой Хилл."),
}
REQUESTS_RU = {
    "paraphrase": "Расскажи своими словами, что говорится в «{title}» в разделе «{chapter}».",
    "summary": "Кратко изложи раздел «{chapter}» из «{title}».",
    "facts": "Какие факты приводятся в «{title}» в разделе «{chapter}»?",
    "simple": "Объясни простыми словами раздел «{chapter}» из «{title}».",
    "entity": "Что говорится в «{title}» о {term}?",
    "qa": "Задай и ответь на несколько вопросов по разделу «{chapter}» из «{title}».",
}
QUESTION_ASK_RU = ("Отрывок:\n{passage}\n\nНапиши один вопрос по отрывку, ответ на который — «{answer}». В вопросе не "
                   "должно быть слова «{answer}». На него отвечает это предложение:\n{sentence}")
EXAMPLE_QUESTION_RU = ("К осени самая маленькая уже дала ему корзину красных яблок, и он поделился ими с соседкой, "
                       "госпожой Хилл.", "госпожой Хилл", "С какой соседкой Том поделился яблоками?")
WRONG_LANGUAGE = "wrong language"


def is_russian(chunk: dict) -> bool:
    return (chunk.get("language") or "") in ("ru", "uk")


def wrong_language(text: str, russian: bool) -> bool:
    """The reply is mostly in the other script than the book (letters counted, names allowed)."""
    cyrillic = len(re.findall(r"[а-яёіїєґ]", text, re.IGNORECASE))
    latin = len(re.findall(r"[a-z]", text, re.IGNORECASE))
    letters = cyrillic + latin
    return bool(letters) and ((cyrillic / letters < 0.5) if russian else (cyrillic / letters > 0.5))


QUESTION_ASK = ("Passage:\n{passage}\n\nWrite one question about the passage whose answer is \"{answer}\". "
                "The question must not contain \"{answer}\". It is answered by this sentence:\n{sentence}")
EXAMPLE_QUESTION = ("By autumn the smallest tree had already given him a basket of red apples, which he shared with "
                    "his neighbour Mrs. Hill.", "Mrs. Hill",
                    "With which neighbour did Tom share the red apples from his smallest tree?")
QUESTION_TOKENS = 48
# A name or number the chunk does not have is an invention; one is tolerated (a year, a plural form).
_TERM = re.compile(r"\w[\w.\-_/+]*\w|\w")
_NAME_OR_NUMBER = re.compile(r"\b(?:\d+(?:[.,]\d+)?|[A-ZА-ЯЁ][\w'-]+)\b")


def settings_key(config: FormatConfig, writer_id: str, part: str) -> str:
    parts = [VERSION, writer_id, part, config.gen_max_tokens, config.gen_temperature]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:12]


def chunk_key(chunk: dict) -> str:
    return f"{chunk['doc_id']}:{chunk.get('chunk', 0)}"


def kinds_for(chunk: dict, k: int) -> list[str]:
    """The ``k`` restatement kinds of a chunk: taken in turn from a place that moves with the chunk."""
    start = int(chunk.get("chunk", 0)) % len(KINDS)
    return [KINDS[(start + j) % len(KINDS)] for j in range(min(k, len(KINDS)))]


def source_line(chunk: dict) -> str:
    title, chapter = chunk.get("title") or "", chunk.get("heading") or ""
    return " — ".join(x for x in (title, chapter) if x)


def invented(text: str, source: str) -> int:
    """Names and numbers in ``text`` that ``source`` never mentions (by five-letter stem)."""
    known = {w[:5] for w in words(source)}
    first_words = {m.group(1) for m in re.finditer(r"(?:^|[.!?:\n-]\s*)([A-ZА-ЯЁ][\w'-]+)", text)}
    return sum(1 for m in _NAME_OR_NUMBER.finditer(text)
               if m.group().lower()[:5] not in known and m.group() not in first_words)


def check_restatement(kind: str, text: str, finished: bool, source: str, min_grounding: float,
                      russian: bool = False) -> str | None:
    if not words(text):
        return "empty"
    if wrong_language(text, russian):
        return WRONG_LANGUAGE
    if not finished:
        return UNFINISHED
    if repetitive(text):
        return REPETITION
    if kind == "paraphrase" and copied_share(text, source) > 0.8:
        return "copy of the prompt"
    if len(words(text)) < 8:
        return "too short"
    if min_grounding and grounding(text, source) < max(min_grounding, 0.6):
        return UNGROUNDED
    if invented(text, source) > 1:
        return INVENTED
    return None


def _with_example(ask: str, reply: str, russian: bool = False, **real) -> list[dict]:
    example = {"passage": EXAMPLE_RU if russian else EXAMPLE, "term": "яблонях" if russian else EXAMPLE_TERM}
    return [{"role": "user", "content": ask.format(**example)}, {"role": "assistant", "content": reply},
            {"role": "user", "content": ask.format(**real)}]


def question_targets(chunk: dict, n: int, held: set[str], rare: dict, pieces) -> list[tuple[str, str]]:
    """(sentence, term) pairs to ask about: up to two terms per telling sentence, exam sentences skipped."""
    from core.evaluate.grading import normalize

    avoid = source_line(chunk)
    out = []
    for sentence in pick_sentences(chunk["text"], max(4, n)):
        if normalize(sentence) in held:
            continue
        for term in answer_terms(sentence, avoid, rare, 2, pieces):
            out.append((sentence, term))
    # spread over sentences: first terms of every sentence, then second terms
    firsts = [p for i, p in enumerate(out) if i == 0 or out[i - 1][0] != p[0]]
    return (firsts + [p for p in out if p not in firsts])[:n]


def write_chunk_records(batch: list[dict], config: FormatConfig, writer, held_out: dict, rare: dict,
                        cancel: CancelToken, restatements: int | None = None) -> list[dict]:
    """One record per chunk: its restatements and answer-first question pairs (raw writer output kept)."""
    from core.evaluate.exam import check_question, cloze, first_question, in_place_question

    pieces = token_pieces(writer.tokenizer) if getattr(writer, "tokenizer", None) is not None else None
    jobs, qjobs = [], []
    for i, c in enumerate(batch):
        term = (answer_terms(c["text"], source_line(c), rare, 1, pieces) or [c.get("heading") or "it"])[0]
        parts = {p.strip() for p in config.parts.split(",")}
        russian = is_russian(c)
        for kind in kinds_for(c, config.restatements if restatements is None else restatements) \
                if "restatements" in parts else []:
            ask, reply = (ASKS_RU if russian else ASKS)[kind]
            jobs.append((i, kind, term, _with_example(ask, reply, russian, passage=c["text"], term=term)))
        for sentence, answer in question_targets(c, config.qa_pairs, held_out.get(chunk_key(c), set()), rare, pieces) \
                if "questions" in parts else []:
            ex_sentence, ex_answer, ex_question = EXAMPLE_QUESTION_RU if russian else EXAMPLE_QUESTION
            ask = QUESTION_ASK_RU if russian else QUESTION_ASK
            prompt = [{"role": "user", "content": ask.format(passage=EXAMPLE_RU if russian else EXAMPLE,
                                                             answer=ex_answer, sentence=ex_sentence)},
                      {"role": "assistant", "content": ex_question},
                      {"role": "user", "content": ask.format(passage=c["text"], answer=answer, sentence=sentence)}]
            qjobs.append((i, sentence, answer, prompt))
    budget = min(config.gen_max_tokens, 2 * max(int(c.get("tokens") or 0) for c in batch) + 48)
    # without a writer (none could be loaded, or a test) the questions are fill-in-the-blank items
    replies = writer([p for *_x, p in jobs], budget, cancel) if jobs and writer is not None else []
    questions = writer([p for *_x, p in qjobs], QUESTION_TOKENS, cancel) if qjobs and writer is not None else \
        [("", True)] * len(qjobs)
    cancel.raise_if_cancelled()
    records = [{"restatements": [], "pairs": []} for _ in batch]
    for (i, kind, term, _p), (text, finished) in zip(jobs, replies):
        records[i]["restatements"].append({"kind": kind, "term": term, "text": text, "finished": finished})
    for (i, sentence, answer, _p), (text, _finished) in zip(qjobs, questions):
        # Every target gets its fill-in-the-blank item (what is said around a fact → the fact); a
        # written question is kept beside it when it is a real question about the sentence — also
        # one that names the term (then it asks the other way: the term → what is said of it).
        language = batch[i].get("language") or "en"
        blank = cloze(sentence, answer, batch[i].get("title", ""), language)
        records[i]["pairs"].append({"sentence": sentence, "answer": answer, "question": blank, "origin": "cloze"})
        records[i]["pairs"].append({"sentence": sentence, "answer": answer, "origin": "in place",
                                    "question": in_place_question(sentence, answer, language)})
        question = first_question(text)
        if question and check_question(question, "\u0000", sentence) is None \
                and not wrong_language(question, is_russian(batch[i])):  # a question, about the sentence
            records[i]["pairs"].append({"sentence": sentence, "answer": answer, "question": question,
                                        "origin": "model", "raw": text})
    return records


def samples_of(record: dict, chunk: dict, config: FormatConfig) -> tuple[list[dict], Counter]:
    """The usable items of a chunk's record: restatements that pass the checks, all pairs."""
    kept, dropped = [], Counter()
    cues = "cues" in {p.strip() for p in config.parts.split(",")}
    for r in record.get("restatements", []):
        length = int(2.0 * len(words(chunk["text"]))) + 20
        text, finished = fit_reply(r["text"], r["finished"], length)
        reason = check_restatement(r["kind"], text, finished, chunk["text"], config.min_grounding, is_russian(chunk))
        if reason:
            dropped[f"{r['kind']}: {reason}"] += 1
        else:
            kept.append({"kind": r["kind"], "term": r.get("term", ""), "text": text})
    for pair in record.get("pairs", []):
        kept.append({"kind": "question", "question": pair["question"], "answer": pair["sentence"],
                     "sentence": pair["sentence"], "origin": pair["origin"]})
        if cues and pair["origin"] == "in place":  # once per target: the same fact asked by what it is about
            for asked in cue_questions(pair["sentence"], pair["answer"], chunk.get("title") or "",
                                       chunk.get("language") or "en"):
                kept.append({"kind": "question", "question": asked, "answer": pair["sentence"],
                             "sentence": pair["sentence"], "origin": "cues"})
    return kept, dropped


class TermIndex:
    """Where each term of the corpus is said: term (lower-case) → sentences, in corpus order."""

    def __init__(self, chunks: list[dict], pieces=None) -> None:
        self.rare = Counter(w for c in chunks for w in words(c["text"]))
        self.pieces = pieces
        self.sentences: dict[str, list[str]] = {}
        said = [(c, s) for c in chunks for s in pick_sentences(c["text"], 64)]
        # the key terms of the corpus first, then every sentence that mentions one (a name that
        # opens a sentence is not recognised as a name there, but is found where it was one)
        vocabulary = {t.lower() for c, s in said for t in answer_terms(s, source_line(c), self.rare, 3, pieces)}
        for _c, sentence in said:
            for word in dict.fromkeys(m.group().lower().rstrip(".") for m in _TERM.finditer(sentence)):
                if word in vocabulary:
                    self.sentences.setdefault(word, []).append(sentence)

    def top_terms(self, chunk: dict, n: int) -> list[str]:
        return answer_terms(chunk["text"], source_line(chunk), self.rare, n, self.pieces)


def extracted_items(chunk: dict, index: TermIndex, held: set[str], entities: int = 2) -> list[dict]:
    """Restatements made from the books' own sentences — no model, so nothing invented, any language:
    the chunk's facts as a list, and what the books say about the chunk's main terms (sentences from
    every chunk that mention them: facts about one thing, gathered; exam sentences left out)."""
    from core.evaluate.grading import normalize

    def allowed(sentence: str) -> bool:
        return normalize(sentence) not in held

    items = []
    # the facts list restates the whole chunk, like a paraphrase (the exam's sentences included: the
    # book is meant to be known); a gathering answers a question about one term, so it leaves them out
    facts = pick_sentences(chunk["text"], 64)
    if len(facts) >= 2:
        items.append({"kind": "facts", "term": "", "text": "\n".join(f"- {s}" for s in facts), "origin": "book"})
    for term in index.top_terms(chunk, entities):
        said = [s for s in index.sentences.get(term.lower(), []) if allowed(s)][:3]
        if said:
            items.append({"kind": "entity", "term": term, "text": " ".join(said), "origin": "book"})
    return items


def store_path(project: Project):
    return project.dataset_dir("knowledge") / "generated.jsonl"


def _part_key(config: FormatConfig) -> str:
    parts = {p.strip() for p in config.parts.split(",")}
    return (f"{config.restatements if 'restatements' in parts else 0}:"
            f"{config.qa_pairs if 'questions' in parts else 0}")


def load_records(project: Project, config: FormatConfig, writer_id: str) -> dict[str, dict]:
    key = settings_key(config, writer_id, _part_key(config))
    return {r["key"]: r for r in read_jsonl(store_path(project)) if r.get("settings") == key}


def generate_knowledge(project: Project, config: FormatConfig, chunks: list[dict], writer, held_out: dict,
                       report: Reporter | None = None, cancel: CancelToken | None = None) -> dict:
    """Make sure every chunk has its record (resumable, cancellable); returns counts for the meta."""
    say = StageReporter(report, "format")
    cancel = cancel or CancelToken()
    writer_id = getattr(writer, "model_id", "fill-in-the-blank")
    settings = settings_key(config, writer_id, _part_key(config))
    done = load_records(project, config, writer_id)
    todo = [c for c in chunks if chunk_key(c) not in done]
    rare = Counter(w for c in chunks for w in words(c["text"]))
    started, written, cancelled = time.monotonic(), 0, False
    batch_size = max(1, config.gen_batch_size)
    restating, skipped, fallback = config.restatements, "", ""
    check_file = store_path(project).with_name("writer_check.json")
    if config.weak_writer == "text" and "restatements" in config.parts and check_file.exists():
        check = json.loads(check_file.read_text(encoding="utf-8"))
        if check.get("settings") == settings:  # this writer already failed here: no batch is asked again
            fallback = check["why"]
            todo = []
            say.warning(f"knowledge: {fallback}")
    for start in range(0, len(todo), batch_size):
        batch = todo[start:start + batch_size]
        try:
            records = write_chunk_records(batch, config, writer, held_out, rare, cancel, restating)
        except Cancelled:
            cancelled = True
            break
        if restating and start == 0 and not skipped:
            asked = [(r, c) for rec, c in zip(records, batch) for r in rec["restatements"]]
            kept = sum(samples_of({"restatements": [r]}, c, config)[0] != [] for r, c in asked)
            if asked and kept < 0.2 * len(asked):
                restating = 0  # a writer this unfaithful wastes most of the time: questions and text only
                unfaithful = (f"the writer model's restatements were not faithful to the books ({len(asked) - kept} "
                              f"of {len(asked)} dropped by the checks)")
                skipped = (f"{unfaithful}, so no more were asked for; a bigger writer model (Model page, or "
                           f"--writer) writes usable ones")
                if config.weak_writer == "text":
                    # measured (bench/knowledge.py, three manuals): with such a writer the questions and
                    # replay cost far more time and taught no more facts than the text with its source
                    fallback = skipped = (f"{unfaithful}: training on the text with its source only, no replay (as "
                                          f"many facts, in far less time, with such a writer); a bigger writer model "
                                          f"(Model page, or --writer) writes usable restatements and questions")
                    atomic_write_json(check_file, {"settings": settings, "writer": writer_id, "why": fallback})
                say.warning(f"knowledge: {skipped}")
        for c, rec in zip(batch, records):
            rec.update(key=chunk_key(c), settings=settings, writer=writer_id)
            append_jsonl(store_path(project), rec)  # per chunk: a crash or a stop keeps what is finished
            done[rec["key"]] = rec
        written += len(batch)
        if fallback:
            break
        elapsed = time.monotonic() - started
        eta = elapsed / written * (len(todo) - written)
        say.progress(len(chunks) - len(todo) + written, len(chunks),
                     f"knowledge: {len(chunks) - len(todo) + written}/{len(chunks)} chunks written, ETA {eta:.0f} s",
                     eta_s=round(eta, 1))
    if cancelled:
        say.warning(f"knowledge: stopped; {len(chunks) - len(todo) + written} of {len(chunks)} chunks are written "
                    f"and kept — run again to continue")
    return {"chunks": len(chunks), "reused": len(chunks) - len(todo), "generated": written, "cancelled": cancelled,
            "seconds": round(time.monotonic() - started, 1), "writer": writer_id, "restatements_skipped": skipped,
            "fallback": fallback, "records": done}
