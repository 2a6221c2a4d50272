"""Ollama Modelfiles that prompt the model exactly as training did.

Ollama speaks Go templates, not Jinja, so the training chat template is recognised by family
(ChatML, Llama 3) and written as the equivalent Go template. A default system message that
the Jinja template inserts on its own (SmolLM2 does) becomes ``SYSTEM`` so Ollama adds it too.
"""
from __future__ import annotations

import re
from pathlib import Path

CHATML_GO = ('{{- if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}'
             '{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}'
             '<|im_start|>assistant\n')
LLAMA3_GO = ('{{- if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>{{ end }}'
             '{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{ end }}'
             '<|start_header_id|>assistant<|end_header_id|>\n\n')


def template_family(chat_template: str | None) -> str | None:
    if not chat_template:
        return None
    if "<|im_start|>" in chat_template:
        return "chatml"
    if "<|start_header_id|>" in chat_template:
        return "llama3"
    return None


def default_system(chat_template: str | None) -> str:
    """The system message the template adds when the conversation has none ('' if none)."""
    if template_family(chat_template) != "chatml":
        return ""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    text = ImmutableSandboxedEnvironment().from_string(chat_template).render(
        messages=[{"role": "user", "content": "x"}], add_generation_prompt=False, bos_token="", eos_token="")
    match = re.match(r"<\|im_start\|>system\n(.*?)<\|im_end\|>", text, re.S)
    return match.group(1) if match else ""


def modelfile(from_path: str, adapter_path: str | None, chat_template: str | None, stop_tokens: list[str],
              system: str = "") -> str:
    lines = ["# Written by Scriptorium: `ollama create my-model -f <this file>`", f"FROM {from_path}"]
    if adapter_path:
        lines.append(f"ADAPTER {adapter_path}")
    family = template_family(chat_template)
    go = {"chatml": CHATML_GO, "llama3": LLAMA3_GO}.get(family or "")
    if go:
        lines.append(f'TEMPLATE """{go}"""')
    else:
        lines.append("# The training chat template has no Ollama equivalent here; Ollama will use the GGUF's own.")
    system = system or default_system(chat_template)
    if system:
        lines.append(f'SYSTEM """{system}"""')
    for token in stop_tokens:
        lines.append(f'PARAMETER stop "{token}"')
    return "\n".join(lines) + "\n"


def write_modelfile(path: Path, **kwargs) -> Path:
    from core.project import atomic_write_text

    atomic_write_text(path, modelfile(**kwargs))
    return path
