"""The knowledge recipe's material: checks on restatements, book-extracted items, replay rows."""
import json
import re

from core.config import FormatConfig
from core.formats.knowledge import (INVENTED, TermIndex, check_restatement, extracted_items, generate_knowledge,
                                    invented, kinds_for, samples_of)

CHUNK = {"doc_id": "b" * 16, "chunk": 3, "title": "The Mill Book", "heading": "The River", "tokens": 60,
         "text": "The miller Anton counted 37 boats that went past the old mill on the Volga every morning. His "
                 "daughter Vera kept the ledger in a green notebook. In spring the water covered the lower meadow."}
OTHER = {"doc_id": "b" * 16, "chunk": 4, "title": "The Mill Book", "heading": "The Town", "tokens": 30,
         "text": "Anton sold flour to the baker Pierre. The baker paid with silver coins every Friday."}


def test_restatement_checks_drop_inventions_loops_and_copies():
    good = "Every morning Anton, the miller, counted 37 boats passing the old mill on the Volga; Vera kept his ledger."
    assert check_restatement("paraphrase", good, True, CHUNK["text"], 0.5) is None
    made_up = "Professor Smith counted 512 boats in London in 1999 at the old mill on the Volga river."
    assert invented(made_up, CHUNK["text"]) >= 2
    assert check_restatement("summary", made_up, True, CHUNK["text"], 0.5) in (INVENTED, "ungrounded")
    assert check_restatement("paraphrase", CHUNK["text"], True, CHUNK["text"], 0.5) == "copy of the prompt"
    assert check_restatement("facts", "the boats the boats the boats " * 8, True, CHUNK["text"], 0.5) == "repetition"
    assert check_restatement("summary", good, False, CHUNK["text"], 0.5) == "cut at gen_max_tokens"


def test_kinds_rotate_with_the_chunk():
    assert kinds_for(CHUNK, 2) != kinds_for(OTHER, 2)
    assert len(set(kinds_for(CHUNK, 6))) == 6


def test_extracted_items_gather_what_the_books_say_and_leave_exam_sentences_out():
    index = TermIndex([CHUNK, OTHER])
    items = extracted_items(CHUNK, index, set())
    facts = next(i for i in items if i["kind"] == "facts")
    assert facts["text"].count("\n- ") == 2 and "Vera" in facts["text"]
    entities = [i for i in items if i["kind"] == "entity"]
    assert entities and all(i["term"] and i["term"] in i["text"] for i in entities)
    anton = index.sentences.get("anton", [])
    assert len(anton) == 2  # both chunks' sentences about Anton, gathered
    from core.evaluate.grading import normalize
    held = {normalize(anton[0])}
    for item in extracted_items(CHUNK, index, held):
        assert anton[0] not in item["text"] or item["kind"] == "facts"  # a restatement of the whole chunk


class Scripted:
    """A writer that answers every ask from a script (no model)."""
    model_id = "scripted"
    tokenizer = None

    def __init__(self, reply):
        self.reply, self.calls = reply, 0

    def __call__(self, prompts, max_new_tokens, cancel, seed=0):
        self.calls += 1
        return [self.reply(p[-1]["content"]) for p in prompts]


