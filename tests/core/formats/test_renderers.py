"""core.formats renderers: every format builds, masks exactly its answer, parses back, keeps headings."""
from __future__ import annotations

import json

import pytest
import yaml

from core.config import FORMATS, ConfigError, CorpusConfig, FormatConfig
from core.formats import RENDERERS, build_dataset, encode
from core.formats.builder import held_out_books
from core.formats.renderers import instruction_task, split_passage
from core.ingest.pipeline import corpus_paths
from core.project import Project, append_jsonl

# Text that breaks naive serializers: YAML booleans/numbers, colons, quotes, leading dashes and
# hashes, trailing spaces, tabs, Cyrillic, a blank-line paragraph break.
TRICKY = ["no", "1984", "key: value", "- a dash\n# a hash", "ends with spaces   \nnext line", "tab\there",
          "«Ёлка», — сказал он: \"да\".", "First paragraph.\n\nSecond: with 'quotes' and a \\ backslash."]
TEXT_FORMATS = ["plain", "markdown", "json", "yaml", "instruction", "chat", "custom"]
CUSTOM = {"template": "[{{ chapter }}] {{ text }}{{ eos_token }}",
          "template_prompt": "Book: {{ title }} by {{ author }}\n"}


def make_project(root, books: int = 2, texts=TRICKY) -> Project:
    project = Project.open(root)
    where = corpus_paths(project)
    for b in range(books):
        doc_id = f"book{b:012d}"
        for i, text in enumerate(texts):
            append_jsonl(where["chunks"], {"doc_id": doc_id, "title": f"Book {b}", "chunk": i, "section": i // 3,
                                           "heading": f"Chapter {i // 3 + 1}", "text": text, "tokens": 8})
        append_jsonl(where["documents"], {"id": doc_id, "title": f"Book {b}", "author": "A. Writer",
                                          "language": "en", "sections": []})
    return project


def config_for(fmt: str, **kw) -> FormatConfig:
    return FormatConfig(format=fmt, **(CUSTOM if fmt == "custom" else {}), **kw)


def test_every_format_is_registered_and_listed():
    assert set(RENDERERS) == set(FORMATS)
    assert FormatConfig.__dataclass_fields__["format"].metadata["choices"] == FORMATS


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_masks_cover_exactly_the_answer(tmp_path, tokenizer, fmt):
    built = build_dataset(make_project(tmp_path / "p"), config_for(fmt, eval_fraction=0.25), tokenizer)
    assert built.eval and built.train
    for row in built.train + built.eval:
        enc = encode(row, tokenizer, max_len=4096)
        ids, labels = enc["input_ids"], enc["labels"]
        n_prompt = labels.index(next(label for label in labels if label != -100))
        assert all(label == -100 for label in labels[:n_prompt]) and -100 not in labels[n_prompt:]
        assert tokenizer.decode(ids[:n_prompt]) == row["prompt"]
        learned = tokenizer.decode([label for label in labels if label != -100])
        assert learned == row["completion"]
        # …and the completion is the answer plus only the end-of-text / end-of-turn tokens.
        answer = {"instruction": row.get("output"), "chat": row.get("messages", [{}])[-1].get("content")}.get(fmt)
        if answer is not None:
            assert learned in (answer + "<|im_end|>", answer + "<|im_end|>\n")


def test_json_and_yaml_samples_parse_back(tmp_path, tokenizer):
    project = make_project(tmp_path / "p", books=1)
    for fmt, parse in (("json", json.loads), ("yaml", yaml.safe_load)):
        rows = build_dataset(project, config_for(fmt, eval_fraction=0.0), tokenizer).train
        assert [parse(r["completion"].removesuffix("<|im_end|>")) for r in rows] == [
            {"book": "Book 0", "author": "A. Writer", "chapter": f"Chapter {i // 3 + 1}", "text": text}
            for i, text in enumerate(TRICKY)]


def test_yaml_writes_paragraphs_as_a_block(tokenizer):
    sample = RENDERERS["yaml"]({"text": "One.\n\nTwo.", "title": "B", "heading": "C"}, FormatConfig(), tokenizer)
    assert "text: |-\n  One.\n\n  Two.\n" in sample["completion"]


def test_markdown_keeps_epub_chapter_headings(tmp_path, tokenizer, realdocs):
    from core.ingest import ingest
    from core.ingest.readers import read_file

    book = realdocs / "epub" / "carroll_alice.epub"
    chapters = [s.heading for s in read_file(book).sections]
    project = Project.open(tmp_path / "alice")
    assert ingest(project, [book], tokenizer, CorpusConfig(chunk_tokens=512)).ok
    rows = build_dataset(project, config_for("markdown", eval_fraction=0.0), tokenizer).train
    seen = [r["completion"].split("\n\n")[1] for r in rows]
    assert all(r["completion"].startswith("# Alice's Adventures in Wonderland\n\n## ") for r in rows)
    assert list(dict.fromkeys(h.removeprefix("## ") for h in seen)) == chapters  # every chapter, in order
    assert len(chapters) >= 10 and "Down The Rabbit-Hole" in chapters


