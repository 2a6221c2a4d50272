"""core.chat.transformers_backend: streamed replies, adapter on/off, cancel, abandoned streams."""
from __future__ import annotations

import threading
import time

import pytest

from core.config import ChatConfig, FormatConfig, ModelConfig, TrainConfig
from core.events import CancelToken
from core.ingest.pipeline import corpus_paths
from core.project import Project, ProjectError, append_jsonl
from core.train import train

FP32 = {"precision": "fp32"} if "precision" in TrainConfig.__dataclass_fields__ else {}  # no bf16 kernel warm-up
PROMPT = "Tell me about the mill."
TEXT = "The river ran past the old mill, and the miller counted the boats."


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir):
    """A project with one run trained hard (high lr) on one repeated sentence."""
    project = Project.open(tmp_path_factory.mktemp("chat") / "p")
    where = corpus_paths(project)
    for i in range(4):
        append_jsonl(where["chunks"], {"doc_id": "c" * 16, "title": "Mill", "chunk": i, "heading": "The mill",
                                       "section": 0, "text": TEXT, "tokens": 16})
    append_jsonl(where["documents"], {"id": "c" * 16, "title": "Mill", "sections": []})
    train(project, ModelConfig(str(tiny_model_dir)), FormatConfig(eval_fraction=0.0, system_prompt="Be brief."),
          TrainConfig(steps=12, batch_size=2, max_seq_len=96, lr=0.01, warmup_steps=0, lora_dropout=0.0, eval_every=0,
                      **FP32))
    return project


@pytest.fixture(scope="module")
def chat(project):
    from core.chat import TransformersChat

    return TransformersChat.from_run(project, device="cpu")


@pytest.fixture
def slow_model(chat):
    """Make every forward pass take ~10 ms so a 200-token reply would need seconds."""
    hook = chat.model.get_base_model().register_forward_hook(lambda *args: time.sleep(0.01))
    yield
    hook.remove()


@pytest.fixture(scope="module")
def long_reply_tokens(chat) -> int:
    """Tokens in the full, uncancelled base reply the cancel tests cut short (so they prove something).

    The base (adapter off) is used there: the tuned model has learned to end its turn early.
    """
    config = ChatConfig(max_new_tokens=200, repetition_penalty=1.0)
    return _tokens(chat, "".join(chat.stream(chat.messages(PROMPT, config), config, adapter=False)))


def _tokens(chat, text: str) -> int:
    return len(chat.tokenizer(text, add_special_tokens=False)["input_ids"])


def test_from_run_reads_the_run(chat):
    assert chat.has_adapter and chat.device == "cpu"
    assert "<|im_end|>" in chat.stop_tokens
    assert chat.default_system == "Be brief."
    messages = chat.messages(PROMPT, ChatConfig())
    assert messages == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": PROMPT}]
    assert chat.messages(PROMPT, ChatConfig(system_prompt="Other."), [{"role": "user", "content": "hi"},
                                                                      {"role": "assistant", "content": "yo"}])[0] == \
        {"role": "system", "content": "Other."}


def test_from_run_without_runs(tmp_path):
    from core.chat import TransformersChat

    with pytest.raises(ProjectError, match="no trained run"):
        TransformersChat.from_run(Project.open(tmp_path / "empty"))


def test_stream_yields_non_empty_pieces(chat):
    config = ChatConfig(max_new_tokens=24)
    pieces = list(chat.stream(chat.messages(PROMPT, config), config))
    assert pieces and all(isinstance(p, str) and p for p in pieces)
    assert 0 < _tokens(chat, "".join(pieces)) <= 24 + 2


def test_greedy_is_reproducible_and_adapter_changes_the_reply(chat):
    config = ChatConfig(max_new_tokens=16)
    tuned = chat.reply(PROMPT, config, adapter=True)
    base = chat.reply(PROMPT, config, adapter=False)
    assert tuned == chat.reply(PROMPT, config, adapter=True)
    assert base == chat.reply(PROMPT, config, adapter=False)
    assert tuned != base
    assert chat.reply(PROMPT, config, adapter=True) == tuned  # adapter switched back on after the base answer


def test_sampling_runs(chat):
    config = ChatConfig(max_new_tokens=8, temperature=0.8, top_p=0.9)
    assert isinstance(chat.reply(PROMPT, config), str)


def test_cancel_stops_streaming_early(chat, long_reply_tokens, slow_model):
    assert long_reply_tokens > 100
    config = ChatConfig(max_new_tokens=200, repetition_penalty=1.0)
    cancel = CancelToken()
    pieces = []
    started = time.monotonic()
    for piece in chat.stream(chat.messages(PROMPT, config), config, adapter=False, cancel=cancel):
        pieces.append(piece)
        cancel.cancel()
    elapsed = time.monotonic() - started
    assert pieces
    assert _tokens(chat, "".join(pieces)) < long_reply_tokens / 4
    assert elapsed < 1.5  # 200 tokens at 10 ms each would take over 2 s


def test_cancel_before_start_gives_at_most_a_token(chat):
    cancel = CancelToken()
    cancel.cancel()
    config = ChatConfig(max_new_tokens=50)
    pieces = list(chat.stream(chat.messages(PROMPT, config), config, cancel=cancel))
    assert _tokens(chat, "".join(pieces)) <= 2


@pytest.mark.timeout(60)
def test_abandoned_generator_does_not_hang(chat, long_reply_tokens, slow_model):
    assert long_reply_tokens > 100
    config = ChatConfig(max_new_tokens=200, repetition_penalty=1.0)
    stream = chat.stream(chat.messages(PROMPT, config), config, adapter=False)
    assert next(stream)
    closer = threading.Thread(target=stream.close, daemon=True)
    started = time.monotonic()
    closer.start()
    closer.join(timeout=20)
    assert not closer.is_alive(), "closing an abandoned stream hung"
    assert time.monotonic() - started < 1.5  # generation stopped at the next token, not after 200
    # the model lock was released: a new reply works
    assert chat.reply(PROMPT, ChatConfig(max_new_tokens=4)) is not None
