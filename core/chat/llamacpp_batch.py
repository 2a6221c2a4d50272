"""Many prompts at once through llama.cpp: one context, one sequence per prompt in flight.

``LlamaCppBatch.generate()`` writes replies for a list of chat-rendered prompts (the generated
formats' questions, answers and paraphrases, evaluation answers). Up to ``n_parallel`` sequences
share one context and every step is one ``llama_decode`` for all of them; a finished sequence's
KV is freed and its slot refilled from the queue at once (continuous batching), so a long reply
never holds short ones back. Prompt tokens ride in the same decode calls as the running
sequences' new tokens, up to ``n_batch`` tokens a call.

Prompt prefixes are evaluated once: the prompts' common prefix (the worked example every ask
starts with) goes into a spare sequence first, and a new prompt copies the KV of whichever
sequence shares most of its start (that prefix, or another prompt about the same passage) with
``llama_memory_seq_cp`` before its own tokens are decoded.

Sampling mirrors ``BatchGenerator``: greedy at temperature 0 (deterministic), otherwise
temperature + top-p 0.9 from a generator seeded per prompt; a repetition penalty of 1.1 over the
prompt and the reply, as transformers applies it. Both in numpy on the step's logits: penalty +
argmax took 17 µs a token, a llama.cpp sampler chain (penalties + greedy) 880 µs.

Measured on this 2-core CPU (SmolLM2-135M in F16, see writers.fast_gguf; the machine was shared
with other jobs, so CPU seconds where wall time would mostly measure the neighbours):
  - prefix sharing: 12 qa prompts (~330 tokens each) decoded 1708 tokens instead of 3962, in
    12 s instead of 23 s;
  - n_parallel, 32 paraphrases (one thread; CPU s, two rounds): 8 → 105, 16 → 105, 32 → 121,
    64 → 118; a token costs the same CPU from 8 sequences up, and more sequences only mean
    fewer, larger decodes (less per-step overhead with 2 threads, a shorter tail);
  - 63 qa prompts (one thread; CPU s, two rounds): n_parallel 8 → 50/48, 16 → 48/47,
    32 → 49/46; n_batch 256 → 50/48, 512 → 48/47, 1024 → 49/46: no difference worth a setting;
  - threads: 12 qa prompts took 10 s with 2 threads and 19 s with 1 on idle cores; with another
    job running, 120 s with 2 and 18 s with 1 (hence llamacpp_backend.Threads);
  - flash attention: slower (16 sequences: 322 vs 252 ms a decode); KV in one unified buffer:
    prefill 166-176 vs 209-256 tok/s (every token attends over all sequences' cells, masked).
"""
from __future__ import annotations

import ctypes
import threading
import weakref
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from core.chat.llamacpp_backend import Threads, physical_cores, quiet_llama_logs
from core.events import CancelToken

REPETITION_PENALTY = 1.1   # BatchGenerator's (transformers' repetition_penalty)
TOP_P = 0.9                # generate.py's sampling
MIN_SHARED = 16            # a shared prefix shorter than this is cheaper to decode than to copy


@dataclass(eq=False)  # compared by identity: slots.index() finds this very sequence
class _Seq:
    """One prompt in flight: its tokens (prompt, then reply) and how many of them are in the KV."""
    index: int                      # position in the caller's list
    tokens: list[int]
    n_prompt: int
    done: int = 0                   # tokens whose KV is computed (the rest go into the next decodes)
    text: bytes = b""
    seen: np.ndarray | None = None  # token ids the repetition penalty applies to
    rng: np.random.Generator | None = None


