"""Renderers: one corpus chunk → one training sample, as the model will see it.

A sample is ``{"prompt": str, "completion": str, …}``: the loss covers only the completion, and
``prompt + completion`` is the exact text the model is trained on (special tokens included).
Extra keys keep the structured form for export (``messages``, ``instruction``/``input``/``output``,
``record``, ``original``); ``encode`` ignores them.

- ``plain``: continued pre-training; no prompt, the chunk is the completion (+ EOS).
- ``markdown``: the chunk under its book title and chapter heading (``#`` / ``##``).
- ``json`` / ``yaml``: a record per chunk (book, author, chapter, text) serialized as text; the
  completion without its EOS parses back with a JSON / YAML parser.
- ``instruction``: alpaca-style instruction/input/response built from the book; the tasks
  (write, continue, chapter, book) are taken in turn over the chunks.
- ``chat``: the base model's chat template; a user turn asks about the chunk's chapter, the
  assistant turn is the chunk itself.
- ``qa`` / ``paraphrase``: chat samples whose answers the base model wrote (``generate.py``
  attaches ``question``/``answer`` or ``paraphrase`` to the chunk before rendering).
- ``custom``: the user's Jinja templates, rendered in a sandbox.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Callable

import yaml

from core.config import ConfigError, FormatConfig

Renderer = Callable[[dict, FormatConfig, object], dict]

ALPACA_HEAD = ("Below is an instruction that describes a task{with_input}. "
               "Write a response that appropriately completes the request.\n\n")


def fields(chunk: dict) -> dict:
    """The chunk's descriptive fields under stable names (ingest keeps adding keys; read defensively)."""
    chapter = chunk.get("heading") or (chunk.get("chapter") if isinstance(chunk.get("chapter"), str) else "") or ""
    return {"text": chunk["text"], "title": chunk.get("title") or chunk.get("book") or "",
            "author": chunk.get("author") or "", "language": chunk.get("language") or "", "chapter": chapter,
            "heading": chapter, "section": chunk.get("section", 0), "chunk": chunk.get("chunk", 0)}


# ------------------------------------------------------------------ text formats (no prompt)
def render_plain(chunk: dict, config: FormatConfig, tokenizer) -> dict:
    return {"prompt": "", "completion": chunk["text"] + (tokenizer.eos_token or "")}


def render_markdown(chunk: dict, config: FormatConfig, tokenizer) -> dict:
    f = fields(chunk)
    head = (f"# {f['title']}\n\n" if f["title"] else "") + (f"## {f['chapter']}\n\n" if f["chapter"] else "")
    return {"prompt": "", "completion": head + f["text"] + (tokenizer.eos_token or "")}


def record(chunk: dict) -> dict:
    f = fields(chunk)
    return {"book": f["title"], "author": f["author"], "chapter": f["chapter"], "text": f["text"]}


def render_json(chunk: dict, config: FormatConfig, tokenizer) -> dict:
    rec = record(chunk)
    # ensure_ascii=False: Cyrillic stays readable (and short in tokens) instead of \u escapes.
    return {"prompt": "", "completion": json.dumps(rec, ensure_ascii=False) + (tokenizer.eos_token or ""),
            "record": rec}


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings as ``|`` blocks: the text reads as prose, not as one escaped line."""


def _str_representer(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str_representer)


def render_yaml(chunk: dict, config: FormatConfig, tokenizer) -> dict:
    rec = record(chunk)
    text = yaml.dump(rec, Dumper=_BlockDumper, allow_unicode=True, sort_keys=False, width=1_000_000)
    return {"prompt": "", "completion": text + (tokenizer.eos_token or ""), "record": rec}


# ------------------------------------------------------------------ instruction (alpaca)
def split_passage(text: str) -> tuple[str, str]:
    """Cut a passage near its middle at a paragraph, else sentence, else word boundary."""
    middle = len(text) // 2
    for sep in ("\n\n", ". ", " "):
        cuts = [i + len(sep) for i in range(len(text)) if text.startswith(sep, i) and 0 < i < len(text) - len(sep)]
        if cuts:
            cut = min(cuts, key=lambda i: abs(i - middle))
            return text[:cut].rstrip(), text[cut:].lstrip()
    return text, ""


def instruction_task(chunk: dict, config: FormatConfig) -> dict:
    """instruction/input/output for the chunk's task (tasks rotate by chunk number)."""
    f = fields(chunk)
    tasks = [t.strip() for t in config.instruction_tasks.split(",") if t.strip()]
    task = tasks[int(f["chunk"]) % len(tasks)]
    book = f"“{f['title']}”" if f["title"] else "the book"
    if task == "chapter" and f["chapter"]:
        return {"instruction": f"Name the chapter of {book} this passage comes from.", "input": f["text"],
                "output": f["chapter"]}
    if task == "book" and f["title"]:
        by = f" by {f['author']}" if f["author"] else ""
        return {"instruction": "Name the book this passage comes from.", "input": f["text"],
                "output": f"{book}{by}"}
    if task == "continue":
        head, tail = split_passage(f["text"])
        if tail:
            return {"instruction": f"Continue this passage from {book}.", "input": head, "output": tail}
    # "write" — and the fallback when a chunk lacks what its task needs (no heading, one sentence).
    about = f"the passage of {book} from “{f['chapter']}”" if f["chapter"] else f"a passage of {book}"
    return {"instruction": f"Write {about}.", "input": "", "output": f["text"]}