def test_generation_is_resumable_and_every_target_gets_a_blank(tmp_path):
    from core.project import Project

    project = Project.open(tmp_path / "p")

    def reply(ask):
        if ask.startswith("Passage:"):
            return "How many boats did the miller count every morning?", True
        return "Anton the miller counted 37 boats on the Volga each morning, and Vera kept the ledger.", True

    config = FormatConfig(format="knowledge", restatements=2, qa_pairs=3, gen_batch_size=4)
    writer = Scripted(reply)
    first = generate_knowledge(project, config, [CHUNK, OTHER], writer, {})
    assert first["generated"] == 2 and writer.calls == 2
    again = generate_knowledge(project, config, [CHUNK, OTHER], writer, {})
    assert again["reused"] == 2 and again["generated"] == 0 and writer.calls == 2
    record = first["records"][f"{CHUNK['doc_id']}:3"]
    items, dropped = samples_of(record, CHUNK, config)
    questions = [i for i in items if i["kind"] == "question"]
    assert any("____" in q["question"] for q in questions)
    assert all(q["answer"] in CHUNK["text"] for q in questions)
    assert len([i for i in items if i["kind"] in ("paraphrase", "summary", "facts", "simple", "entity", "qa")]) >= 1
    lines = (project.dataset_dir("knowledge") / "generated.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and all(json.loads(line)["writer"] == "scripted" for line in lines)


def test_an_unfaithful_writer_stops_being_asked_for_restatements(tmp_path):
    from core.project import Project

    project = Project.open(tmp_path / "p")
    writer = Scripted(lambda ask: ("Professor Smith built 512 rockets in London and Paris in 1999.", True))
    config = FormatConfig(format="knowledge", restatements=3, qa_pairs=1, gen_batch_size=1, weak_writer="keep")
    events = []
    result = generate_knowledge(project, config, [CHUNK, OTHER], writer, {}, report=events.append)
    assert "not faithful" in result["restatements_skipped"] and not result["fallback"]
    assert result["records"][f"{OTHER['doc_id']}:4"]["restatements"] == []
    assert any(e.kind == "warning" for e in events)


def test_an_unfaithful_writer_makes_the_recipe_fall_back_to_the_text_and_is_not_asked_again(tmp_path):
    from core.project import Project

    project = Project.open(tmp_path / "p")
    writer = Scripted(lambda ask: ("Professor Smith built 512 rockets in London and Paris in 1999.", True))
    config = FormatConfig(format="knowledge", restatements=3, qa_pairs=1, gen_batch_size=1, replay=0.25)
    events = []
    result = generate_knowledge(project, config, [CHUNK, OTHER], writer, {}, report=events.append)
    assert "text with its source only" in result["fallback"] and writer.calls == 2  # one chunk: its two asks
    assert result["generated"] == 1  # the second chunk is never written
    assert any(e.kind == "warning" and "text with its source" in e.message for e in events)
    again = generate_knowledge(project, config, [CHUNK, OTHER], writer, {})
    assert again["fallback"] == result["fallback"] and writer.calls == 2  # decided once per writer and settings
    other = generate_knowledge(project, FormatConfig(format="knowledge", restatements=3, qa_pairs=1, gen_batch_size=1,
                                                     gen_max_tokens=300), [CHUNK, OTHER], writer, {})
    assert other["fallback"] and writer.calls == 4  # other settings: the writer is tried again


def test_replay_rows_take_their_share(tmp_path, tokenizer):
    from core.formats.replay import replay_rows
    from core.project import Project

    project = Project.open(tmp_path / "p")
    writer = Scripted(lambda ask: ("A short and complete answer.", True))
    rows = replay_rows(project, FormatConfig(replay=0.25), tokenizer, 30, [CHUNK], writer=writer)
    assert len(rows) == 10 and all(r["kind"] == "replay" and r["split"] == "train" for r in rows)
    assert rows[0]["completion"].startswith("A short and complete answer.")
    assert writer.calls == 1
    again = replay_rows(project, FormatConfig(replay=0.25), tokenizer, 30, [CHUNK], writer=writer)
    assert again == rows and writer.calls == 1  # answered once, cached


RU_CHUNK = {"doc_id": "r" * 16, "chunk": 0, "title": "Мельница", "heading": "Река", "tokens": 60, "language": "ru",
            "text": "Мельник Антон каждое утро считал 37 лодок на Волге. Его дочь Вера вела учёт в зелёной тетради."}


def test_russian_books_get_russian_asks_and_english_replies_are_dropped(tmp_path):
    from core.formats.knowledge import WRONG_LANGUAGE, wrong_language
    from core.project import Project

    assert wrong_language("Anton counted boats on the Volga.", russian=True)
    assert not wrong_language("Антон считал лодки на Волге (Volga).", russian=True)
    assert wrong_language("Антон считал лодки.", russian=False)
    asks = []

    def reply(ask):
        asks.append(ask)
        return "Anton the miller counted 37 boats on the Volga every morning and Vera kept notes.", True

    project = Project.open(tmp_path / "p")
    config = FormatConfig(format="knowledge", restatements=2, qa_pairs=2, gen_batch_size=2)
    record = generate_knowledge(project, config, [RU_CHUNK], Scripted(reply), {})["records"]["r" * 16 + ":0"]
    assert asks and all(re.search("[а-я]", a) for a in asks)
    items, dropped = samples_of(record, RU_CHUNK, config)
    assert all(why.endswith(WRONG_LANGUAGE) for why in dropped) and sum(dropped.values()) == 2
    assert not [i for i in items if i["kind"] == "question" and i["origin"] == "model"]  # English questions dropped
    assert any("____" in i["question"] and "Вставьте" in i["question"] for i in items if i["kind"] == "question")


def test_default_chat_prompt_follows_the_book_language(tokenizer):
    from core.formats.renderers import chat_messages

    ru = chat_messages(RU_CHUNK, FormatConfig())
    assert ru[0]["content"] == "Расскажи о разделе «Река» из «Мельница»."
    own = chat_messages(RU_CHUNK, FormatConfig(user_prompt="Tell me {heading}"))
    assert own[0]["content"] == "Tell me Река"
    assert chat_messages(CHUNK, FormatConfig())[0]["content"].startswith("Tell me about")
