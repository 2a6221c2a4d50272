"""Chat through llama-cpp-python: a base GGUF plus a GGUF LoRA switched on and off at run time.

Base vs tuned uses one loaded model: ``llama_set_adapters_lora`` with no adapters gives the
base, and the KV cache is cleared after every switch (cached keys were computed by the other
weights). Prompts use the chat template and stop tokens stored with the run, like training.
"""
from __future__ import annotations

import ctypes
import functools
import json
import os
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from core.config import ChatConfig
from core.events import CancelToken
from core.project import Project


@functools.lru_cache(maxsize=None)
def avoid_amx_repack() -> bool:
    """On CPUs with AMX, load weights without llama.cpp's extra (repacking) buffer types.

    The llama.cpp bundled with llama-cpp-python 0.3.36, built with GGML_NATIVE on an AMX CPU
    (Sapphire Rapids and newer Xeons), repacks Q4_1/Q8_0 weights into its AMX buffer at load and
    then crashes the whole process (SIGSEGV in llama_decode) on the first prompt: seen here on the
    embedded Q4_1 SmolLM2 and in CI. Every model load goes through ``llama_model_default_params``
    (the high-level ``Llama`` too), so that is where the switch is turned off, once per process,
    and only where the build reports AMX: elsewhere the repacked kernels are the fast path.
    Returns whether the workaround is on.
    """
    import llama_cpp.llama_cpp as lib

    if "AMX_INT8 = 1" not in lib.llama_print_system_info().decode(errors="replace"):
        return False
    default_params = lib.llama_model_default_params

    def params_without_amx():
        params = default_params()
        params.use_extra_bufts = False
        return params

    lib.llama_model_default_params = params_without_amx
    import llama_cpp
    llama_cpp.llama_model_default_params = params_without_amx  # the name `from llama_cpp import *` copied
    return True


@functools.lru_cache(maxsize=None)
def quiet_llama_logs():
    """Route llama.cpp's own logging (load and quantize chatter) to nowhere; errors still raise.
    Also the AMX guard above: every place that loads a model calls this first."""
    avoid_amx_repack()
    import llama_cpp

    @llama_cpp.llama_log_callback
    def silent(level, text, user_data):
        pass

    llama_cpp.llama_log_set(silent, ctypes.c_void_p(0))
    return silent  # the callback must stay referenced for as long as llama.cpp may call it


def physical_cores() -> int:
    try:
        import psutil
        return psutil.cpu_count(logical=False) or 1
    except ImportError:  # psutil comes with accelerate; this is only a fallback
        return max(1, (os.cpu_count() or 2) // 2)


def fast_gguf(path: str | Path, max_bytes: int = 1 << 30) -> Path:
    """An F16 copy of a small quantized GGUF (made once, cached by content), or the file itself.

    A model this small keeps a CPU busy with arithmetic, and llama.cpp has no fast matrix kernel
    for Q4_1 (it quantizes the activations to 8 bits and dots row by row): on this 2-core machine
    the embedded SmolLM2 prefilled 93-105 tok/s per core in Q4_1, 210-240 in F16 (about torch's
    speed), and 12 qa + 6 paraphrase prompts took 18-19 s + 34-36 s in Q4_1, 11-12 s + 29-31 s
    in F16 (Q8_0: 11 s + 34 s). F16 also holds the Q4_1 values almost exactly, like the f32
    weights transformers dequantizes: 12 of 12 questions and 5 of 6 paraphrases came out word for
    word as transformers wrote them (Q4_1 5 and 0, Q8_0 3 and 0). A model whose F16 copy would
    pass ``max_bytes`` is used as it is: there memory matters more.
    """
    import llama_cpp as lib

    from core.models import cache_root, file_sha256

    path = Path(path)
    quiet_llama_logs()
    params = lib.llama_model_default_params()
    params.vocab_only = True  # the header is enough: size and file type
    model = lib.llama_model_load_from_file(str(path).encode(), params)
    if not model:
        raise ValueError(f"{path}: llama.cpp cannot read this GGUF")
    try:
        n_params = lib.llama_model_n_params(model)
        value = ctypes.create_string_buffer(16)
        known = lib.llama_model_meta_val_str(model, b"general.file_type", value, len(value)) > 0
    finally:
        lib.llama_model_free(model)
    # llama_ftype 0 (all F32), 1 (mostly F16), 32 (mostly BF16) are fast already; unknown: leave it
    if not known or int(value.value or 0) in (0, 1, 32) or 2 * n_params > max_bytes:
        return path
    target = cache_root() / "converted" / f"{path.stem}-{file_sha256(path)[:16]}.f16.gguf"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".partial")
        q = lib.llama_model_quantize_default_params()
        q.ftype, q.allow_requantize, q.nthread = lib.LLAMA_FTYPE_MOSTLY_F16, True, physical_cores()
        if lib.llama_model_quantize(str(path).encode(), str(tmp).encode(), q) != 0 or not tmp.exists():
            tmp.unlink(missing_ok=True)
            raise ValueError(f"{path}: llama.cpp could not convert it to F16")
        os.replace(tmp, target)
    return target