class _Batch:
    """A llama_batch over numpy arrays: filled with slicing, not a ctypes call per token."""

    def __init__(self, lib, capacity: int) -> None:
        self.token = np.zeros(capacity, np.int32)
        self.pos = np.zeros(capacity, np.int32)
        self.seq = np.zeros(capacity, np.int32)
        self.n_seq = np.ones(capacity, np.int32)
        self.logits = np.zeros(capacity, np.int8)
        # seq_id is an array of pointers (a token may belong to several sequences); each points
        # into self.seq, so one sequence id per token is set with numpy too
        self.seq_ptrs = (ctypes.POINTER(ctypes.c_int32) * capacity)(
            *[ctypes.cast(self.seq.ctypes.data + 4 * i, ctypes.POINTER(ctypes.c_int32)) for i in range(capacity)])
        as_ptr = lambda a, t: a.ctypes.data_as(ctypes.POINTER(t))  # noqa: E731
        self.struct = lib.llama_batch(0, as_ptr(self.token, ctypes.c_int32), None, as_ptr(self.pos, ctypes.c_int32),
                                      as_ptr(self.n_seq, ctypes.c_int32), self.seq_ptrs,
                                      as_ptr(self.logits, ctypes.c_int8))
        self.n = 0

    def add(self, seq_id: int, tokens: list[int], start: int, want_logits: bool) -> None:
        k, end = len(tokens), self.n + len(tokens)
        self.token[self.n:end] = tokens
        self.pos[self.n:end] = np.arange(start, start + k)
        self.seq[self.n:end] = seq_id
        self.logits[self.n:end] = 0
        self.logits[end - 1] = want_logits
        self.n = self.struct.n_tokens = end


def _free(lib, ctx_box: list, model) -> None:
    if ctx_box[0]:
        lib.llama_free(ctx_box[0])
        ctx_box[0] = None
    lib.llama_model_free(model)


