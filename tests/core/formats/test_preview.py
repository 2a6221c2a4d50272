"""core.formats.preview and the `format` command: samples as the model sees them, lengths, cuts."""
from __future__ import annotations

import json

import pytest

from core.config import FormatConfig, ModelConfig
from core.formats.generate import BatchGenerator
from core.formats.preview import CUT_HERE, LOSS_STARTS, histogram, preview, preview_text, view_sample
from core.ingest.pipeline import corpus_paths
from core.project import Project, append_jsonl, read_jsonl

TEXTS = ["The river ran past the old mill, and the miller counted the boats that went by.",
         "In the evening the librarian read aloud, and the children listened without a sound.",
         "Река текла мимо старой мельницы, и мельник считал проплывающие лодки.",
         "A letter arrived on Tuesday. It was written in green ink and smelled of pine needles."]


@pytest.fixture
def project(tmp_path, tiny_model_dir):
    project = Project.open(tmp_path / "p")
    project.set_model(ModelConfig(str(tiny_model_dir)))
    where = corpus_paths(project)
    for i, text in enumerate(TEXTS * 3):
        append_jsonl(where["chunks"], {"doc_id": "b" * 16, "title": "River", "chunk": i, "section": 0,
                                       "heading": "Mill", "text": text, "tokens": 30})
    append_jsonl(where["documents"], {"id": "b" * 16, "title": "River", "sections": []})
    return project


def test_sample_shows_special_tokens_the_loss_start_and_the_cut(tokenizer):
    sample = {"prompt": "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
              "completion": TEXTS[0] + "<|im_end|>"}
    whole = view_sample(sample, tokenizer, 4096)
    assert whole.text == sample["prompt"] + LOSS_STARTS + sample["completion"]
    assert whole.cut_tokens == 0 and whole.tokens == whole.prompt_tokens + whole.completion_tokens
    cut = view_sample(sample, tokenizer, whole.prompt_tokens + 5)
    assert cut.cut_tokens == whole.tokens - whole.prompt_tokens - 5
    assert cut.text.replace(CUT_HERE, "") == whole.text and cut.text.index(LOSS_STARTS) < cut.text.index(CUT_HERE)
    assert view_sample(sample, tokenizer, 3).text.index(CUT_HERE) < view_sample(sample, tokenizer, 3).text.index(
        LOSS_STARTS)  # the prompt alone is too long: the cut comes first


def test_histogram_puts_max_len_on_an_edge():
    hist = histogram([1, 10, 64, 65, 200, 1000], 64)
    assert sum(b["count"] for b in hist) == 6
    assert any(b["to"] == 64 for b in hist) and hist[-1]["to"] is None
    assert [b["count"] for b in hist if b["from"] >= 64] and sum(b["count"] for b in hist if b["from"] >= 64) == 3


def test_stats_count_the_cut(project, tokenizer):
    shown = preview(project, FormatConfig(format="chat"), tokenizer, n=2, max_len=40)
    full = preview(project, FormatConfig(format="chat"), tokenizer, n=100, max_len=1 << 20)
    lengths = [v.tokens for v in full.samples]
    s = shown.stats
    assert len(shown.samples) == 2 and s["samples"] == len(TEXTS) * 3
    assert s["tokens"] == sum(lengths) and s["max"] == max(lengths)
    assert s["cut_tokens"] == sum(max(0, n - 40) for n in lengths)
    assert s["cut_samples"] == sum(n > 40 for n in lengths)
    assert "<|im_start|>" in shown.samples[0].text and LOSS_STARTS in shown.samples[0].text
    text = preview_text(shown)
    assert f"cuts {s['cut_tokens']} tokens" in text and "█" in text


def test_preview_of_a_generated_format_writes_only_the_first_chunks(project, tokenizer, tiny_model_dir):
    generator = BatchGenerator.load(str(tiny_model_dir), FormatConfig(format="paraphrase", gen_max_tokens=6),
                                    device="cpu")
    config = FormatConfig(format="paraphrase", gen_max_tokens=6, min_grounding=0.0)
    shown = preview(project, config, tokenizer, n=2, max_len=256, generator=generator)
    assert len(list(read_jsonl(project.dataset_dir("paraphrase") / "generated.jsonl"))) == 2
    assert "2 of 12 chunks generated so far" in shown.notes[0]
    assert not (project.dataset_dir("paraphrase") / "samples.jsonl").exists()  # a look, not a build
    assert shown.stats["samples"] + sum(shown.stats["dropped"].values()) == 2


def run_cli(capsys, *args):
    from core.cli import main

    code = main(list(args))
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1])


def test_cli_format_preview_json(project, capsys):
    code, summary = run_cli(capsys, "format", "--project", str(project.root), "--format", "yaml", "--preview", "3",
                            "--max-len", "48", "--json")
    assert code == 0 and summary["ok"] and summary["command"] == "format" and summary["format"] == "yaml"
    assert len(summary["preview"]["samples"]) == 3 and summary["preview"]["stats"]["samples"] == 12
    assert "dataset" not in summary  # preview alone builds nothing
    assert project.settings("format").format == "yaml"  # the choice is remembered for training


def test_cli_format_builds_and_exports(project, capsys, tmp_path):
    out = tmp_path / "alpaca.jsonl"
    code, summary = run_cli(capsys, "format", "--project", str(project.root), "--format", "instruction",
                            "--export-jsonl", "alpaca", "--out", str(out), "--json")
    assert code == 0 and summary["samples"] == 12 and summary["complete"]
    assert summary["export"]["path"] == str(out) and summary["export"]["samples"] == summary["train_samples"]
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert all(set(r) == {"instruction", "input", "output"} for r in rows)
    code, summary = run_cli(capsys, "format", "--project", str(project.root), "--format", "plain",
                            "--export-jsonl", "sharegpt", "--json")
    assert code == 1 and "no prompt part" in summary["error"]