class Threads:
    """The thread count for the next decode: all cores, or one while other processes hold them.

    llama.cpp's threads meet at an OpenMP barrier after every graph node, and libgomp spins there:
    when another process holds a core, the spinning thread burns its time slice waiting for the
    descheduled one. On this 2-core machine 12 qa prompts took 10 s with 2 threads and 19 s with
    1 on idle cores, but 120 s with 2 and 18 s with 1 while another job ran. libgomp fixes its
    spin policy when it loads (torch loads it first), so the count follows CPU accounting over
    ~0.25 s of decodes instead, no probing: with all threads, the cores this process really got
    (CPU time / wall time); with one, whether the other cores stayed idle.
    """

    WINDOW = 0.25  # seconds of decoding per decision
    crowded = False  # what the last decision found: a new model starts from it, not from "idle"

    def __init__(self, most: int, adapt: bool = True) -> None:
        self.most = self.current = most
        try:
            import psutil
            self._idle = lambda: psutil.cpu_times().idle  # all cores together
        except ImportError:
            adapt = False
        self.adapt = adapt and most > 1
        if self.adapt and Threads.crowded:
            self.current = 1
        self._reset()

    def _reset(self) -> None:
        self.wall = self.cpu = self.idle = 0.0

    def measure(self, decode: Callable[[], None]) -> None:
        if not self.adapt:
            return decode()
        since = self.mark()
        decode()
        self.observe(since)

    def mark(self) -> tuple[float, float, float]:
        """Where the clocks stand now; ``observe(mark)`` later counts what happened in between."""
        return (time.perf_counter(), time.process_time(), self._idle()) if self.adapt else (0.0, 0.0, 0.0)

    def observe(self, since: tuple[float, float, float]) -> None:
        """Count the decoding since ``since`` and decide the thread count when a window is full."""
        if not self.adapt:
            return
        wall, cpu, idle = since
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu
        self.idle += self._idle() - idle
        if self.wall < self.WINDOW:
            return
        if self.current > 1 and self.cpu / self.wall < self.current - 0.5:
            self.current = 1  # the other threads were descheduled much of the time
        elif self.current == 1 and self.idle / self.wall > 0.75 * (self.most - 1):
            self.current = self.most  # the other cores have been idle: use them again
        Threads.crowded = self.current == 1
        self._reset()


class LlamaCppModel:
    """A llama.cpp model with an optional LoRA adapter that can be enabled per call."""

    def __init__(self, base_gguf: str | Path, adapter_gguf: str | Path | None = None, n_ctx: int = 2048,
                 logits_all: bool = False) -> None:
        import llama_cpp

        self._lib = llama_cpp
        quiet_llama_logs()
        for path in (base_gguf, adapter_gguf):
            if path is not None and not Path(path).exists():
                raise FileNotFoundError(f"{path}: no such GGUF file")
        self.llm = llama_cpp.Llama(str(base_gguf), n_ctx=n_ctx, n_threads=physical_cores(),
                                   logits_all=logits_all, lora_path=str(adapter_gguf) if adapter_gguf else None,
                                   verbose=False)
        self.has_adapter = adapter_gguf is not None
        self._adapter_on = self.has_adapter
        self.threads = Threads(physical_cores())  # one thread while other processes hold the cores
        self._threads_set = self.threads.most

    def apply_threads(self) -> None:
        """Give llama.cpp the thread count ``self.threads`` decided (prompt and decode alike)."""
        if self.threads.current != self._threads_set:
            self._threads_set = self.threads.current
            self._lib.llama_set_n_threads(self.llm._ctx.ctx, self._threads_set, self._threads_set)

    def set_adapter(self, on: bool) -> None:
        on = on and self.has_adapter
        if on == self._adapter_on:
            return
        ctx = self.llm._ctx.ctx
        if on:
            adapters = (self._lib.llama_adapter_lora_p_ctypes * 1)(self.llm._lora_adapter)
            scales = (ctypes.c_float * 1)(self.llm.lora_scale)
            self._lib.llama_set_adapters_lora(ctx, adapters, 1, scales)
        else:
            self._lib.llama_set_adapters_lora(ctx, None, 0, None)
        self._adapter_on = on
        self.reset()

    def reset(self) -> None:
        """Forget the KV cache (after an adapter switch its keys/values belong to other weights)."""
        self.llm.reset()
        self._lib.llama_memory_clear(self._lib.llama_get_memory(self.llm._ctx.ctx), True)

    def logits(self, token_ids: list[int], adapter: bool = True) -> np.ndarray:
        """Teacher-forced logits for every position (needs ``logits_all=True``)."""
        self.set_adapter(adapter)
        self.reset()
        self.llm.eval(token_ids)
        return np.array(self.llm.scores[:len(token_ids)], dtype=np.float32)


