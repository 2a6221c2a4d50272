"""Shared fixtures: a tiny random Llama with a tokenizer trained on the spot, and sample texts.

Contracts (other test folders, e.g. tests/gui, rely on these names):

- ``tiny_model_dir`` (session): ``Path`` of a Hugging Face folder holding a 2-layer random
  ``LlamaForCausalLM`` (hidden 64, intermediate 128, 4 heads / 2 kv heads, 512 positions,
  untied embeddings, vocab = tokenizer size) and a byte-level BPE ``PreTrainedTokenizerFast``
  (~600 tokens, trained here on English + Russian; eos ``<|im_end|>``, pad ``<pad>``, ChatML
  template). Built in about a second, deterministic (fixed torch seed).
- ``sample_texts_dir`` (session): ``Path`` of a folder with ``book.md`` (English, headings),
  ``notes.txt`` (English, hard-wrapped at 60 columns), ``rus-cp1251.txt``, ``rus-koi8.txt`` and
  ``rus-utf16.txt`` (UTF-16 with BOM), all holding ``RUSSIAN`` / ``ENGLISH`` below.
- ``realdocs`` (session): ../shared/realdocs or $SCRIPTORIUM_REALDOCS; skips where absent.

Environment (set at import, before any library reads it): ``SCRIPTORIUM_CACHE`` to a temp dir
unless already set, ``TOKENIZERS_PARALLELISM=false``, ``HF_HUB_OFFLINE=1`` unless set (no network).
The tiny model makes the whole path (ingest → train → chat) run in seconds; only
tests/integration uses the real embedded SmolLM2.
"""
from __future__ import annotations

import os
import tempfile
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("SCRIPTORIUM_CACHE", tempfile.mkdtemp(prefix="scriptorium-test-cache-"))
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ENGLISH = """The river ran past the old mill, and the miller counted the boats that went by.
In the evening the librarian read aloud, and the children listened without a sound.
Scriptorium turns your own books into a language model that runs on your computer.
Chapter one begins with a storm; chapter two ends with a quiet morning by the sea.
"""
ENGLISH_MORE = """A letter arrived on Tuesday. It was written in green ink and smelled of pine needles.
The baker opened his shop before dawn, and the whole street woke up to the smell of bread.
Every book in the library had a small card, and every card had the name of a reader on it.
She walked along the harbour wall, counting ships, gulls and the windows of the lighthouse.
"""
RUSSIAN = """Река текла мимо старой мельницы, и мельник считал проплывающие лодки.
Вечером библиотекарь читала вслух, а дети слушали, затаив дыхание.
Глава первая начинается с бури, а вторая кончается тихим утром у моря.
"""
RUSSIAN_MORE = """Письмо пришло во вторник. Оно было написано зелёными чернилами и пахло хвоей.
Пекарь открывал лавку до рассвета, и вся улица просыпалась от запаха хлеба.
У каждой книги в библиотеке была карточка, а на каждой карточке стояло имя читателя.
Она шла вдоль гавани и считала корабли, чаек и окна маяка.
"""
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<pad>"]
VOCAB_SIZE = 600


def build_tokenizer():
    """A byte-level BPE fast tokenizer (any text encodes; Cyrillic gets real merges)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from core.models import CHATML_TEMPLATE

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=SPECIAL, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([ENGLISH, ENGLISH_MORE, RUSSIAN, RUSSIAN_MORE] * 8, trainer)
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
    (folder / "book.md").write_text("# A Small Book\n\n## The River\n\n" + ENGLISH + "\n## The Sea\n\n"
                                    + ENGLISH_MORE, encoding="utf-8")
    hard_wrapped = "\n\n".join(textwrap.fill(line, 60) for line in ENGLISH_MORE.splitlines())
    (folder / "notes.txt").write_text(hard_wrapped + "\n", encoding="utf-8")
    (folder / "rus-cp1251.txt").write_bytes(RUSSIAN.encode("cp1251"))
    (folder / "rus-koi8.txt").write_bytes(RUSSIAN.encode("koi8-r"))
    (folder / "rus-utf16.txt").write_bytes(RUSSIAN.encode("utf-16"))  # Python writes the BOM
    return folder


REALDOCS = Path(os.environ.get("SCRIPTORIUM_REALDOCS", Path(__file__).resolve().parents[2] / "shared" / "realdocs"))


@pytest.fixture(scope="session")
def realdocs() -> Path:
    """../shared/realdocs (or $SCRIPTORIUM_REALDOCS); tests using it skip where it is absent."""
    if not REALDOCS.is_dir():
        pytest.skip(f"real-world documents not found at {REALDOCS} (set SCRIPTORIUM_REALDOCS)")
    return REALDOCS


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    """The tiny model's tokenizer, loaded the way the app loads one (one per test module)."""
    from core.models import load_tokenizer, resolve

    return load_tokenizer(resolve(str(tiny_model_dir)))
