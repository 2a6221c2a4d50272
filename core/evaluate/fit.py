"""Does the base model know the language of the books? Measured before training, said in plain words.

A model that never learned a language reads it as noise: it cannot learn a book from it, and
whatever it "answers" is gibberish. The check compares how surprised the base model is by the
books (a sample of up to ``SAMPLE_CHARS`` characters per language) with how surprised it is by
our English reference text — in bits per *character*, not per token, because a model that does
not know a script splits it into many small, individually predictable byte tokens, which makes
per-token perplexity look deceptively good. A language read at more than ``RATIO`` times the
English cost (and more than ``FLOOR_BITS`` bits per character) does not fit the model.

The result is cached per model and corpus in ``corpus/language_fit.json``; ``python main.py
corpus --project P --report`` and the training log show it, and the GUI shows it on the Model page.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from core.evaluate.questions import reference_text
from core.project import Project, atomic_write_json

SAMPLE_CHARS = 6000
RATIO = 2.0         # this many times the cost of English text: the model does not know the language
FLOOR_BITS = 2.0    # …and above this many bits per character (good models read prose at ~1)
NAMES = {"en": "English", "ru": "Russian", "de": "German", "fr": "French", "es": "Spanish", "uk": "Ukrainian"}
ADVICE = ("Choose a multilingual base model on the Model page (for example a Qwen2.5 or Gemma Instruct model, as a "
          "GGUF file or a Hugging Face folder; the page shows which sizes fit this computer).")


def bits_per_char(scorer, text: str) -> float:
    nll, _count = scorer.text_nll(text, False)
    return nll / math.log(2) / max(1, len(text))


def sample_by_language(chunks: list[dict]) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    for c in chunks:
        lang = c.get("language") or ""
        if lang and sum(map(len, out.get(lang, []))) < SAMPLE_CHARS:
            out.setdefault(lang, []).append(c["text"])
    return {lang: "\n\n".join(parts)[:SAMPLE_CHARS] for lang, parts in out.items()}


def measure(scorer, samples: dict[str, str], model_name: str) -> dict:
    """{language: {bits_per_char, english_bits_per_char, ratio, fits, message}} for the given samples."""
    english = bits_per_char(scorer, reference_text("en"))
    out = {}
    for lang, text in samples.items():
        bits = bits_per_char(scorer, text)
        ratio = bits / english if english else 1.0
        fits = not (ratio > RATIO and bits > FLOOR_BITS)
        name = NAMES.get(lang, lang)
        message = "" if fits else (
            f"Your books in {name} do not fit the base model {model_name}: it reads them at {bits:.1f} bits per "
            f"character, {ratio:.1f}× what it needs for English ({english:.1f}) — it does not know {name}, so it "
            f"cannot learn these books or answer in {name}. {ADVICE}")
        out[lang] = {"bits_per_char": round(bits, 3), "english_bits_per_char": round(english, 3),
                     "ratio": round(ratio, 2), "fits": fits, "message": message}
    return out


def language_fit(project: Project, scorer=None, report=None) -> dict:
    """The corpus languages' fit for the project's base model (cached per model and corpus)."""
    from core.evaluate.job import corpus_signature
    from core.formats.builder import prepare_chunks
    from core.models import resolve

    resolved = resolve(project.model.source, report)
    key = f"{Path(resolved.load_dir).name}|{corpus_signature(project)}"
    path = project.corpus_dir / "language_fit.json"
    if path.exists():
        cached = json.loads(path.read_text(encoding="utf-8"))
        if cached.get("key") == key:
            return cached["languages"]
    samples = sample_by_language(prepare_chunks(project))
    if not samples:
        return {}
    if scorer is None:
        from core.evaluate.scorer import TransformersScorer
        scorer = TransformersScorer.load(resolved.load_dir, batch_size=4)
    result = measure(scorer, samples, resolved.name)
    atomic_write_json(path, {"key": key, "model": resolved.name, "languages": result})
    return result


def warnings_of(fit: dict) -> list[str]:
    return [v["message"] for v in fit.values() if not v.get("fits", True) and v.get("message")]
