"""core.formats: plain/chat datasets, the held-out split, the stored template, exact loss masks."""
from __future__ import annotations

import json

import pytest

from core.config import FormatConfig
from core.formats import RENDERERS, build_dataset, encode
from core.formats.builder import load_dataset_meta, load_samples, split_indices
from core.ingest.pipeline import corpus_paths
from core.project import Project, ProjectError, append_jsonl

TEXTS = ["The river ran past the old mill.", "Река текла мимо старой мельницы.",
         "In the evening the librarian read aloud.", "The children listened without a sound.",
         "A storm came in from the sea.", "By morning the harbour was quiet again.",
         "Вечером библиотекарь читала вслух.", "Every book had a small card with a name on it.",
         "The baker opened his shop before dawn.", "She counted ships, gulls and windows."]


@pytest.fixture
def project(tmp_path):
    project = Project.open(tmp_path / "p")
    where = corpus_paths(project)
    for doc in range(2):
        doc_id = f"doc{doc:013d}"
        for i, text in enumerate(TEXTS[doc::2]):
            append_jsonl(where["chunks"], {"doc_id": doc_id, "title": f"Book {doc}", "chunk": i,
                                           "heading": f"Chapter {i}", "section": i, "text": text, "tokens": 8})
        append_jsonl(where["documents"], {"id": doc_id, "title": f"Book {doc}", "sections": []})
    return project


@pytest.mark.parametrize("fmt", ["plain", "chat"])
def test_build_writes_samples_and_meta(project, tokenizer, fmt):
    built = build_dataset(project, FormatConfig(format=fmt, eval_fraction=0.2), tokenizer)
    assert built.folder == project.dataset_dir(fmt)
    assert len(built.train) + len(built.eval) == len(TEXTS)
    assert len(built.eval) == 2
    rows = load_samples(project, fmt)
    assert len(rows) == len(TEXTS) and {r["split"] for r in rows} == {"train", "eval"}
    assert all({"prompt", "completion", "doc_id", "chunk"} <= set(r) for r in rows)
    meta = load_dataset_meta(project, fmt)
    assert meta == json.loads((built.folder / "meta.json").read_text(encoding="utf-8")) == built.meta
    assert meta["chat_template"] == tokenizer.chat_template
    assert meta["eos_token"] == "<|im_end|>"
    assert "<|im_end|>" in meta["stop_tokens"]
    assert meta["samples"] == len(TEXTS) and meta["eval_samples"] == 2
    assert meta["format"]["format"] == fmt and meta["fingerprint"]


def test_split_is_deterministic(project, tokenizer):
    config = FormatConfig(format="plain", eval_fraction=0.3, split_seed=7)
    first = build_dataset(project, config, tokenizer)
    second = build_dataset(project, config, tokenizer)
    assert first.eval == second.eval and first.meta["fingerprint"] == second.meta["fingerprint"]
    assert split_indices(100, 0.1, 7) == split_indices(100, 0.1, 7)
    assert split_indices(100, 0.1, 7) != split_indices(100, 0.1, 8)
    assert len(split_indices(100, 0.1, 0)) == 10
    assert split_indices(3, 0.4, 0) == set()  # too few chunks to spare one
    assert split_indices(50, 0.0, 0) == set()


def test_empty_corpus_says_what_to_do(tmp_path, tokenizer):
    with pytest.raises(ProjectError, match="corpus is empty.*ingest"):
        build_dataset(Project.open(tmp_path / "empty"), FormatConfig(), tokenizer)


def test_plain_sample(tokenizer):
    sample = RENDERERS["plain"]({"text": "Hello there."}, FormatConfig(format="plain"), tokenizer)
    assert sample == {"prompt": "", "completion": "Hello there.<|im_end|>"}


def test_chat_sample_uses_template_prompts_and_system(tokenizer):
    chunk = {"text": "The river ran past the old mill.", "title": "Book", "heading": "Chapter 1"}
    config = FormatConfig(system_prompt="You are the archivist.", user_prompt="Tell me about {heading} from {title}.")
    sample = RENDERERS["chat"](chunk, config, tokenizer)
    assert sample["prompt"] == ("<|im_start|>system\nYou are the archivist.<|im_end|>\n"
                                "<|im_start|>user\nTell me about Chapter 1 from Book.<|im_end|>\n"
                                "<|im_start|>assistant\n")
    assert sample["completion"] == "The river ran past the old mill.<|im_end|>\n"


def test_chat_template_that_rewrites_turns_is_refused(tokenizer):
    odd = tokenizer.__class__.from_pretrained(tokenizer.name_or_path)
    odd.chat_template = ("{% for m in messages %}{{ m['role'] }}"
                         "{% if loop.last and m['role'] == 'assistant' %}!{% endif %}: {{ m['content'] }}\n"
                         "{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}")
    with pytest.raises(ValueError, match="loss masking"):
        RENDERERS["chat"]({"text": "x", "title": "t", "heading": "h"}, FormatConfig(), odd)


@pytest.mark.parametrize("fmt", ["plain", "chat"])
def test_encode_masks_exactly_the_prompt(project, tokenizer, fmt):
    built = build_dataset(project, FormatConfig(format=fmt, eval_fraction=0.0), tokenizer)
    for sample in built.train:
        encoded = encode(sample, tokenizer, max_len=512)
        ids, labels = encoded["input_ids"], encoded["labels"]
        assert len(ids) == len(labels)
        n_prompt = len(tokenizer(sample["prompt"], add_special_tokens=False)["input_ids"]) if sample["prompt"] else 0
        assert labels[:n_prompt] == [-100] * n_prompt
        assert -100 not in labels[n_prompt:]
        assert labels[n_prompt:] == ids[n_prompt:]
        assert tokenizer.decode(ids[:n_prompt]) == sample["prompt"]
        assert tokenizer.decode(labels[n_prompt:]) == sample["completion"]
        assert tokenizer.decode(ids) == sample["prompt"] + sample["completion"]


def test_encode_cuts_to_max_len(tokenizer):
    sample = {"prompt": "<|im_start|>user\nQuestion?<|im_end|>\n", "completion": "An answer " * 20}
    encoded = encode(sample, tokenizer, max_len=12)
    assert len(encoded["input_ids"]) == len(encoded["labels"]) == 12
