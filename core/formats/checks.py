"""Per-sample checks for text the base model wrote (qa, paraphrase): keep it only if it is usable.

A small model, asked to write questions or to restate a passage, often produces nothing, loops
("the rabbit's tail, the rabbit's tail …"), hands the passage back unchanged, or answers with
something the passage never says. Each check returns the reason a sample is dropped (a short
word the job counts and reports) or ``None`` when the sample is kept. They are plain word
statistics — no model — so they run at build time too, and changing ``min_grounding`` never
requires generating again.

The same word statistics choose what the model is asked about (``pick_sentences``, ``focus_of``)
and trim a reply cut at the token limit back to its whole sentences (``fit_reply``).
"""
from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"\w+", re.UNICODE)
_NUMBERING = re.compile(r"^\s*(?:[-*•]|\(?\d+[.)]|Q\d*[:.)]|Question\s*\d*[:.)])\s*", re.IGNORECASE)
# Function words carry no content: an answer made of them is "grounded" in any text. A short
# list per language the app meets most; anything of three letters or fewer is skipped as well.
STOPWORDS = frozenset("""
the and that this with from have been were they their them there then than what when where which who whom
whose why how into onto upon about after before would could should shall will your yours also just only
very much more most some such over under again other each both these those being does doing done here
не что это как так его она они оно был была были быть который которая которые когда где если или для
при над под без про через уже ещё еще только тоже также этот эта эти того чтобы свой своя свои всё все
""".split())

EMPTY, REPETITION, COPY, UNGROUNDED, UNFINISHED, NO_QUESTION, TOO_SHORT, OFF_TOPIC, NOT_AN_ANSWER = (
    "empty", "repetition", "copy of the prompt", "ungrounded", "cut at gen_max_tokens", "no question", "too short",
    "off-topic question", "not an answer")
MISMATCH = "answer does not fit the question"
# A sentence ends at . ! ? … (plus closing quotes) when the next one starts with a capital letter:
# '"How so?" said he' stays one sentence. Titles before names ("Mr. Bennet") do not end one.
_SENTENCE = re.compile(r"(?<=[.!?…])[\"”’»)]*\s+(?=[\"“‘«(—-]?\s*[A-ZА-ЯЁ])")
_TITLE = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Prof|Mt|Messrs|Rev|Col|Capt|Gen|Lt|No|vs|etc|т\.е|т\.к|г|гг|им)\.$")


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if len(w) > 3 and w not in STOPWORDS and not w.isdigit()]


def _stem(word: str) -> str:
    # Five letters is a crude, language-blind stem: "rabbits"/"rabbit", "мельника"/"мельник".
    return word[:5]


class _Vocabulary:
    """Stems of a text's content words; a four-letter word also matches longer forms of itself
    ("pick" / "picked", "door" / "doors"), which a five-letter prefix alone would miss."""

    def __init__(self, text: str) -> None:
        found = content_words(text)
        self.stems = {_stem(w) for w in found}
        self.short = {w for w in found if len(w) == 4}
        self.prefixes = {w[:4] for w in found}

    def __contains__(self, word: str) -> bool:
        return _stem(word) in self.stems or word[:4] in self.short or (len(word) == 4 and word in self.prefixes)


def grounding(text: str, source: str) -> float:
    """Share of ``text``'s content words (by stem) that occur in ``source``; 1.0 when it has none."""
    mine = content_words(text)
    if not mine:
        return 1.0
    known = _Vocabulary(source)
    return sum(w in known for w in mine) / len(mine)


