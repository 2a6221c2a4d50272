"""Generated formats (qa, paraphrase): degenerate outputs dropped and counted, resume, cancel, masks.

A scripted generator stands in for the model where the test needs chosen outputs (the checks,
the masks); the tiny random model runs the real batched generation for resume and cancel.
"""
from __future__ import annotations

import pytest

from core.config import FormatConfig, ModelConfig, TrainConfig
from core.events import CancelToken
from core.formats import build_dataset, encode
from core.formats.checks import (check_answer, check_fit, fit_reply, grounding, parse_questions, pick_sentences,
                                 repetitive, sentences)
from core.formats.generate import BatchGenerator, generate, load_generated, model_identity, store_path
from core.ingest.pipeline import corpus_paths
from core.project import Project, append_jsonl, read_jsonl

PASSAGES = [
    "The miller counted the boats that went past the old mill on the river every morning.",
    "In the evening the librarian read aloud, and the children listened without a sound.",
    "A letter arrived on Tuesday, written in green ink, and it smelled of pine needles.",
    "The baker opened his shop before dawn, and the whole street woke to the smell of bread.",
    "She walked along the harbour wall, counting ships, gulls and the lighthouse windows.",
    "Every book in the library had a small card with the name of a reader written on it.",
]
LOOP = "the boats and the boats and the boats " * 6


def answer_of(i: int) -> str:
    """A grounded answer: the passage's first words (the whole passage would count as a copy)."""
    return " ".join(PASSAGES[i].split()[:7]) + "."


class Scripted(BatchGenerator):
    """Answers from a script instead of a model: ``script(prompt) -> (text, finished)``."""

    def __init__(self, script, model_id: str = "scripted") -> None:
        self.script, self.model_id, self.batch_size, self.calls = script, model_id, 4, 0

    def __call__(self, prompts, max_new_tokens, cancel, seed=0):
        self.calls += 1
        return [self.script(p) for p in prompts]


def ask_of(prompt) -> str:
    """The real ask: the last user turn (a worked example may come before it)."""
    return prompt if isinstance(prompt, str) else prompt[-1]["content"]


def passage_of(prompt) -> int:
    return next(i for i, p in enumerate(PASSAGES) if p in ask_of(prompt))


def is_question_step(prompt) -> bool:
    return "Write one question" in ask_of(prompt)


def grounded_question(i: int) -> str:
    return " ".join(PASSAGES[i].split()[:6]) + "?"


def qa_passage_script(prompt):
    """Questions only (the answers are the passage's sentences)."""
    return {0: "Who counted the boats that went past the old mill?", 1: "", 2: "What colour are dragons?",
            3: "The baker baked.", 4: "1. Where did she walk, and what did she count?",
            5: "What did every book in the library have?"}[passage_of(prompt)], True


def qa_model_script(prompt):
    i = passage_of(prompt)
    if is_question_step(prompt):
        return grounded_question(i), True
    return {0: (answer_of(0), True), 1: (LOOP, True), 2: (grounded_question(2).rstrip("?") + ".", True),
            3: ("Dragons of the northern mountains breathe purple fire.", True), 4: ("", True),
            5: ("Every book in the library had a small card with the", False)}[i]


@pytest.fixture
def project(tmp_path, tiny_model_dir):
    project = Project.open(tmp_path / "p")
    project.set_model(ModelConfig(str(tiny_model_dir)))
    where = corpus_paths(project)
    for i, text in enumerate(PASSAGES):
        append_jsonl(where["chunks"], {"doc_id": "d" * 16, "title": "Town", "chunk": i, "section": 0,
                                       "heading": "Morning", "text": text, "tokens": 20})
    append_jsonl(where["documents"], {"id": "d" * 16, "title": "Town", "sections": []})
    return project


def test_checks_on_typical_small_model_failures():
    assert parse_questions("1. Who is he?\n- Where? no\nQ3: What did she count? And why did she?\n"
                           "2. Who is he?", 5) == ["Who is he?", "What did she count?", "And why did she?"]
    assert repetitive(LOOP) and not repetitive(PASSAGES[0] + " " + PASSAGES[1])
    assert repetitive("The rabbit's tail.\n" * 5)
    assert grounding("Мельник считал лодки.", "Мельника видели: он считает лодки у мельницы.") == 1.0
    assert grounding("Dragons breathe purple fire.", PASSAGES[0]) == 0.0
    assert check_answer("Who came?", "Who was it that came?", PASSAGES[0], True, 0.0) == "not an answer"
    text = '"Oh! Single, my dear! A single man of large fortune." She smiled.\n\n"How so?" said Mr. Bennet to his wife.'
    assert sentences(text) == ['"Oh!', "Single, my dear!", 'A single man of large fortune."', "She smiled.",
                               '"How so?" said Mr. Bennet to his wife.']
    assert pick_sentences(text, 2) == ["A single man of large fortune.", '"How so?" said Mr. Bennet to his wife.']
    # a reply cut at the token limit keeps its whole sentences; a paraphrase stops near its original's length
    assert fit_reply("She counted ships. Then gulls, and the", False) == ("She counted ships.", True)
    assert fit_reply("She counted ships and", False) == ("She counted ships and", False)
    assert fit_reply("Mr. Hill came. He sat down. This scene shows", False, 4) == ("Mr. Hill came.", True)
    assert check_fit("Who counted the ships?", "She counted ships.", 0.5) is None
    assert check_fit("Who counted the ships?", "Yes, dear.", 0.5) == "answer does not fit the question"