def test_instruction_tasks_rotate_and_continue_rebuilds_the_passage(tokenizer):
    config = FormatConfig(format="instruction", instruction_tasks="continue,chapter,book,write")
    text = "The river ran past the mill. The miller counted boats.\n\nIn the evening the librarian read aloud."
    chunk = {"text": text, "title": "Mill", "author": "Ann", "heading": "Evening", "chunk": 0}
    tasks = [instruction_task({**chunk, "chunk": i}, config) for i in range(4)]
    assert tasks[0]["input"] + "\n\n" + tasks[0]["output"] == text and "Continue" in tasks[0]["instruction"]
    assert tasks[1]["output"] == "Evening" and tasks[1]["input"] == text
    assert tasks[2]["output"] == "“Mill” by Ann"
    assert tasks[3] == {"instruction": "Write the passage of “Mill” from “Evening”.", "input": "", "output": text}
    # a task the chunk cannot serve (no heading) falls back to writing the passage
    assert instruction_task({**chunk, "heading": "", "chunk": 1}, config)["output"] == text
    sample = RENDERERS["instruction"](chunk, config, tokenizer)
    assert sample["prompt"].endswith("### Input:\n" + tasks[0]["input"] + "\n\n### Response:\n")
    assert split_passage("no boundary") == ("no", "boundary")


def test_custom_template_is_sandboxed_strict_and_may_come_from_a_file(tmp_path, tokenizer):
    chunk = {"text": "Body.", "title": "T", "heading": "H", "author": "A"}
    sample = RENDERERS["custom"](chunk, config_for("custom"), tokenizer)
    assert sample == {"prompt": "Book: T by A\n", "completion": "[H] Body.<|im_end|>"}
    path = tmp_path / "mine.j2"
    path.write_text("{{ title | upper }}: {{ text }}", encoding="utf-8")
    assert RENDERERS["custom"](chunk, FormatConfig(format="custom", template=str(path)), tokenizer)[
        "completion"] == "T: Body."
    with pytest.raises(ConfigError, match="tittle.*available"):
        RENDERERS["custom"](chunk, FormatConfig(format="custom", template="{{ tittle }}"), tokenizer)
    with pytest.raises(ConfigError, match="template: line 1"):
        RENDERERS["custom"](chunk, FormatConfig(format="custom", template="{% if %}"), tokenizer)
    from jinja2.exceptions import SecurityError
    with pytest.raises(SecurityError):
        RENDERERS["custom"](chunk, FormatConfig(format="custom", template="{{ text.__class__.__mro__ }}"), tokenizer)


@pytest.mark.parametrize("kwargs, field", [
    ({"format": "custom"}, "template"), ({"instruction_tasks": "write,dance"}, "instruction_tasks"),
    ({"user_prompt": "About {chapter}"}, "user_prompt"), ({"qa_pairs": 0}, "qa_pairs"),
    ({"min_grounding": 1.5}, "min_grounding"), ({"split_by": "page"}, "split_by"),
    ({"gen_temperature": -1.0}, "gen_temperature")])
def test_format_settings_are_validated(kwargs, field):
    with pytest.raises(ConfigError) as err:
        FormatConfig(**kwargs)
    assert str(err.value).startswith(field)


def test_split_by_book_holds_out_whole_books_deterministically(tmp_path, tokenizer):
    project = make_project(tmp_path / "p", books=5)
    config = FormatConfig(format="plain", split_by="book", eval_fraction=0.2, split_seed=3)
    first, again = (build_dataset(project, config, tokenizer) for _ in range(2))
    assert first.eval == again.eval
    held = {r["doc_id"] for r in first.eval}
    assert len(held) == 1 and not held & {r["doc_id"] for r in first.train}
    assert first.meta["split"]["by"] == "book" and len(first.meta["split"]["held_out_books"]) == 1
    others = {tuple(held_out_books([{"doc_id": f"b{i}"} for i in range(5) for _ in range(3)], 0.2, s))
              for s in range(10)}
    assert len(others) > 1  # the seed decides which book


def test_split_by_book_with_one_book_warns_and_holds_nothing(tmp_path, tokenizer):
    events = []
    built = build_dataset(make_project(tmp_path / "p", books=1),
                          FormatConfig(format="plain", split_by="book", eval_fraction=0.2), tokenizer, events.append)
    assert not built.eval and any("two books" in e.message for e in events if e.kind == "warning")


def test_author_and_language_come_from_the_document_record(tmp_path, tokenizer):
    rows = build_dataset(make_project(tmp_path / "p", books=1), config_for("json", eval_fraction=0.0),
                         tokenizer).train
    assert json.loads(rows[0]["completion"].removesuffix("<|im_end|>"))["author"] == "A. Writer"
