"""Shared fixtures: a tiny random Llama with a tokenizer trained on the spot, and sample texts.

The tiny model makes the whole path (ingest → train → chat) run in seconds; only
tests/integration uses the real embedded SmolLM2.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("SCRIPTORIUM_CACHE", tempfile.mkdtemp(prefix="scriptorium-test-cache-"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ENGLISH = """The river ran past the old mill, and the miller counted the boats that went by.
In the evening the librarian read aloud, and the children listened without a sound.
Scriptorium turns your own books into a language model that runs on your computer.
Chapter one begins with a storm; chapter two ends with a quiet morning by the sea.
"""
RUSSIAN = """Река текла мимо старой мельницы, и мельник считал проплывающие лодки.
Вечером библиотекарь читала вслух, а дети слушали, затаив дыхание.
Глава первая начинается с бури, а вторая кончается тихим утром у моря.
"""
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<pad>"]


def build_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from core.models import CHATML_TEMPLATE

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([ENGLISH, RUSSIAN] * 20, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<pad>",
                                   bos_token="<|endoftext|>", unk_token="<|endoftext|>")
    fast.chat_template = CHATML_TEMPLATE
    return fast


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A 2-layer random Llama (GQA 4/2 heads) + trained BPE tokenizer, saved as a HF folder."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = build_tokenizer()
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         tie_word_embeddings=False, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def sample_texts_dir(tmp_path_factory) -> Path:
    """Small documents in the encodings users really have."""
    folder = tmp_path_factory.mktemp("texts")
    (folder / "book.md").write_text("# A Small Book\n\n## The River\n\n" + ENGLISH + "\n\n## The Sea\n\n" + ENGLISH,
                                    encoding="utf-8")
    (folder / "rus-cp1251.txt").write_bytes(RUSSIAN.encode("cp1251"))
    (folder / "rus-koi8.txt").write_bytes(RUSSIAN.encode("koi8-r"))
    (folder / "rus-utf16.txt").write_bytes(RUSSIAN.encode("utf-16"))
    return folder


REALDOCS = Path(os.environ.get("SCRIPTORIUM_REALDOCS", Path(__file__).resolve().parents[2] / "shared" / "realdocs"))


@pytest.fixture(scope="session")
def realdocs() -> Path:
    """../shared/realdocs (or $SCRIPTORIUM_REALDOCS); tests using it skip where it is absent."""
    if not REALDOCS.is_dir():
        pytest.skip(f"real-world documents not found at {REALDOCS} (set SCRIPTORIUM_REALDOCS)")
    return REALDOCS
