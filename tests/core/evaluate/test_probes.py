"""The shipped probes load in both languages; replay prompts never rehearse a probe."""
import re

import pytest

from core.evaluate.questions import QuestionFileError, load_probe, load_questions, neutral_prompts, parse_tsv, \
    reference_text
from core.formats.replay import prompts as replay_prompts


@pytest.mark.parametrize("language", ["en", "ru"])
def test_probes_load(language):
    general, reasoning = load_probe("general", language), load_probe("reasoning", language)
    assert len(general) >= 100 and len(reasoning) >= 50
    assert all(q.answers and q.question for q in general + reasoning)
    assert len({q.question for q in general}) == len(general)
    assert all(q.language == language and q.id.startswith(("general", "reasoning")) for q in general + reasoning)
    assert len(reference_text(language).split()) > 800
    assert len(neutral_prompts(language)) >= 20
    if language == "ru":
        assert all(re.search("[а-яё]", q.question, re.IGNORECASE) for q in general)


def _words(text):
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) >= 4 and not w.isdigit()}


@pytest.mark.parametrize("language", ["en", "ru"])
def test_replay_prompts_are_not_probe_questions(language):
    probes = [q.question for kind in ("general", "reasoning") for q in load_probe(kind, language)]
    probes += neutral_prompts(language)
    replay = replay_prompts(language)
    assert len(replay) >= 100
    assert not set(replay) & set(probes)
    for prompt in replay:
        mine = _words(prompt)
        for probe in probes:
            theirs = _words(probe)
            if mine and theirs:
                assert len(mine & theirs) / len(mine | theirs) < 0.5, (prompt, probe)


def test_question_files(tmp_path):
    good = tmp_path / "facts.tsv"
    good.write_text("# a comment\nWho wrote it?\tMary Shelley|Shelley\n\nWhen?\t1818\n", encoding="utf-8")
    items = load_questions(good)
    assert [(q.question, q.answers) for q in items] == [("Who wrote it?", ["Mary Shelley", "Shelley"]),
                                                        ("When?", ["1818"])]
    bad = tmp_path / "bad.tsv"
    bad.write_text("Who wrote it? Mary Shelley\n", encoding="utf-8")
    with pytest.raises(QuestionFileError, match="bad.tsv, line 1"):
        load_questions(bad)
    with pytest.raises(QuestionFileError, match="no such question file"):
        load_questions(tmp_path / "missing.tsv")
    jsonl = tmp_path / "q.jsonl"
    jsonl.write_text('{"question": "Где?", "answers": ["Москва"]}\n', encoding="utf-8")
    assert load_questions(jsonl)[0].answers == ["Москва"]
    assert parse_tsv("Q\ta | b\n")[0].answers == ["a", "b"]


def test_shared_facts_file_parses(realdocs):
    facts = realdocs.parent / "facts" / "peptovar_user_manual.tsv"
    if not facts.exists():
        pytest.skip("no shared facts file")
    assert len(load_questions(facts)) == 20