def _ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def repetitive(text: str) -> bool:
    """A loop: few distinct word 3-grams, one 3-gram many times, or the same line over and over."""
    tokens = words(text)
    grams = _ngrams(tokens, 3)
    if len(grams) >= 12:
        counts = Counter(grams)
        if len(counts) / len(grams) < 0.6 or counts.most_common(1)[0][1] >= max(4, len(grams) // 8):
            return True
    lines = [line.strip().lower() for line in text.splitlines() if line.strip()]
    return len(lines) >= 4 and len(set(lines)) / len(lines) < 0.5


def copied_share(text: str, source: str, n: int = 4) -> float:
    """Share of ``text``'s word n-grams found verbatim in ``source`` (1.0 = a pure copy)."""
    grams = _ngrams(words(text), n)
    if not grams:
        return 0.0
    theirs = set(_ngrams(words(source), n))
    return sum(g in theirs for g in grams) / len(grams)


def sentences(text: str) -> list[str]:
    """Sentences of a passage, paragraph by paragraph (a closing quote stays with its sentence)."""
    out = []
    for paragraph in text.split("\n\n"):
        starts = [0] + [m.end() for m in _SENTENCE.finditer(paragraph)]
        pieces = [paragraph[a:b].strip() for a, b in zip(starts, starts[1:] + [len(paragraph)])]
        for piece in pieces:
            if out and out[-1] is not None and _TITLE.search(out[-1]):
                out[-1] += " " + piece
            else:
                out.append(piece)
        out.append(None)  # paragraph boundary: never joined across
    return [s for s in out if s]


def pick_sentences(text: str, n: int) -> list[str]:
    """The ``n`` sentences saying the most (distinct content words), in reading order.

    They become the answers the questions are written for; sentences of fewer than four words
    ("Oh!", "Yes, my dear.") say too little, and very long ones are taken only when nothing else is.
    """
    found = [s for s in sentences(text) if len(words(s)) >= 4]
    score = {i: len(set(content_words(s))) / (1 if len(words(s)) <= 60 else 3) for i, s in enumerate(found)}
    best = sorted(score, key=lambda i: (-score[i], i))[:n]
    return [balance_quotes(found[i]) for i in sorted(best) if score[i] > 0]


# A web address is where a fact is published, not a fact a reader asks for.
ADDRESS = re.compile(r"(?:https?://|www\.)[^\s)]+|\b[\w.-]+\.(?:org|com|net|io|ru|html?)(?:/[^\s)]*)?", re.IGNORECASE)
_TITLES = {"Mr", "Mrs", "Ms", "Miss", "Dr", "Sir", "Lady", "Lord", "St", "I"}
# Short function words: STOPWORDS leaves them out (content words are longer than three letters),
# but a capital after a dash or colon ("Tesseract OCR – For reading text") made "For" look like a
# name and the exam asked for it.
SHORT_WORDS = frozenset("""
a an as at be by do go he if in is it me my no of on or so to up we
all and any are but can did for get had has her him his how its let may nor not now off one our out
own per see she the too two use via was who why yet you
а в и к о с у во да же за из ко ли на не ни но об от по со то ты вы мы он до бы их её его как так кто
что где все всё для при это там тут уже ещё
""".split())
_NOT_NAMES = STOPWORDS | SHORT_WORDS
_OPENS = set("([\"“«:–—\n")  # a capital after these starts a clause ("(Although it should)"), not a name
STRONG = 2.0  # answer_terms' score of a word the tokenizer splits; numbers and names score above it


def answer_terms(sentence: str, avoid: str = "", rare: dict[str, int] | None = None, n: int = 1,
                 pieces=None, strong: bool = False) -> list[str]:
    """The terms a question about ``sentence`` should be answered with, best first.

    Numbers first, then names and technical tokens (capitals inside the sentence, digits, '_',
    '-', '.', command-line options), then rare words — ones the model's tokenizer splits into
    several pieces (``pieces(word)`` → count; "pysam", "bgzip"), then long words rare in the corpus
    (``rare``: word counts); never a word of ``avoid`` (the title and chapter, which a question
    names anyway). Asking for these with the term itself kept out of the question teaches the
    direction a reader asks in: from what is said around a fact to the fact. ``strong``: only
    numbers, names, technical tokens and words the tokenizer splits — not a long common word
    ("recommended", "several"), which makes a poor exam question."""
    rare = rare or {}
    avoid_words = {w[:5] for w in words(avoid)}
    candidates: dict[str, tuple] = {}
    addresses = [m.span() for m in ADDRESS.finditer(sentence)]
    for i, m in enumerate(re.finditer(r"\w[\w.\-_/+]*\w|\w", sentence)):
        if any(a <= m.start() < b for a, b in addresses):
            continue
        t = m.group().rstrip(".")
        low = t.lower()
        if low[:5] in avoid_words or len(t) < 2 or low in _NOT_NAMES or t in _TITLES:
            continue
        option = sentence[max(0, m.start() - 1):m.start()] == "-"
        if re.fullmatch(r"\d+(?:[.,]\d+)?", t):
            score = 3.0 if len(t) < 8 else 1.0
        elif option or re.search(r"\d|\w[_.+]\w|[a-z]-\w|\w/\S*\d", t) or (
                i > 0 and t[0].isupper() and not (t.isupper() and len(t) > 5)
            and sentence[:m.start()].rstrip()[-1:] not in _OPENS):
            score = 2.5  # names, options, versions, file names — not "and/or", not SHOUTED words
        elif len(t) >= 4 and pieces is not None and pieces(t) >= 2 and content_words(t):
            score = 2.0
        elif len(t) > 5 and content_words(t):
            score = 1.0 + 0.5 / (1 + rare.get(low, 0))
        else:
            continue
        if low not in candidates or candidates[low][0] < score:
            candidates[low] = (score, -i, t)
    ranked = sorted(candidates.values(), reverse=True)
    return [c[2] for c in ranked if not strong or c[0] >= STRONG][:n]


def token_pieces(tokenizer):
    """``pieces(word)``: how many tokens the model needs for the word after a space (rare words: several)."""
    cache: dict[str, int] = {}

    def pieces(word: str) -> int:
        if word not in cache:
            cache[word] = len(tokenizer(" " + word, add_special_tokens=False)["input_ids"])
        return cache[word]
    return pieces


def answer_term(sentence: str, avoid: str = "", rare: dict[str, int] | None = None, pieces=None,
                strong: bool = False) -> str | None:
    found = answer_terms(sentence, avoid, rare, 1, pieces, strong)
    return found[0] if found else None




def focus_of(sentence: str) -> str:
    """What a question about the sentence should name: its first name-like word (capitalised, not
    first in the sentence, not a title), else its longest content word. Asked "about Kitty", a small
    model writes a question the sentence answers far more often than asked about "the passage"."""
    tokens = _WORD.findall(sentence)
    names = [t for t in tokens[1:] if t[0].isupper() and t.lower() not in _NOT_NAMES and t not in _TITLES]
    if names:
        return names[0]
    found = content_words(sentence)
    return max(found, key=len) if found else ""


def balance_quotes(sentence: str) -> str:
    """A sentence cut out of dialogue keeps one quote mark of a pair; give it back its partner."""
    if sentence.count('"') % 2:
        if sentence.startswith('"'):
            return sentence[1:]
        return sentence[:-1] if sentence.endswith('"') else '"' + sentence
    opening, closing = sentence.count("“"), sentence.count("”")
    return "“" + sentence if closing > opening else sentence + "”" if opening > closing else sentence


def parse_questions(text: str, limit: int) -> list[str]:
    """Questions from a "one per line" reply: numbering stripped, one per '?', duplicates dropped."""
    found: list[str] = []
    for line in text.splitlines():
        line = _NUMBERING.sub("", line).strip()
        for part in re.findall(r"[^?]*\?", line):
            question = _NUMBERING.sub("", part).strip(" \"'“”*")
            if len(words(question)) >= 3 and question.lower() not in (q.lower() for q in found):
                found.append(question)
    return found[:limit]


def check_question(question: str, passage: str, min_grounding: float) -> str | None:
    """Why a generated question is unusable, or None: it must be about the passage."""
    if not question:
        return NO_QUESTION
    if min_grounding and grounding(question, passage) < min_grounding:
        return OFF_TOPIC  # asks about things the passage never mentions: its answer cannot be in it
    return None


def check_fit(question: str, answer: str, min_grounding: float) -> str | None:
    """A question and its answer must share a content word (by stem), or they talk past each other."""
    if min_grounding and not any(w in _Vocabulary(answer) for w in content_words(question)):
        return MISMATCH
    return None


def check_answer(question: str, answer: str, passage: str, finished: bool, min_grounding: float) -> str | None:
    """Why a question–answer pair is unusable, or None."""
    answer = answer.strip()
    if len(words(answer)) < 1:
        return EMPTY
    if not finished:
        return UNFINISHED
    if repetitive(answer):
        return REPETITION
    if answer.endswith("?") and len(sentences(answer)) == 1:
        return NOT_AN_ANSWER  # the question asked back, in other words
    # Repeating the question back, or handing over the whole passage, is not an answer.
    if copied_share(answer, question, 3) > 0.8 or (
            len(words(answer)) > 0.6 * len(words(passage)) and copied_share(answer, passage) > 0.8):
        return COPY
    if min_grounding and grounding(answer, passage) < min_grounding:
        return UNGROUNDED
    return None


_END = re.compile(r"[.!?…][\"”’»)]*(?=\s|$)")


def complete_sentences(text: str, most_words: int | None = None) -> str:
    """The whole sentences at the start of ``text`` (at most ``most_words`` words): what is left
    of a reply cut at the token limit once its unfinished last sentence is dropped."""
    best = ""
    for match in _END.finditer(text):
        head = text[:match.end()]
        if most_words is not None and len(words(head)) > most_words:
            break
        if not _TITLE.search(head):  # "Mr." does not end a sentence
            best = head
    return best.strip()


def fit_reply(text: str, finished: bool, most_words: int | None = None) -> tuple[str, bool]:
    """A reply cut at the limit, or longer than ``most_words``, reduced to its whole sentences.

    Returns the text and whether it is now complete. A paraphrase is about as long as its
    original, so what runs past that is commentary ("This scene shows …"), not restatement.
    """
    if finished and (most_words is None or len(words(text)) <= most_words):
        return text.strip(), True
    kept = complete_sentences(text, most_words)
    return (kept, True) if kept else (text.strip(), False)


def check_paraphrase(paraphrase: str, original: str, finished: bool, min_grounding: float) -> str | None:
    """Why a paraphrase is unusable, or None."""
    paraphrase = paraphrase.strip()
    if not words(paraphrase):
        return EMPTY
    if not finished:
        return UNFINISHED
    if repetitive(paraphrase):
        return REPETITION
    if copied_share(paraphrase, original) > 0.8:
        return COPY  # the passage handed back: no new wording to learn from
    if len(words(paraphrase)) < 0.3 * len(words(original)):
        return TOO_SHORT  # a summary drops most of what the book says
    if min_grounding and grounding(paraphrase, original) < min_grounding:
        return UNGROUNDED
    return None
