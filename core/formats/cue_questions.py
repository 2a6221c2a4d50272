"""Questions asked by a sentence's cue words — made without a model, in any language.

A reader does not ask a fact back in the book's own word order ("PeptoVar uses genome annotation
data in what format?"); they name what the fact is about in their own order ("Which format does
PeptoVar use for genome annotation data?"). The knowledge recipe's other questions (fill in the
blank, the sentence asked in place) keep the book's order, and a small model trained only on them
learns to copy a prompt and fill in one word, not to answer a question worded differently (measured:
the PeptoVar manual's hand-written questions). Here the sentence's cue phrases — its runs of content
words, the answer term left out — are asked about in an order and a wording that change from fact
to fact, so the model learns the link from what a fact is about to the sentence that states it,
whatever the order of the words it is asked with.

Nothing is invented: the answer trained on is the book's sentence; the question holds only the
sentence's own words and the book's title.
"""
from __future__ import annotations

import hashlib
import re

from core.formats.checks import ADDRESS, STOPWORDS

TEMPLATES = {
    "en": ("What does {title} say about {cues}?",
           "In {title}, what is said about {cues}?",
           "What do you know about {cues} from {title}?"),
    "ru": ("Что говорится в «{title}» про {cues}?",
           "Что сказано в «{title}» о теме: {cues}?",
           "Что ты знаешь из «{title}» про {cues}?"),
}
AND = {"en": "and", "ru": "и"}
MAX_CUES, MAX_WORDS = 3, 3
# verbs that join a fact's parts rather than name them ("data *must* be compressed")
LINKS = frozenset("must uses used using need needs make makes made gets contains includes "
                  "должен должна должны может могут нужно надо".split())
_TOKEN = re.compile(r"\w[\w'’\-]*\w|\w")


def _content(token: str, avoid: set[str]) -> bool:
    low = token.lower()
    return (len(low) > 3 or any(ch.isdigit() or ch.isupper() for ch in token)) and low not in STOPWORDS \
        and low not in LINKS and low[:5] not in avoid


def cue_phrases(sentence: str, answer: str, title: str = "") -> list[tuple[int, str]]:
    """Runs of content words in ``sentence`` with where each starts (reading order), the answer, web
    addresses and the title's words left out."""
    text = ADDRESS.sub(lambda m: " " * len(m.group()), sentence)
    if answer:
        text = re.sub(re.escape(answer), lambda m: "," + " " * (len(m.group()) - 1), text, flags=re.IGNORECASE)
    avoid = {w.lower()[:5] for w in _TOKEN.findall(title) if len(w) > 3}
    phrases, run = [], []
    # a run breaks at punctuation and at function words: "genome annotation data", "GFF3 format"
    for m in re.finditer(r"\w[\w'’\-]*\w|\w|[^\w\s]", text):
        if _TOKEN.fullmatch(m.group()) and _content(m.group(), avoid):
            run.append(m)
            continue
        if run:
            phrases.append(run[-MAX_WORDS:])  # a noun phrase's head comes last
            run = []
    if run:
        phrases.append(run[-MAX_WORDS:])
    found: dict[str, int] = {}
    for r in phrases:
        phrase = " ".join(m.group() for m in r)
        if len(phrase) > 2 and phrase not in found:
            found[phrase] = r[0].start()
    return [(at, phrase) for phrase, at in found.items()]


def _choice(key: str, n: int) -> int:
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) % n


def cue_questions(sentence: str, answer: str, title: str, language: str = "en", n: int = 2) -> list[str]:
    """Up to ``n`` different questions naming what ``sentence`` is about: the first by its longest cue
    phrases, the next by the phrases nearest the answer; order and wording varied by the fact. None
    when the sentence has too few cues besides the answer (an empty list)."""
    phrases = cue_phrases(sentence, answer, title)
    if len(phrases) < 2 and not (phrases and len(phrases[0][1].split()) >= 2):
        return []
    lang = language if language in TEMPLATES else "en"
    where = sentence.lower().find(answer.lower()) if answer else 0
    rankings = (lambda i: -len(phrases[i][1]), lambda i: abs(phrases[i][0] - where))
    out: list[str] = []
    for k, rank in enumerate(rankings[:n]):
        key = f"{sentence}\u0000{answer}\u0000{k}"
        cues = [phrases[i][1] for i in sorted(sorted(range(len(phrases)), key=rank)[:MAX_CUES - k])]
        if _choice(key + "order", 2):
            cues.reverse()
        joined = cues[0] if len(cues) == 1 else f"{', '.join(cues[:-1])} {AND[lang]} {cues[-1]}"
        templates = TEMPLATES[lang]
        template = templates[(_choice(key, len(templates)) + k) % len(templates)]
        asked = template.format(title=title or ("книге" if lang == "ru" else "the book"), cues=joined)
        if asked not in out:
            out.append(asked)
    return out
