"""Renderers: one corpus chunk → one training sample, as the model will see it.

A sample is ``{"prompt": str, "completion": str}``: the loss covers only the completion, and
``prompt + completion`` is the exact text the model is trained on (special tokens included).

- ``plain``: continued pre-training; no prompt, the chunk is the completion (+ EOS).
- ``chat``: the base model's chat template; a user turn asks about the chunk's chapter and the
  assistant turn is the chunk itself.
"""
from __future__ import annotations

from typing import Callable

from core.config import FormatConfig

Renderer = Callable[[dict, FormatConfig, object], dict]


def render_plain(chunk: dict, config: FormatConfig, tokenizer) -> dict:
    return {"prompt": "", "completion": chunk["text"] + (tokenizer.eos_token or "")}


def chat_messages(chunk: dict, config: FormatConfig) -> list[dict]:
    heading = chunk.get("heading") or chunk.get("title") or "this text"
    user = config.user_prompt.format(title=chunk.get("title", ""), heading=heading)
    messages = [{"role": "system", "content": config.system_prompt}] if config.system_prompt else []
    return messages + [{"role": "user", "content": user}, {"role": "assistant", "content": chunk["text"]}]


def render_chat(chunk: dict, config: FormatConfig, tokenizer) -> dict:
    messages = chat_messages(chunk, config)
    prompt = tokenizer.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    if not full.startswith(prompt):
        # Some templates rewrite earlier turns once an assistant turn follows; the mask would lie.
        raise ValueError("the chat template renders the prompt differently once the answer is added; "
                         "loss masking cannot be exact with this template")
    completion = full[len(prompt):]
    # Templates end the assistant turn with the end-of-turn token; make sure it is learned.
    return {"prompt": prompt, "completion": completion}


RENDERERS: dict[str, Renderer] = {"plain": render_plain, "chat": render_chat}


def encode(sample: dict, tokenizer, max_len: int) -> dict:
    """Token ids and labels (-100 over the prompt), cut to ``max_len`` tokens."""
    prompt_ids = tokenizer(sample["prompt"], add_special_tokens=False)["input_ids"] if sample["prompt"] else []
    completion_ids = tokenizer(sample["completion"], add_special_tokens=False)["input_ids"]
    if tokenizer.bos_token_id is not None and not sample["prompt"] and getattr(tokenizer, "add_bos_token", False):
        prompt_ids = [tokenizer.bos_token_id]
    ids = (prompt_ids + completion_ids)[:max_len]
    labels = ([-100] * len(prompt_ids) + completion_ids)[:max_len]
    return {"input_ids": ids, "labels": labels}
