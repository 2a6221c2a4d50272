"""The exam: spread over books and chapters, short answers, and never trained on as a Q&A pair."""
import json

import pytest

from core.config import FormatConfig
from core.evaluate.exam import check_question, choose_targets, held_out_sentences, load_exam, save_exam, write_exam
from core.evaluate.grading import normalize
from core.evaluate.retrieval import Retriever
from core.formats.builder import build_dataset, prepare_chunks
from core.project import Project

BOOK_A = """# The Mill Book

## The River

The miller Anton counted 37 boats that went past the old mill on the Volga river every morning. His daughter Vera
kept the ledger in a green notebook. In spring the water rose and covered the lower meadow completely.

## The Town

The librarian Mrs. Pym read aloud every Thursday evening in the town hall. The children brought apples and
sat on the floor. Once she read from a book about whales for three hours.
"""
BOOK_B = """# Notes on Bread

## Dough

Good dough needs flour, water, salt and yeast, and it rests for 90 minutes. The baker Pierre folds it four times.
A hot oven at 240 degrees gives the crust its colour.
"""


@pytest.fixture
def project(tmp_path, tiny_model_dir):
    from core.config import ModelConfig
    from core.ingest import ingest
    from core.models import load_tokenizer, resolve

    (tmp_path / "a.md").write_text(BOOK_A, encoding="utf-8")
    (tmp_path / "b.md").write_text(BOOK_B, encoding="utf-8")
    p = Project.open(tmp_path / "p")
    p.set_model(ModelConfig(str(tiny_model_dir)))
    ingest(p, [tmp_path / "a.md", tmp_path / "b.md"], load_tokenizer(resolve(str(tiny_model_dir))))
    return p


def test_exam_spreads_over_books_and_chapters(project):
    chunks = prepare_chunks(project)
    items = write_exam(project, chunks, 3, writer=None)
    assert len(items) == 3
    assert len({q.doc_id for q in items}) == 2  # every book before a second question from one
    for q in items:
        assert q.origin == "cloze" and "____" in q.question and len(q.answers) == 1
        assert q.sentence and q.answers[0] in q.sentence and q.answers[0] not in q.question
    more = write_exam(project, chunks, 20, writer=None)
    assert len({(q.doc_id, q.chapter) for q in more}) == len({(c["doc_id"], c.get("heading")) for c in chunks})


def test_a_chunk_keeps_sentences_for_training():
    chunk = {"doc_id": "x", "chunk": 0, "text": "Anton counted 37 boats on the river. Vera kept the ledger in green.",
             "title": "T", "heading": ""}
    targets = choose_targets([chunk], 10, {}, set())
    assert len(targets) == 1  # two telling sentences: one may be asked, one stays for training


def test_written_question_checks():
    sentence = "The miller Anton counted 37 boats that went past the old mill."
    assert check_question("How many boats did the miller count past the old mill?", "37", sentence) is None
    assert check_question("Did Anton count 37 boats?", "37", sentence) == "gives the answer away"
    assert check_question("What is the capital of France?", "37", sentence) == "not about the sentence"
    assert check_question("boats", "37", sentence) == "no question"


def test_exam_items_never_reach_training_as_question_answer_pairs(project):
    chunks = prepare_chunks(project)
    exam = write_exam(project, chunks, 6, writer=None)
    save_exam(project, exam, {"version": 1})
    held = held_out_sentences(project)
    assert sum(len(v) for v in held.values()) >= 6
    from core.models import load_tokenizer, resolve
    import core.formats.builder as builder

    tokenizer = load_tokenizer(resolve(project.model.source))
    builder_writer = builder.load_writer
    builder.load_writer = lambda *a, **k: None  # fill-in-the-blank questions for every other sentence
    try:
        data = build_dataset(project, FormatConfig(format="knowledge", qa_pairs=8, restatements=0, eval_fraction=0),
                             tokenizer)
    finally:
        builder.load_writer = builder_writer
    exam_sentences = {normalize(q.sentence) for q in exam}
    exam_questions = {normalize(q.question) for q in exam}
    chat_rows = [r for r in data.train if r.get("messages")]
    assert any(r["kind"] == "question" for r in chat_rows)
    for row in chat_rows:
        asked, said = row["messages"][-2]["content"], row["messages"][-1]["content"]
        assert normalize(asked) not in exam_questions
        if row["kind"] == "facts":
            continue  # a list of the chunk's facts restates the whole text (allowed, like a paraphrase)
        for sentence in exam_sentences:
            assert sentence not in normalize(said), (row["kind"], asked)
    # the exam's text itself is trained on (the whole book should be known), as plain source text
    assert any(any(s in normalize(r["completion"]) for s in exam_sentences) for r in data.train if r["kind"] == "source")
    assert json.loads((project.dataset_dir("knowledge") / "meta.json").read_text())["dropped"] is not None


def test_exam_round_trip_and_user_edits(project):
    items = write_exam(project, prepare_chunks(project), 2, writer=None)
    items[0].question, items[0].answers = "Who counted the boats?", ["Anton"]
    save_exam(project, items, {"version": 1})
    again = load_exam(project)
    assert again[0].question == "Who counted the boats?" and again[0].answers == ["Anton"]
    assert "Who counted the boats?\tAnton" in (project.root / "exam" / "exam.tsv").read_text(encoding="utf-8")


def test_retrieval_finds_the_passage(project):
    retriever = Retriever.for_project(project)
    best = retriever.search("How long does the dough rest?", 2)
    assert best and "90 minutes" in best[0].text
    prompt = retriever.prompt("Who reads aloud on Thursdays?", 1)
    assert "Mrs. Pym" in prompt and prompt.endswith("Who reads aloud on Thursdays?")
    assert Retriever([]).search("anything") == []


def test_open_book_keeps_the_sentences_that_answer():
    from core.evaluate.retrieval import best_window, terms

    filler = " ".join(f"Sentence {i} talks about the weather in the valley." for i in range(40))
    text = filler + " The miller counted the boats at dawn. " + filler
    wanted = set(terms("Who counted the boats?"))
    window = best_window(text, wanted, 200)
    assert "The miller counted the boats at dawn." in window and len(window) <= 200
    assert best_window("Short text.", wanted, 200) == "Short text."          # short: all of it
    assert len(best_window("x" * 900, wanted, 200)) == 200                   # one long sentence: cut
    # the prompt holds the answering sentence although it lies far past a fixed-length cut
    prompt = Retriever([{"text": text, "title": "Book", "doc_id": "d"}]).prompt("Who counted the boats?", 1)
    assert "The miller counted the boats" in prompt and len(prompt) < 1400