class LlamaCppChat:
    """Same interface as TransformersChat: ``messages()``, ``stream()``, ``reply()``."""

    def __init__(self, base_gguf: str | Path, adapter_gguf: str | Path | None, run_info: dict | None = None) -> None:
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        run_info = run_info or {}
        self.model = LlamaCppModel(base_gguf, adapter_gguf)
        self.has_adapter = self.model.has_adapter
        self.default_system = run_info.get("system_prompt", "")
        self.stop_tokens = run_info.get("stop_tokens") or []
        template = run_info.get("chat_template") or self.model.llm.metadata.get("tokenizer.chat_template")
        self._template = ImmutableSandboxedEnvironment().from_string(template) if template else None
        self._lock = threading.Lock()

    @classmethod
    def from_run(cls, project: Project, run: str | None = None) -> "LlamaCppChat":
        run_dir = project.run_dir(run)
        info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
        export = project.root / "exports" / run_dir.name
        adapter = export / "adapter.gguf"
        base_path = export / "base.txt"
        if not adapter.exists() or not base_path.exists():
            raise FileNotFoundError(f"{run_dir}: no GGUF export yet; run `python main.py export --project "
                                    f"{project.root} --run {run_dir.name}` first")
        return cls(base_path.read_text(encoding="utf-8").strip(), adapter, info)

    def messages(self, prompt: str, config: ChatConfig, history: list[dict] | None = None) -> list[dict]:
        system = config.system_prompt or self.default_system
        head = [{"role": "system", "content": system}] if system else []
        return head + list(history or []) + [{"role": "user", "content": prompt}]

    def render(self, messages: list[dict]) -> str:
        if self._template is None:
            raise ValueError("the model has no chat template")
        return self._template.render(messages=messages, add_generation_prompt=True, bos_token="", eos_token="")

    def stream(self, messages: list[dict], config: ChatConfig | None = None, adapter: bool = True,
               cancel: CancelToken | None = None) -> Iterator[str]:
        config = config or ChatConfig()
        cancel = cancel or CancelToken()
        prompt = self.render(messages)
        with self._lock:
            # (no reset: llama.cpp keeps the KV cache of the tokens this prompt shares with the last
            # one — system prompt, earlier turns — so the first token comes sooner; an adapter switch
            # resets it, as those keys and values belong to other weights)
            self.model.set_adapter(adapter)
            threads = self.model.threads
            self.model.apply_threads()
            pieces = self.model.llm.create_completion(
                prompt, max_tokens=config.max_new_tokens, temperature=config.temperature,
                top_p=config.top_p if config.temperature > 0 else 1.0, repeat_penalty=config.repetition_penalty,
                stop=self.stop_tokens or None, stream=True)
            since = threads.mark()
            for chunk in pieces:
                # each piece is one decode: the same accounting as the batched writer, so a reply
                # goes on with one thread when another process takes a core (2 spinning threads
                # on 1 free core decoded 3x slower than 1 thread, measured with bench/chat.py)
                threads.observe(since)
                self.model.apply_threads()
                since = threads.mark()
                if cancel.cancelled:
                    break
                text = chunk["choices"][0]["text"]
                if text:
                    yield text

    def reply(self, prompt: str, config: ChatConfig | None = None, adapter: bool = True) -> str:
        config = config or ChatConfig()
        return "".join(self.stream(self.messages(prompt, config), config, adapter)).strip()