class LlamaCppBatch:
    """A GGUF model (+ optional LoRA, switched per call) writing replies for many prompts at once."""

    def __init__(self, base_gguf: str | Path, adapter_gguf: str | Path | None = None, n_parallel: int = 16,
                 n_batch: int = 512, n_threads: int | None = None, stop: list[str] | tuple[str, ...] = (),
                 repetition_penalty: float = REPETITION_PENALTY, share_prefixes: bool = True) -> None:
        import llama_cpp

        self._lib = lib = llama_cpp
        quiet_llama_logs()
        for path in (base_gguf, adapter_gguf):
            if path is not None and not Path(path).exists():
                raise FileNotFoundError(f"{path}: no such GGUF file")
        lib.llama_backend_init()
        self.model = lib.llama_model_load_from_file(str(base_gguf).encode(), lib.llama_model_default_params())
        if not self.model:
            raise ValueError(f"{base_gguf}: llama.cpp cannot load this GGUF")
        self._ctx = [None]  # boxed so the finalizer frees the context current at exit
        self._finalizer = weakref.finalize(self, _free, lib, self._ctx, self.model)
        self.vocab = lib.llama_model_get_vocab(self.model)
        self.n_vocab = lib.llama_vocab_n_tokens(self.vocab)
        self.adapter = None
        if adapter_gguf is not None:
            # freed with the model; kept referenced here for as long as the model lives
            self.adapter = lib.llama_adapter_lora_init(self.model, str(adapter_gguf).encode())
            if not self.adapter:
                raise ValueError(f"{adapter_gguf}: llama.cpp cannot load this LoRA adapter for {base_gguf}")
        self.has_adapter = self.adapter is not None
        self._adapter_on = False
        self.n_parallel, self.n_threads = max(1, n_parallel), n_threads or physical_cores()
        # a count given by the caller is kept; the default adapts to what the cores are doing
        self._threads, self._threads_set = Threads(self.n_threads, adapt=n_threads is None), self.n_threads
        self.n_batch = max(n_batch, self.n_parallel)  # every running sequence's next token fits one decode
        self.n_ctx_seq = 0
        self.repetition_penalty, self.share_prefixes = repetition_penalty, share_prefixes
        self.stop_ids, self.stop_texts = set(), []
        for s in stop:
            ids = self.tokenize(s)
            if len(ids) == 1:
                self.stop_ids.add(ids[0])
            elif s:
                self.stop_texts.append(s.encode())
        self._pieces: dict[int, bytes] = {}
        # what the calls cost: decode calls, tokens decoded, prompt tokens copied instead of decoded
        self.stats = {"decodes": 0, "tokens": 0, "shared": 0}
        self._lock = threading.Lock()
        self.set_adapter(self.has_adapter)

    @property
    def threads(self) -> int:
        """Threads the next decode will use (see llamacpp_backend.Threads)."""
        return self._threads.current

    # -- model ------------------------------------------------------------------------------
    def set_adapter(self, on: bool) -> None:
        """LoRA on or off for the following calls (every call starts with an empty KV cache)."""
        self._adapter_on = on and self.has_adapter
        if self._ctx[0]:
            self._apply_adapter()

    def _apply_adapter(self) -> None:
        lib = self._lib
        if self._adapter_on:
            adapters = (lib.llama_adapter_lora_p_ctypes * 1)(self.adapter)
            lib.llama_set_adapters_lora(self._ctx[0], adapters, 1, (ctypes.c_float * 1)(1.0))
        else:
            lib.llama_set_adapters_lora(self._ctx[0], None, 0, None)

    def _context(self, n_ctx_seq: int):
        """A context with room for n_ctx_seq tokens in each of n_parallel + 1 sequences (the +1
        holds the shared prefix); made again only when a call needs longer sequences."""
        lib = self._lib
        if self._ctx[0] and n_ctx_seq <= self.n_ctx_seq:
            return self._ctx[0]
        if self._ctx[0]:
            lib.llama_free(self._ctx[0])
            self._ctx[0] = None
        n_ctx_seq = max(512, -(-n_ctx_seq // 256) * 256)  # round up: the next call likely fits too
        params = lib.llama_context_default_params()
        params.n_seq_max = self.n_parallel + 1
        params.n_ctx = params.n_seq_max * n_ctx_seq
        params.n_batch = params.n_ubatch = self.n_batch
        params.n_threads = params.n_threads_batch = self.n_threads
        # one KV buffer per sequence: a token's attention reads only its own sequence's cells
        params.kv_unified = False
        # flash attention off: slower here, and the greedy text is then the same as llama.cpp's
        # one-sequence path (whose default it is)
        params.flash_attn_type = lib.LLAMA_FLASH_ATTN_TYPE_DISABLED
        params.no_perf = True
        ctx = lib.llama_init_from_model(self.model, params)
        if not ctx:
            raise MemoryError(f"llama.cpp could not make a context of {params.n_ctx} tokens")
        self._ctx[0], self.n_ctx_seq = ctx, lib.llama_n_ctx_seq(ctx)
        self._threads_set = self.n_threads
        self._apply_adapter()
        return ctx

    def tokenize(self, text: str) -> list[int]:
        """Chat-rendered text: special tokens written as text are parsed; BOS only if the model
        wants one and the text does not start with it already."""
        lib, data = self._lib, text.encode()
        buf = (lib.llama_token * (len(data) + 2))()
        n = lib.llama_tokenize(self.vocab, data, len(data), buf, len(buf), False, True)
        tokens = list(buf[:n])
        if lib.llama_vocab_get_add_bos(self.vocab):
            bos = lib.llama_vocab_bos(self.vocab)
            if not tokens or tokens[0] != bos:
                tokens.insert(0, bos)
        return tokens

    def piece(self, token: int) -> bytes:
        """The token's text (empty for control tokens such as <|im_end|>)."""
        if token not in self._pieces:
            buf = ctypes.create_string_buffer(64)
            n = self._lib.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, False)
            if n < 0:
                buf = ctypes.create_string_buffer(-n)
                n = self._lib.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, False)
            self._pieces[token] = buf.raw[:n]
        return self._pieces[token]

    # -- generation -------------------------------------------------------------------------
    def generate(self, texts: list[str], max_new_tokens: int, cancel: CancelToken | None = None,
                 temperature: float = 0.0, seed: int = 0,
                 progress: Callable[[int, int], None] | None = None) -> list[tuple[str, bool]]:
        """(reply, ended by a stop/end-of-generation token) per prompt, in the order given."""
        if max_new_tokens <= 0:
            return [("", False) for _ in texts]
        with self._lock:
            prompts = [self.tokenize(t) for t in texts]
            if not prompts:
                return []
            ctx = self._context(max(len(p) for p in prompts) + max_new_tokens + 1)
            mem = self._lib.llama_get_memory(ctx)
            self._lib.llama_memory_clear(mem, True)
            try:
                return self._run(ctx, mem, prompts, max_new_tokens, cancel, temperature, seed, progress)
            finally:
                self._lib.llama_memory_clear(mem, True)  # a cancelled call leaves nothing behind

    def _run(self, ctx, mem, prompts, max_new_tokens, cancel, temperature, seed, progress):
        lib, P = self._lib, self.n_parallel
        batch = _Batch(lib, self.n_batch)
        results: list[tuple[str, bool] | None] = [None] * len(prompts)
        queue = deque(range(len(prompts)))
        # sequence ids 0..P-1 are the prompts in flight; id P holds the prompts' common prefix
        slots: list[_Seq | None] = [None] * (P + 1)
        shared = _common_prefix(prompts) if self.share_prefixes and len(prompts) > 1 else 0
        if shared >= MIN_SHARED:
            slots[P] = _Seq(-1, prompts[0][:shared], shared)
        finished = 0
        while finished < len(prompts):
            if cancel is not None:
                cancel.raise_if_cancelled()
            # 1. refill free slots from the queue, each from the longest computed prefix there is
            for sid in range(P):
                if not queue:
                    break
                if slots[sid] is None and not self._admit(queue, sid, slots, prompts, mem, temperature, seed):
                    break  # the next prompt waits a step for a prefix being decoded right now
            # 2. one decode: the running sequences' last tokens, then prompt tokens up to n_batch
            batch.n = batch.struct.n_tokens = 0
            outputs = [s for s in slots[:P] if s is not None and s.done >= s.n_prompt]
            for s in outputs:
                batch.add(slots.index(s), [s.tokens[-1]], len(s.tokens) - 1, True)
            for sid in [P, *range(P)]:
                s, room = slots[sid], self.n_batch - batch.n
                if s is None or s.done >= s.n_prompt or room <= 0:
                    continue
                take = s.tokens[s.done:min(s.n_prompt, s.done + room)]
                last = s.done + len(take) == s.n_prompt and sid != P  # the prefix holder needs no logits
                batch.add(sid, take, s.done, last)
                s.done += len(take)
                if last:
                    outputs.append(s)
            if batch.n:
                if self._threads.current != self._threads_set:
                    self._threads_set = self._threads.current
                    lib.llama_set_n_threads(ctx, self._threads_set, self._threads_set)
                self._threads.measure(lambda: self._decode(ctx, batch))
                self.stats["decodes"], self.stats["tokens"] = self.stats["decodes"] + 1, self.stats["tokens"] + batch.n
            if not outputs:
                continue
            # 3. the next token of every sequence with logits this step (rows in batch order)
            logits = np.ctypeslib.as_array(lib.llama_get_logits(ctx), shape=(len(outputs), self.n_vocab))
            for row, s in zip(logits, outputs):
                s.done = len(s.tokens)
                token = self._pick(row, s, temperature)
                stop = token in self.stop_ids or lib.llama_vocab_is_eog(self.vocab, token)
                if not stop:
                    s.tokens.append(token)
                    s.text += self.piece(token)
                    cut = next((s.text.index(t) for t in self.stop_texts if t in s.text), None)
                    if cut is not None:
                        s.text, stop = s.text[:cut], True
                    elif s.seen is not None and token not in s.seen:
                        s.seen = np.union1d(s.seen, [token])
                if stop or len(s.tokens) - s.n_prompt >= max_new_tokens or len(s.tokens) >= self.n_ctx_seq:
                    results[s.index] = (s.text.decode("utf-8", errors="replace"), stop)
                    sid = slots.index(s)
                    slots[sid] = None
                    lib.llama_memory_seq_rm(mem, sid, -1, -1)  # frees its cells for the next prompt
                    finished += 1
                    if progress is not None:
                        progress(finished, len(prompts))
        return results

    def _decode(self, ctx, batch: _Batch) -> None:
        code = self._lib.llama_decode(ctx, batch.struct)
        if code != 0:
            raise RuntimeError(f"llama_decode failed ({code})")

    def _admit(self, queue, sid, slots, prompts, mem, temperature, seed) -> bool:
        """Put the next queued prompt into slot ``sid``, starting from the best computed prefix."""
        index = queue[0]
        tokens = prompts[index]
        limit = len(tokens) - 1  # the last prompt token is decoded here: its logits give the first reply token
        best, best_len, coming = None, 0, 0
        for did, d in enumerate(slots if self.share_prefixes else ()):
            if d is not None:
                common = min(_shared(d.tokens, tokens), limit)
                if d.done >= common > best_len:
                    best, best_len = did, common
                coming = max(coming, common)  # what a prompt still being decoded will have
        if best_len < MIN_SHARED:
            best, best_len = None, 0
        if coming - best_len >= MIN_SHARED:
            return False  # a longer prefix is decoded this very step: worth one step's wait
        queue.popleft()
        if best is not None:
            # between sequences with separate KV buffers the whole buffer is copied (just before
            # the next decode); the donor's tokens after the shared part are then dropped
            self._lib.llama_memory_seq_cp(mem, best, sid, -1, -1)
            self._lib.llama_memory_seq_rm(mem, sid, best_len, -1)
            self.stats["shared"] += best_len
        s = slots[sid] = _Seq(index, list(tokens), len(tokens), done=best_len)
        if self.repetition_penalty != 1.0:
            s.seen = np.unique(np.asarray(tokens, dtype=np.int64))
        if temperature > 0:
            s.rng = np.random.default_rng([seed, index])  # the same reply whatever else is in flight
        return True

    def _pick(self, row: np.ndarray, s: _Seq, temperature: float) -> int:
        if s.seen is not None:
            # transformers' repetition penalty: a seen token's logit is divided by the penalty
            # when positive, multiplied when negative
            vals = row[s.seen]
            row = row.copy()
            row[s.seen] = np.where(vals > 0, vals / self.repetition_penalty, vals * self.repetition_penalty)
        if temperature <= 0:
            return int(np.argmax(row))
        z = row / np.float32(temperature)
        probs = np.exp(z - z.max())
        probs /= probs.sum()
        # top-p among the tokens within a factor 1e4 of the likeliest (a sort of the whole
        # vocabulary per token is slow); should those hold less than top_p, among all
        top = np.flatnonzero(probs >= 1e-4 * probs.max())
        if probs[top].sum() < TOP_P:
            top = np.arange(len(probs))
        order = top[np.argsort(-probs[top], kind="stable")]
        cum = np.cumsum(probs[order], dtype=np.float64)
        keep = order[:int(np.searchsorted(cum, TOP_P)) + 1]
        p = probs[keep].astype(np.float64)
        return int(keep[s.rng.choice(len(keep), p=p / p.sum())])

    def close(self) -> None:
        self._finalizer()


def _shared(a: list[int], b: list[int]) -> int:
    """Length of the common start of two token lists."""
    n = min(len(a), len(b))
    if not n:
        return 0
    diff = np.flatnonzero(np.asarray(a[:n]) != np.asarray(b[:n]))
    return int(diff[0]) if len(diff) else n


def _common_prefix(prompts: list[list[int]]) -> int:
    n = min(len(p) for p in prompts) - 1
    for p in prompts[1:]:
        n = min(n, _shared(prompts[0][:n], p))
    return max(n, 0)
