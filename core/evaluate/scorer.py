"""The model under test through transformers (+ PEFT): batched greedy answers and log-likelihoods.

One loaded model answers for both sides of every comparison: the adapter switched on is the
tuned model, switched off (``disable_adapter``) the base — the same weights in memory, so base
and tuned differ only by the LoRA. A model without an adapter is simply the base.

What it computes, each batched and cancellable between batches:
- ``generate``: greedy replies to chats (left-padded batches sorted by length, so little padding),
  stopping at the chat template's end-of-turn tokens;
- ``answer_logprob``: mean log-probability per token of a given answer after a chat prompt
  (teacher-forced, no sampling: the cheap, smooth score that moves before answers flip);
- ``text_nll``: summed negative log-likelihood of plain text (perplexity of a reference text);
- ``kl``: mean KL(base ‖ tuned) of next-token distributions over given chats' positions.
The llama.cpp scorer (``llamacpp_scorer.py``) offers the same methods for exported GGUF files.
"""
from __future__ import annotations

import math
from contextlib import nullcontext
from pathlib import Path

from core.events import CancelToken
from core.train.fused import plain_attention


class TransformersScorer:
    name = "transformers"

    def __init__(self, model, tokenizer, device: str = "cpu", stop_tokens: list[str] | None = None,
                 batch_size: int = 16, autocast: str | None = None) -> None:
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self.has_adapter = hasattr(model, "disable_adapter") and hasattr(model, "peft_config")
        stops = stop_tokens or [tokenizer.eos_token]
        self.stop_ids = [i for i in tokenizer.convert_tokens_to_ids(stops) if i is not None]
        self.batch_size = batch_size
        self.autocast = autocast
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (self.stop_ids or [0])[0]
        self.system = ""  # the run's system prompt, put before every question (both sides alike)
        weights = next(model.parameters(), None)
        self.precision = "bf16" if weights is not None and str(weights.dtype) == "torch.bfloat16" else "fp32"

    # ---------------------------------------------------------------- loading
    @classmethod
    def load(cls, load_dir: str, adapter_dir: Path | None = None, chat_template: str | None = None,
             stop_tokens: list[str] | None = None, device: str = "auto", batch_size: int = 16,
             precision: str = "fp32") -> "TransformersScorer":
        """``precision`` "bf16" loads the weights (and the adapter) in bf16: on a CPU with AMX or
        AVX-512 bf16 a batch of 64 replies decodes ~3.5× faster than llama.cpp's F16 (measured)."""
        import torch

        from core.models import ResolvedModel, load_model, load_tokenizer, pick_device

        device = pick_device(device)
        resolved = ResolvedModel(load_dir, "hf_dir", load_dir, Path(load_dir).name)
        tokenizer = load_tokenizer(resolved)
        if chat_template:
            tokenizer.chat_template = chat_template
        model = load_model(resolved, device, dtype=torch.bfloat16 if precision == "bf16" else None)
        if adapter_dir is not None:
            from peft import PeftModel
            model = PeftModel.from_pretrained(model, str(adapter_dir))
            if precision == "bf16":
                model.to(torch.bfloat16)  # PEFT loads LoRA weights in fp32: one dtype, no casts per matmul
        model.eval()
        return cls(model, tokenizer, device, stop_tokens, batch_size)

    def side(self, adapter: bool):
        """Context in which the model is the tuned (adapter on) or the base (off) model."""
        if adapter or not self.has_adapter:
            return nullcontext()
        return self.model.disable_adapter()

    def _amp(self):
        import torch
        if self.autocast:
            return torch.autocast(self.device.split(":")[0], dtype=getattr(torch, self.autocast))
        return nullcontext()

    def chat_text(self, messages: list[dict]) -> str:
        if self.system and messages and messages[0]["role"] != "system":
            messages = [{"role": "system", "content": self.system}] + messages
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    # ---------------------------------------------------------------- generation

    def generate(self, chats: list[list[dict]], max_new_tokens: int, adapter: bool,
                 cancel: CancelToken | None = None, progress=None) -> list[str]:
        """Greedy replies, in the order given; ``progress(n_done)`` after each batch."""
        import torch

        cancel = cancel or CancelToken()
        tok = self.tokenizer
        texts = [self.chat_text(c) for c in chats]
        ids = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        replies: list[str] = [""] * len(ids)
        done = 0
        was_training = self.model.training
        self.model.eval()
        try:
            with self.side(adapter), torch.no_grad(), self._amp(), plain_attention(self.model):
                # rows × (prompt + reply) within a token budget: long open-book prompts go ~16 at a
                # time (padding and the attention over them grow with the batch), short ones 64
                for batch in self._token_batches(order, [len(x) + max_new_tokens for x in ids], 16384):
                    cancel.raise_if_cancelled()
                    width = max(len(ids[i]) for i in batch)
                    input_ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
                    mask = torch.zeros((len(batch), width), dtype=torch.long)
                    for row, i in enumerate(batch):  # left padding: new tokens line up at the right edge
                        input_ids[row, width - len(ids[i]):] = torch.tensor(ids[i])
                        mask[row, width - len(ids[i]):] = 1
                    out = self.model.generate(input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device),
                                         max_new_tokens=max_new_tokens, do_sample=False, temperature=None,
                                         top_p=None, top_k=None, eos_token_id=self.stop_ids or None,
                                         pad_token_id=self.pad_id, use_cache=True)
                    for row, i in enumerate(batch):
                        replies[i] = tok.decode(out[row, width:], skip_special_tokens=True).strip()
                    done += len(batch)
                    if progress:
                        progress(done)
        finally:
            self.model.train(was_training)
        return replies

    # ---------------------------------------------------------------- likelihoods
    def forward_batches(self, sequences: list[tuple[list[int], int]], adapter: bool, cancel: CancelToken | None):
        """Yield (index, log-probs of each token after position ``start``, the tokens) for (ids, start) pairs,
        batched and sorted by length; public so other stages (the lab's data scoring) score with it too."""
        import torch

        cancel = cancel or CancelToken()
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i][0]))
        was_training = self.model.training
        self.model.eval()
        try:
            with self.side(adapter), torch.no_grad(), self._amp(), plain_attention(self.model):
                for batch in self._token_batches(order, [len(s[0]) for s in sequences]):
                    cancel.raise_if_cancelled()
                    width = max(len(sequences[i][0]) for i in batch)
                    input_ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
                    mask = torch.zeros((len(batch), width), dtype=torch.long)
                    for row, i in enumerate(batch):
                        n = len(sequences[i][0])
                        input_ids[row, :n] = torch.tensor(sequences[i][0])
                        mask[row, :n] = 1
                    logits = self.model(input_ids=input_ids.to(self.device),
                                        attention_mask=mask.to(self.device)).logits.float()
                    for row, i in enumerate(batch):
                        ids, first = sequences[i]
                        n = len(ids)
                        # position p predicts token p+1: logits[first-1 : n-1] score tokens first..n-1
                        logp = torch.log_softmax(logits[row, first - 1:n - 1], dim=-1)
                        yield i, logp, torch.tensor(ids[first:n], device=logp.device)
        finally:
            self.model.train(was_training)

    def _token_batches(self, order: list[int], lengths: list[int], budget: int = 8192):
        """Consecutive slices of ``order`` with at most ``batch_size`` rows and, past one row, at most
        ``budget`` padded tokens: every position keeps a vocabulary-wide row of logits (8k tokens of
        a 49k vocabulary are 1.6 GB in fp32), so long open-book prompts go a few at a time."""
        batch: list[int] = []
        for i in order:  # sorted by length: the last row added is the widest
            if batch and (len(batch) >= self.batch_size or (len(batch) + 1) * lengths[i] > budget):
                yield batch
                batch = []
            batch.append(i)
        if batch:
            yield batch

    def answer_logprob(self, chats: list[list[dict]], answers: list[str], adapter: bool,
                       cancel: CancelToken | None = None) -> list[float]:
        """Mean log-probability per token of each answer as the assistant's reply to its chat."""
        sequences = []
        for chat, answer in zip(chats, answers):
            prompt = self.tokenizer(self.chat_text(chat), add_special_tokens=False)["input_ids"]
            reply = self.tokenizer(answer, add_special_tokens=False)["input_ids"] or [self.pad_id]
            sequences.append((prompt + reply, len(prompt)))
        out = [0.0] * len(sequences)
        for i, logp, targets in self.forward_batches(sequences, adapter, cancel):
            out[i] = float(logp.gather(1, targets[:, None]).mean())
        return out

    def text_nll(self, text: str, adapter: bool, window: int = 512, cancel: CancelToken | None = None,
                 max_tokens: int | None = None) -> tuple[float, int]:
        """(summed NLL, tokens) of plain text (its first ``max_tokens`` tokens), in windows of
        ``window`` tokens (each scored after its first token)."""
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"][:max_tokens]
        pieces = [(ids[s:s + window], 1) for s in range(0, len(ids), window) if len(ids[s:s + window]) > 1]
        total, count = 0.0, 0
        for _i, logp, targets in self.forward_batches(pieces, adapter, cancel):
            total -= float(logp.gather(1, targets[:, None]).sum())
            count += len(targets)
        return total, count

    def kl(self, chats: list[list[dict]], replies: list[str], cancel: CancelToken | None = None) -> float | None:
        """Mean KL(base ‖ tuned) per token over the replies' positions (teacher-forced)."""
        if not self.has_adapter:
            return 0.0
        sequences = []
        for chat, reply in zip(chats, replies):
            prompt = self.tokenizer(self.chat_text(chat), add_special_tokens=False)["input_ids"]
            answer = self.tokenizer(reply, add_special_tokens=False)["input_ids"][:64] or [self.pad_id]
            sequences.append((prompt + answer, len(prompt)))
        total, count = 0.0, 0
        for g in range(0, len(sequences), self.batch_size):  # a batch at a time: vocab-wide rows are big
            group = sequences[g:g + self.batch_size]
            base = {i: logp for i, logp, _t in self.forward_batches(group, False, cancel)}
            for i, logp, _t in self.forward_batches(group, True, cancel):
                p = base.pop(i)
                total += float((p.exp() * (p - logp)).sum())
                count += p.shape[0]
        return total / count if count else None


def perplexity(nll: float, count: int) -> float | None:
    return round(math.exp(nll / count), 3) if count else None