def test_qa_answers_from_the_passage_drop_missing_and_off_topic_questions(project, tokenizer):
    events = []
    built = build_dataset(project, FormatConfig(format="qa", eval_fraction=0.0), tokenizer, events.append,
                          generator=Scripted(qa_passage_script))
    assert built.meta["dropped"] == {"no question": 2, "off-topic question": 1}
    assert [r["chunk"] for r in built.train] == [0, 4, 5]
    assert [r["messages"][-1]["content"] for r in built.train] == [PASSAGES[0], PASSAGES[4], PASSAGES[5]]
    assert built.train[1]["messages"][-2]["content"] == "Where did she walk, and what did she count?"
    metric = next(e for e in events if e.kind == "metric" and "dropped" in e.data)
    assert metric.data["kept"] == 3 and metric.data["dropped_total"] == 3 and "1 off-topic question" in metric.message


def test_qa_model_answers_drop_degenerate_pairs(project, tokenizer):
    built = build_dataset(project, FormatConfig(format="qa", qa_answers="model", eval_fraction=0.0), tokenizer,
                          generator=Scripted(qa_model_script))
    assert built.meta["dropped"] == {"repetition": 1, "copy of the prompt": 1, "ungrounded": 1, "empty": 1,
                                     "cut at gen_max_tokens": 1}
    assert [(r["chunk"], r["pair"]) for r in built.train] == [(0, 0)]
    assert built.train[0]["messages"][-1]["content"] == answer_of(0)


def test_qa_mask_decodes_to_exactly_the_answer(project, tokenizer):
    built = build_dataset(project, FormatConfig(format="qa", eval_fraction=0.0, system_prompt="Be brief."),
                          tokenizer, generator=Scripted(lambda p: (grounded_question(passage_of(p)), True)))
    assert len(built.train) == len(PASSAGES)
    for row in built.train:
        enc = encode(row, tokenizer, 1024)
        learned = tokenizer.decode([t for t in enc["labels"] if t != -100])
        assert learned == PASSAGES[row["chunk"]] + "<|im_end|>\n"
        assert row["prompt"].startswith("<|im_start|>system\nBe brief.<|im_end|>")
        assert row["messages"][1]["content"] == grounded_question(row["chunk"])


def test_paraphrase_keeps_the_original_and_drops_copies(project, tokenizer):
    def script(prompt):
        i = passage_of(prompt)
        return {0: ("Each morning the miller counted boats passing the old mill on the river.", True),
                1: (PASSAGES[1], True), 2: ("A letter.", True), 3: (LOOP, False),
                4: ("Dragons of the northern mountains breathe purple fire at night, quietly, always.", True),
                5: ("Each library book carried a little card bearing a reader's name.", True)}[i]

    built = build_dataset(project, FormatConfig(format="paraphrase", eval_fraction=0.0), tokenizer,
                          generator=Scripted(script))
    assert built.meta["dropped"] == {"copy of the prompt": 1, "too short": 1, "cut at gen_max_tokens": 1,
                                     "ungrounded": 1}
    assert [r["chunk"] for r in built.train] == [0, 5]
    for row in built.train:
        assert row["original"] == PASSAGES[row["chunk"]]
        assert row["messages"][-1]["content"] != row["original"]
        assert row["completion"] == row["messages"][-1]["content"] + "<|im_end|>\n"
    record = next(iter(load_generated(project, FormatConfig(format="paraphrase"), "scripted").values()))
    assert record["original"] == PASSAGES[0] and record["paraphrase"]


@pytest.fixture(scope="module")
def tiny_generator(tiny_model_dir):
    return BatchGenerator.load(str(tiny_model_dir), FormatConfig(format="paraphrase", gen_batch_size=2),
                               device="cpu")


