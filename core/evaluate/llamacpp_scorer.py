"""The model under test through llama.cpp: the base GGUF plus the run's adapter exported as GGUF.

Same methods as ``scorer.TransformersScorer`` (generate, answer_logprob, text_nll, kl), so an
evaluation can run on the files a user actually ships (the exported GGUF, Ollama's model) and,
for the embedded model, faster: replies come from ``LlamaCppBatch`` (many sequences in one
context, continuous batching), log-likelihoods from one teacher-forced pass per item with all
logits kept (``LlamaCppModel``). The adapter is switched off for the base side in both. Greedy,
no repetition penalty — exactly like the transformers scorer — so the two backends grade alike
up to llama.cpp's arithmetic (quantised matmuls differ from transformers' in the last digits).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.events import CancelToken


class LlamaCppScorer:
    name = "llama.cpp"

    def __init__(self, base_gguf: str | Path, adapter_gguf: str | Path | None, chat_template: str,
                 stop_tokens: list[str] | None = None, n_parallel: int = 16) -> None:
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        from core.chat.llamacpp_backend import LlamaCppModel
        from core.chat.llamacpp_batch import LlamaCppBatch

        self.gen = LlamaCppBatch(base_gguf, adapter_gguf, n_parallel=n_parallel, stop=list(stop_tokens or []),
                                 repetition_penalty=1.0)
        self.forced = LlamaCppModel(base_gguf, adapter_gguf, n_ctx=2048, logits_all=True)
        self.has_adapter = adapter_gguf is not None
        self._template = ImmutableSandboxedEnvironment().from_string(chat_template)
        self.system = ""

    @classmethod
    def for_target(cls, target, n_parallel: int = 16) -> "LlamaCppScorer | None":
        """A scorer for an evaluation target whose base model exists as a GGUF (None otherwise).

        The run's adapter is written as a GGUF LoRA next to the run (``eval-adapter.gguf``,
        rewritten when the adapter is newer)."""
        import json

        from core.chat.llamacpp_backend import fast_gguf
        from core.export.gguf_lora import export_adapter, read_base_info

        source = Path(target.load_dir) / "scriptorium_source.json"
        if not source.exists():
            return None  # a Hugging Face folder: no GGUF to pair an adapter with
        base = fast_gguf(json.loads(source.read_text(encoding="utf-8"))["gguf"])
        adapter = None
        if target.adapter_dir is not None:
            adapter = Path(target.adapter_dir).parent / f"{Path(target.adapter_dir).name}.eval.gguf"
            weights = Path(target.adapter_dir) / "adapter_model.safetensors"
            if not adapter.exists() or adapter.stat().st_mtime < weights.stat().st_mtime:
                export_adapter(Path(target.adapter_dir), read_base_info(base), adapter, "f32")
        template = target.chat_template
        if not template:
            from core.models import ResolvedModel, load_tokenizer
            template = load_tokenizer(ResolvedModel(target.load_dir, "hf_dir", target.load_dir, "")).chat_template
        return cls(base, adapter, template, target.stop_tokens or ["<|im_end|>"], n_parallel)

    def chat_text(self, messages: list[dict]) -> str:
        if self.system and messages and messages[0]["role"] != "system":
            messages = [{"role": "system", "content": self.system}] + messages
        return self._template.render(messages=messages, add_generation_prompt=True, bos_token="", eos_token="")

    def generate(self, chats: list[list[dict]], max_new_tokens: int, adapter: bool,
                 cancel: CancelToken | None = None, progress=None) -> list[str]:
        self.gen.set_adapter(adapter)
        replies = self.gen.generate([self.chat_text(c) for c in chats], max_new_tokens, cancel,
                                    progress=(lambda done, total: progress(done)) if progress else None)
        return [text.strip() for text, _finished in replies]

    def _logprobs(self, ids: list[int], start: int, adapter: bool) -> np.ndarray:
        """Log-probabilities of tokens ``ids[start:]`` given everything before them."""
        logits = self.forced.logits(ids, adapter)[start - 1:len(ids) - 1].astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return logp

    def _tokens(self, text: str, special: bool) -> list[int]:
        llm = self.forced.llm
        return llm.tokenize(text.encode(), add_bos=False, special=special)

    def answer_logprob(self, chats: list[list[dict]], answers: list[str], adapter: bool,
                       cancel: CancelToken | None = None) -> list[float]:
        cancel = cancel or CancelToken()
        out = []
        for chat, answer in zip(chats, answers):
            cancel.raise_if_cancelled()
            prompt = self._tokens(self.chat_text(chat), True)
            reply = self._tokens(answer, False) or self._tokens(" ", False)
            logp = self._logprobs(prompt + reply, len(prompt), adapter)
            out.append(float(logp[np.arange(len(reply)), reply].mean()))
        return out

    def text_nll(self, text: str, adapter: bool, window: int = 512, cancel: CancelToken | None = None,
                 max_tokens: int | None = None) -> tuple[float, int]:
        cancel = cancel or CancelToken()
        ids = self._tokens(text, False)[:max_tokens]
        total, count = 0.0, 0
        for s in range(0, len(ids), window):
            piece = ids[s:s + window]
            if len(piece) < 2:
                continue
            cancel.raise_if_cancelled()
            logp = self._logprobs(piece, 1, adapter)
            total -= float(logp[np.arange(len(piece) - 1), piece[1:]].sum())
            count += len(piece) - 1
        return total, count

    def kl(self, chats: list[list[dict]], replies: list[str], cancel: CancelToken | None = None) -> float | None:
        if not self.has_adapter:
            return 0.0
        cancel = cancel or CancelToken()
        total, count = 0.0, 0
        for chat, reply in zip(chats, replies):
            cancel.raise_if_cancelled()
            prompt = self._tokens(self.chat_text(chat), True)
            ids = prompt + (self._tokens(reply, False)[:64] or self._tokens(" ", False))
            p = self._logprobs(ids, len(prompt), False)
            q = self._logprobs(ids, len(prompt), True)
            total += float((np.exp(p) * (p - q)).sum())
            count += p.shape[0]
        return total / count if count else None
