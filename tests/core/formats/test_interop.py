"""core.formats.interop: alpaca / sharegpt / messages / text JSONL and a `datasets` folder."""
from __future__ import annotations

import json

import pytest

from core.config import FormatConfig
from core.formats import build_dataset
from core.formats.interop import ExportFormatError, export_datasets, export_jsonl
from core.ingest.pipeline import corpus_paths
from core.project import Project, ProjectError, append_jsonl

TEXTS = ["The river ran past the old mill.", "In the evening the librarian read aloud.",
         "Река текла мимо старой мельницы.", "A letter arrived on Tuesday.", "The baker opened his shop.",
         "She counted ships and gulls.", "Every book had a card.", "The storm ended by morning."]


@pytest.fixture
def project(tmp_path):
    project = Project.open(tmp_path / "p")
    where = corpus_paths(project)
    for i, text in enumerate(TEXTS):
        append_jsonl(where["chunks"], {"doc_id": "c" * 16, "title": "River", "chunk": i, "section": i // 4,
                                       "heading": f"Part {i // 4 + 1}", "text": text, "tokens": 10})
    append_jsonl(where["documents"], {"id": "c" * 16, "title": "River", "sections": []})
    return project


def read(path):
    return [json.loads(line) for line in open(path, encoding="utf-8")]


def test_chat_exports_in_every_convention(project, tokenizer):
    config = FormatConfig(format="chat", system_prompt="You are the archivist.", eval_fraction=0.25)
    built = build_dataset(project, config, tokenizer)
    by = {c: export_jsonl(project, "chat", c) for c in ("alpaca", "sharegpt", "messages", "text")}
    assert all(r["samples"] == len(built.train) and r["eval_samples"] == len(built.eval) == 2 for r in by.values())
    first = built.train[0]
    alpaca, sharegpt, messages, text = (read(by[c]["path"])[0] for c in ("alpaca", "sharegpt", "messages", "text"))
    question = f"Tell me about “{first['messages'][1]['content'].split('“')[1].split('”')[0]}” from River."
    assert alpaca == {"instruction": question, "input": "", "output": TEXTS[first["chunk"]],
                      "system": "You are the archivist."}
    assert sharegpt == {"conversations": [{"from": "system", "value": "You are the archivist."},
                                          {"from": "human", "value": question},
                                          {"from": "gpt", "value": TEXTS[first["chunk"]]}]}
    assert messages["messages"] == first["messages"]
    assert text == {"text": first["prompt"] + first["completion"]}
    # the messages, rendered with the template stored in meta.json, are exactly the trained text
    tokenizer.chat_template = built.meta["chat_template"]
    assert tokenizer.apply_chat_template(messages["messages"], tokenize=False) == text["text"]
    held = read(by["messages"]["eval_path"])
    assert [m["messages"][-1]["content"] for m in held] == [TEXTS[r["chunk"]] for r in built.eval]


def test_instruction_and_custom_map_to_alpaca(project, tokenizer):
    build_dataset(project, FormatConfig(format="instruction", eval_fraction=0.0, instruction_tasks="continue"),
                  tokenizer)
    rows = read(export_jsonl(project, "instruction", "alpaca")["path"])
    assert rows[0]["instruction"] == "Continue this passage from “River”." and rows[0]["output"]
    assert rows[0]["input"] + " " + rows[0]["output"] == TEXTS[0]
    sharegpt = read(export_jsonl(project, "instruction", "sharegpt")["path"])[0]["conversations"]
    assert sharegpt[0]["value"] == rows[0]["instruction"] + "\n\n" + rows[0]["input"]
    build_dataset(project, FormatConfig(format="custom", eval_fraction=0.0, template_prompt="Part: {{ chapter }}\n",
                                        template="{{ text }}{{ eos_token }}"), tokenizer)
    custom = read(export_jsonl(project, "custom", "messages")["path"])[0]["messages"]
    assert custom == [{"role": "user", "content": "Part: Part 1\n"}, {"role": "assistant", "content": TEXTS[0]}]


def test_prompt_less_formats_refuse_conversations_but_export_text(project, tokenizer):
    build_dataset(project, FormatConfig(format="json", eval_fraction=0.0), tokenizer)
    for convention in ("alpaca", "sharegpt", "messages"):
        with pytest.raises(ExportFormatError, match="no prompt part.*text"):
            export_jsonl(project, "json", convention)
    rows = read(export_jsonl(project, "json", "text")["path"])
    assert json.loads(rows[0]["text"].removesuffix("<|im_end|>"))["text"] == TEXTS[0]


def test_datasets_folder_loads_with_prompt_completion_and_messages(project, tokenizer, tmp_path):
    from datasets import load_from_disk

    built = build_dataset(project, FormatConfig(format="chat", eval_fraction=0.25), tokenizer)
    info = export_datasets(project, "chat", tmp_path / "hf")
    data = load_from_disk(info["path"])
    assert set(data) == {"train", "test"} and len(data["train"]) == len(built.train) and info["messages"]
    assert data["train"][0]["prompt"] == built.train[0]["prompt"]
    assert data["train"][0]["messages"] == built.train[0]["messages"]
    export_datasets(project, "chat", tmp_path / "hf")  # rebuilt in place
    assert len(load_from_disk(info["path"])["test"]) == 2
    build_dataset(project, FormatConfig(format="plain", eval_fraction=0.0), tokenizer)
    plain = load_from_disk(export_datasets(project, "plain")["path"])
    assert "messages" not in plain["train"].column_names and plain["train"][0]["prompt"] == ""


def test_export_before_build_says_what_to_run(project):
    with pytest.raises(ProjectError, match="python main.py format"):
        export_jsonl(project, "qa", "alpaca")