def test_cancel_then_resume_never_redoes_a_chunk(project, tiny_generator):
    config = FormatConfig(format="paraphrase", gen_batch_size=2, gen_max_tokens=8)
    chunks = [{"doc_id": "d" * 16, "chunk": i, "text": t, "tokens": 20} for i, t in enumerate(PASSAGES)]
    cancel = CancelToken()
    progress = []

    def report(event):
        if event.kind == "progress":
            progress.append(event.data)
            if event.data["done"] >= 2:
                cancel.cancel()  # the user presses Stop after the first batch

    first = generate(project, config, chunks, tiny_generator, report, cancel)
    assert first.cancelled and first.generated == 2 and first.reused == 0
    assert progress[-1]["eta_s"] >= 0 and progress[-1]["chunks_per_s"] > 0 and progress[-1]["total"] == 6
    calls = tiny_generator.calls
    second = generate(project, config, chunks, tiny_generator)
    assert not second.cancelled and second.reused == 2 and second.generated == 4
    assert tiny_generator.calls - calls == 2  # two batches of two: the first two chunks were not redone
    keys = [r["key"] for r in read_jsonl(store_path(project, "paraphrase"))]
    assert sorted(keys) == sorted(set(keys)) and len(keys) == 6
    assert generate(project, config, chunks, tiny_generator).generated == 0


def test_cancel_mid_batch_stores_nothing_of_that_batch(project, tiny_generator, monkeypatch):
    config = FormatConfig(format="paraphrase", gen_batch_size=2, gen_max_tokens=8)
    chunks = [{"doc_id": "d" * 16, "chunk": i, "text": t, "tokens": 20} for i, t in enumerate(PASSAGES[:2])]
    cancel = CancelToken()
    real = tiny_generator.model.generate

    def generate_then_stop(*args, **kwargs):
        cancel.cancel()  # arrives while the batch is being generated
        return real(*args, **kwargs)

    monkeypatch.setattr(tiny_generator.model, "generate", generate_then_stop)
    result = generate(project, config, chunks, tiny_generator, cancel=cancel)
    assert result.cancelled and result.generated == 0
    assert not list(read_jsonl(store_path(project, "paraphrase")))


def test_other_settings_generate_again_and_switching_back_reuses(project):
    chunks = [{"doc_id": "d" * 16, "chunk": i, "text": t, "tokens": 20} for i, t in enumerate(PASSAGES[:2])]
    gen = Scripted(lambda p: ("Someone restated it.", True))
    assert generate(project, FormatConfig(format="paraphrase"), chunks, gen).generated == 2
    assert generate(project, FormatConfig(format="paraphrase", gen_max_tokens=50), chunks, gen).generated == 2
    assert generate(project, FormatConfig(format="paraphrase"), chunks, gen).generated == 0
    assert generate(project, FormatConfig(format="paraphrase"), chunks, Scripted(gen.script, "other")).generated == 2


def test_train_consumes_a_generated_format(project, tiny_model_dir):
    """train() builds qa from stored generations by the project's model: no new generation needed."""
    from core.models import resolve
    from core.train import train

    def script(prompt):
        return grounded_question(passage_of(prompt)), True

    config = FormatConfig(format="qa", eval_fraction=0.0)
    chunks = [{"doc_id": "d" * 16, "chunk": i, "text": t, "tokens": 20} for i, t in enumerate(PASSAGES)]
    generate(project, config, chunks, Scripted(script, model_identity(resolve(str(tiny_model_dir)))))
    extra = {"precision": "fp32"} if "precision" in TrainConfig.__dataclass_fields__ else {}
    result = train(project, project.model, config, TrainConfig(steps=2, batch_size=2, max_seq_len=128, eval_every=0,
                                                               **extra))
    assert result.steps == 2 and result.last_loss > 0


def test_knowledge_with_an_unfaithful_writer_trains_on_the_text_with_its_source(project, tokenizer):
    config = FormatConfig(format="knowledge", restatements=3, qa_pairs=1, replay=0.25, eval_fraction=0.0)
    invent = Scripted(lambda p: ("Professor Smith built 512 rockets in London and Paris in 1999.", True))
    built = build_dataset(project, config, tokenizer, generator=invent)
    assert "text with its source only" in built.meta["generation"]["fallback"]
    assert built.meta["format"]["parts"] == "text" and built.meta["format"]["replay"] == 0.0
    assert len(built.train) == len(PASSAGES)  # one sample a chunk, no replay rows
    assert all(r["kind"] == "source" for r in built.train)
    kept = build_dataset(project, FormatConfig(**{**config.__dict__, "weak_writer": "keep", "replay": 0.0}),
                         tokenizer, generator=invent)
    assert kept.meta["format"]["parts"] == "text,restatements,questions" and len(kept.train) > len(PASSAGES)
