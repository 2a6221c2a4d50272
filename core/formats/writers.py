"""Who writes the generated formats: llama.cpp when the base model is a GGUF, else transformers.

``load_writer()`` returns an object with ``BatchGenerator``'s interface (``__call__(prompts,
max_new_tokens, cancel, seed)``, ``model_id``, ``calls``, ``tokenizer``). For the embedded model
or a .gguf source that is ``LlamaCppWriter``: many sequences in one llama.cpp context
(core/chat/llamacpp_batch.py, on an F16 copy of a quantized GGUF: fast_gguf in
llamacpp_backend.py), about twice the samples/s of transformers' padded batches on a
CPU (2.2× in bench/formats.py on 6 chunks). Anything else — a Hugging Face folder, a hub id, a
GGUF llama.cpp cannot load, no llama-cpp-python — gets transformers' ``BatchGenerator``, with the reason logged.

The two write slightly different text (other kernels, F16 weights), so their records are kept
apart: a llama.cpp writer's ``model_id`` ends in ``|llama.cpp``, and generated.jsonl is keyed by it.
"""
from __future__ import annotations

import importlib.util

from core.chat.llamacpp_backend import fast_gguf
from core.config import FormatConfig
from core.events import CancelToken, Reporter, StageReporter
from core.formats.generate import BatchGenerator, model_identity
from core.formats.renderers import stop_tokens

LLAMA_CPP = "|llama.cpp"


class LlamaCppWriter:
    """BatchGenerator's interface over ``LlamaCppBatch``: chats in, (reply, ended by itself) out."""

    def __init__(self, batch, tokenizer, model_id: str, temperature: float = 0.0) -> None:
        self.batch, self.tokenizer, self.model_id, self.temperature = batch, tokenizer, model_id, temperature
        self.calls = 0
        # generate() hands over this many chunks a call: enough prompts to keep every sequence
        # slot busy (a qa chunk asks two), few enough that a cancel loses little
        self.chunks_per_call = batch.n_parallel

    @classmethod
    def load(cls, resolved, config: FormatConfig, **options) -> "LlamaCppWriter":
        from core.chat.llamacpp_batch import LlamaCppBatch
        from core.models import load_tokenizer

        tokenizer = load_tokenizer(resolved)
        batch = LlamaCppBatch(fast_gguf(resolved.gguf_path), stop=stop_tokens(tokenizer), **options)
        return cls(batch, tokenizer, model_identity(resolved) + LLAMA_CPP, config.gen_temperature)

    def __call__(self, prompts: list[str | list[dict]], max_new_tokens: int, cancel: CancelToken,
                 seed: int = 0) -> list[tuple[str, bool]]:
        """Reply text and whether it ended by itself (not at the token limit), per prompt."""
        texts = [self.tokenizer.apply_chat_template([{"role": "user", "content": p}] if isinstance(p, str) else p,
                                                    tokenize=False, add_generation_prompt=True) for p in prompts]
        replies = self.batch.generate(texts, max_new_tokens, cancel, self.temperature, seed)
        self.calls += 1
        return [(text.strip(), finished) for text, finished in replies]


def why_not_llama_cpp(resolved, backend: str = "auto", device: str = "auto") -> str | None:
    """Why this model is not written by llama.cpp (None: it is, unless the file fails to load)."""
    if backend == "transformers":
        return "transformers was asked for"
    if not resolved.gguf_path:
        return "the model is not a GGUF file"
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed"
    if backend == "auto" and device != "cpu":
        import llama_cpp

        from core.models import pick_device

        gpu = pick_device(device)
        if gpu != "cpu" and not llama_cpp.llama_supports_gpu_offload():  # a GPU beats a CPU by far
            return f"llama.cpp was built for the CPU only and PyTorch can use {gpu}"
    return None


def writer_identity(source: str, report: Reporter | None = None, backend: str = "auto", device: str = "auto") -> str:
    """The model_id ``load_writer(source)`` will have (unless llama.cpp fails to load the file),
    known without loading any weights: resuming a finished job loads nothing."""
    from core.models import resolve

    resolved = resolve(source, report)
    return model_identity(resolved) + ("" if why_not_llama_cpp(resolved, backend, device) else LLAMA_CPP)


def load_writer(source: str, config: FormatConfig, report: Reporter | None = None, backend: str = "auto",
                device: str = "auto"):
    """llama.cpp for a GGUF source (``backend='auto'`` or ``'llama.cpp'``), else transformers."""
    from core.models import resolve

    say = StageReporter(report, "format")
    resolved = resolve(source, report)
    why = why_not_llama_cpp(resolved, backend, device)
    if why is None:
        try:
            return LlamaCppWriter.load(resolved, config)
        except Exception as exc:  # a GGUF llama.cpp cannot load, no memory for the context …
            why = f"llama.cpp could not load {resolved.gguf_path} ({type(exc).__name__}: {exc})"
            say.warning(f"Generating with transformers: {why}")
    elif backend != "transformers":
        say.log(f"Generating with transformers: {why}")
    if backend == "llama.cpp":
        raise RuntimeError(f"llama.cpp writer: {why}")
    return BatchGenerator.load(source, config, report, device=device)