def render_instruction(chunk: dict, config: FormatConfig, tokenizer) -> dict:
    task = instruction_task(chunk, config)
    if task["input"]:
        prompt = (ALPACA_HEAD.format(with_input=", paired with an input that provides further context")
                  + f"### Instruction:\n{task['instruction']}\n\n### Input:\n{task['input']}\n\n### Response:\n")
    else:
        prompt = ALPACA_HEAD.format(with_input="") + f"### Instruction:\n{task['instruction']}\n\n### Response:\n"
    return {"prompt": prompt, "completion": task["output"] + (tokenizer.eos_token or ""), **task}


# ------------------------------------------------------------------ chat-template formats
def render_messages(messages: list[dict], tokenizer) -> dict:
    """Prompt = every turn but the last + the generation prompt; completion = the last turn."""
    prompt = tokenizer.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    if not full.startswith(prompt):
        # Some templates rewrite earlier turns once an assistant turn follows; the mask would lie.
        raise ValueError("the chat template renders the prompt differently once the answer is added; "
                         "loss masking cannot be exact with this template")
    # The completion ends with the template's end-of-turn token, so the model learns to stop.
    return {"prompt": prompt, "completion": full[len(prompt):], "messages": messages}


def _system(config: FormatConfig) -> list[dict]:
    return [{"role": "system", "content": config.system_prompt}] if config.system_prompt else []


DEFAULT_USER_PROMPT_RU = "Расскажи о разделе «{heading}» из «{title}»."


def chat_messages(chunk: dict, config: FormatConfig, answer: str | None = None) -> list[dict]:
    f = fields(chunk)
    prompt = config.user_prompt
    if prompt == FormatConfig.user_prompt and f["language"] in ("ru", "uk"):
        prompt = DEFAULT_USER_PROMPT_RU  # the default prompt follows the book's language; a user's own is kept
    user = prompt.format(title=f["title"], heading=f["chapter"] or f["title"] or "this text")
    return _system(config) + [{"role": "user", "content": user},
                              {"role": "assistant", "content": chunk["text"] if answer is None else answer}]


def render_chat(chunk: dict, config: FormatConfig, tokenizer) -> dict:
    return render_messages(chat_messages(chunk, config), tokenizer)


def render_qa(chunk: dict, config: FormatConfig, tokenizer) -> dict:
    messages = _system(config) + [{"role": "user", "content": chunk["question"]},
                                  {"role": "assistant", "content": chunk["answer"]}]
    return render_messages(messages, tokenizer)


def render_paraphrase(chunk: dict, config: FormatConfig, tokenizer) -> dict:
    # Same question as the chat format, answered in the model's own words; the original rides along.
    sample = render_messages(chat_messages(chunk, config, answer=chunk["paraphrase"]), tokenizer)
    return {**sample, "original": chunk["text"]}


