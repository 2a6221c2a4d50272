"""Language fit: a Russian corpus on a model that reads Russian as noise gets the warning; otherwise none."""
import math
import re

from core.evaluate.fit import language_fit, measure, warnings_of


class ByScript:
    """A stand-in model: Cyrillic costs ``ru_bits`` bits per character, anything else 1 bit."""
    name = "transformers"

    def __init__(self, ru_bits: float) -> None:
        self.ru_bits = ru_bits

    def text_nll(self, text, adapter, window=512, cancel=None):
        cyrillic = len(re.findall("[а-яё]", text, re.IGNORECASE))
        bits = cyrillic * self.ru_bits + (len(text) - cyrillic)
        return bits * math.log(2), len(text)


def test_a_language_the_model_does_not_know_is_named_with_what_to_do():
    result = measure(ByScript(3.5), {"ru": "Река текла мимо мельницы. " * 20, "en": "The river ran past. " * 20}, "Tiny")
    assert result["en"]["fits"] and not result["ru"]["fits"]
    [message] = warnings_of(result)
    assert "Russian" in message and "Tiny" in message and "multilingual base model" in message


def test_a_model_that_reads_both_gets_no_warning():
    result = measure(ByScript(1.1), {"ru": "Река текла мимо мельницы. " * 20}, "Tiny")
    assert result["ru"]["fits"] and not warnings_of(result)


def test_real_tiny_model_on_a_russian_corpus(tmp_path, tiny_model_dir, sample_texts_dir):
    """The tiny test model is equally lost in every language (random weights): no language stands out."""
    from core.config import ModelConfig
    from core.ingest import ingest
    from core.models import load_tokenizer, resolve
    from core.project import Project

    project = Project.open(tmp_path / "p")
    project.set_model(ModelConfig(str(tiny_model_dir)))
    ingest(project, [sample_texts_dir / "rus-cp1251.txt", sample_texts_dir / "book.md"],
           load_tokenizer(resolve(str(tiny_model_dir))))
    fit = language_fit(project)
    assert set(fit) == {"ru", "en"} and not warnings_of(fit)
    assert (project.corpus_dir / "language_fit.json").exists()
    assert language_fit(project) == fit  # cached