def render_knowledge(chunk: dict, config: FormatConfig, tokenizer) -> dict:
    """One item of the knowledge recipe (``chunk["item"]``): the source text, a restatement, or a question.

    The source text is plain continued pre-training with the book and chapter in front (the prefix
    is prompt: the model learns the text *given* its source); restatements and questions are chat
    turns, so the model learns to say what the books say when asked."""
    from core.formats.knowledge import REQUESTS, REQUESTS_RU, is_russian, source_line

    item, f = chunk.get("item") or {"kind": "source"}, fields(chunk)
    if item["kind"] == "source":
        prefix = source_line(chunk) if config.source_prefix else ""
        return {"prompt": f"{prefix}\n\n" if prefix else "", "completion": chunk["text"] + (tokenizer.eos_token or ""),
                "kind": "source"}
    if item["kind"] == "question":
        messages = _system(config) + [{"role": "user", "content": item["question"]},
                                      {"role": "assistant", "content": item["answer"]}]
    elif item["kind"] == "replay":
        messages = _system(config) + [{"role": "user", "content": item["prompt"]},
                                      {"role": "assistant", "content": item["text"]}]
    else:
        russian = is_russian(chunk)
        request = (REQUESTS_RU if russian else REQUESTS)[item["kind"]].format(
            title=f["title"] or ("книге" if russian else "the book"),
            chapter=f["chapter"] or f["title"] or ("этот текст" if russian else "this text"),
            term=item.get("term") or ("этом" if russian else "it"))
        messages = _system(config) + [{"role": "user", "content": request},
                                      {"role": "assistant", "content": item["text"]}]
    return {**render_messages(messages, tokenizer), "kind": item["kind"]}


# ------------------------------------------------------------------ custom (Jinja, sandboxed)
def load_template(value: str) -> str:
    """The template text: the value itself, or the file it names (.j2 / .jinja / .jinja2)."""
    path = Path(value.strip()).expanduser()
    if path.suffix in (".j2", ".jinja", ".jinja2") and path.is_file():
        return path.read_text(encoding="utf-8")
    return value


@functools.lru_cache(maxsize=32)
def _compile(source: str):
    from jinja2 import StrictUndefined, TemplateSyntaxError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    # Sandboxed: a shared template cannot reach Python internals; StrictUndefined: a typo in a
    # variable name is an error naming it, not silently empty text.
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)
    try:
        return env.from_string(source)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"template: line {exc.lineno}: {exc.message}") from None


def render_custom(chunk: dict, config: FormatConfig, tokenizer) -> dict:
    from jinja2 import UndefinedError

    variables = {**chunk, **fields(chunk), "eos_token": tokenizer.eos_token or "",
                 "bos_token": tokenizer.bos_token or ""}
    try:
        prompt = _compile(load_template(config.template_prompt)).render(variables) if config.template_prompt else ""
        completion = _compile(load_template(config.template)).render(variables)
    except UndefinedError as exc:
        raise ConfigError(f"template: {exc.message}; available: {', '.join(sorted(variables))}") from None
    return {"prompt": prompt, "completion": completion}


def stop_tokens(tokenizer) -> list[str]:
    """EOS plus the end-of-turn tokens the vocabulary has: generation stops at any of them."""
    stops = [tokenizer.eos_token] if tokenizer.eos_token else []
    for token in ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>"):
        if token in tokenizer.get_vocab() and token not in stops:
            stops.append(token)
    return stops


RENDERERS: dict[str, Renderer] = {
    "plain": render_plain, "markdown": render_markdown, "json": render_json, "yaml": render_yaml,
    "instruction": render_instruction, "chat": render_chat, "qa": render_qa, "paraphrase": render_paraphrase,
    "knowledge": render_knowledge, "custom": render_custom,
}


def encode(sample: dict, tokenizer, max_len: int) -> dict:
    """Token ids and labels (-100 over the prompt), cut to ``max_len`` tokens."""
    prompt_ids = tokenizer(sample["prompt"], add_special_tokens=False)["input_ids"] if sample["prompt"] else []
    completion_ids = tokenizer(sample["completion"], add_special_tokens=False)["input_ids"]
    if tokenizer.bos_token_id is not None and not sample["prompt"] and getattr(tokenizer, "add_bos_token", False):
        prompt_ids = [tokenizer.bos_token_id]
    ids = (prompt_ids + completion_ids)[:max_len]
    labels = ([-100] * len(prompt_ids) + completion_ids)[:max_len]
    return {"input_ids": ids, "labels": labels}
