"""PEFT LoRA adapter → llama.cpp GGUF LoRA adapter, with the ``gguf`` package only (no torch).

llama.cpp's adapter format: ``general.type=adapter``, ``adapter.type=lora``, ``adapter.lora.alpha``;
for every adapted weight ``W`` of the base GGUF (say ``blk.0.attn_q.weight``) two tensors
``blk.0.attn_q.weight.lora_a`` (PEFT's A, shape r×in) and ``….lora_b`` (B, out×r). llama.cpp scales
B·A by ``alpha / r`` with r read from A, so anything else PEFT does to the scale (rsLoRA,
per-module alpha or rank) is folded into B here.

The llama family's HF→GGUF converter permutes the rows of q and k for its rotary layout; the
rows of lora_B must get the same permutation (n_head for q, n_kv_head for k) or the adapter
silently computes something else. Architectures whose converter does not permute must not be.
"""
from __future__ import annotations

import json
import math
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Architectures whose llama.cpp converter permutes attn_q/attn_k rows (LlamaModel and kin).
PERMUTED_ARCHS = {"llama"}
# Architectures known to keep HF's row order for q/k.
UNPERMUTED_ARCHS = {"qwen2", "qwen3", "qwen2moe", "gemma", "gemma2", "gemma3", "phi3", "stablelm", "starcoder2",
                    "olmo", "olmo2", "granite"}
ADAPTER_TYPES = ("f32", "f16", "q8_0")


class ExportError(RuntimeError):
    """The adapter cannot be exported as asked; the message says what to change."""


@contextmanager
def writing(out_path: Path):
    """Yield a temporary name next to ``out_path``; rename it into place on success and remove it
    on any failure, so a full disk or a cancel never leaves half a GGUF behind."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".partial")
    try:
        yield tmp
        os.replace(tmp, out_path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"could not write {out_path}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@dataclass
class BaseInfo:
    """What the export needs to know of the base GGUF (read from its metadata)."""

    path: str
    arch: str
    n_layers: int
    n_embd: int
    n_head: int
    n_head_kv: int
    vocab_size: int
    tensor_shapes: dict[str, tuple[int, ...]]   # numpy order (rows, cols)


def read_base_info(path: Path) -> BaseInfo:
    import gguf

    try:
        reader = gguf.GGUFReader(str(path))
    except Exception as exc:  # truncated or not a GGUF at all
        raise ExportError(f"{path}: not a readable GGUF file ({type(exc).__name__}: {exc})") from None
    fields = reader.fields

    def value(key: str, default=None):
        field = fields.get(key)
        return field.contents() if field is not None else default

    arch = value("general.architecture")
    if not arch:
        raise ExportError(f"{path}: GGUF without general.architecture")
    vocab = value(f"{arch}.vocab_size") or len(value("tokenizer.ggml.tokens", []) or [])
    shapes = {t.name: tuple(int(x) for x in reversed(list(t.shape))) for t in reader.tensors}
    return BaseInfo(str(path), arch, int(value(f"{arch}.block_count", 0)), int(value(f"{arch}.embedding_length", 0)),
                    int(value(f"{arch}.attention.head_count", 0)),
                    int(value(f"{arch}.attention.head_count_kv", value(f"{arch}.attention.head_count", 0))),
                    int(vocab), shapes)


def needs_permute(arch: str) -> bool:
    if arch in PERMUTED_ARCHS:
        return True
    if arch in UNPERMUTED_ARCHS:
        return False
    raise ExportError(f"architecture '{arch}': adapter export does not know its llama.cpp tensor layout yet "
                      f"(supported: {', '.join(sorted(PERMUTED_ARCHS | UNPERMUTED_ARCHS))}); export a merged GGUF instead")


def permute_rows(weights: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's convert_hf_to_gguf ``LlamaModel.permute`` applied to the rows (output dim)."""
    rows = weights.shape[0]
    return (weights.reshape(n_head, 2, rows // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


def check_adapter_config(config: dict) -> None:
    """Refuse what llama.cpp cannot load, saying what to change (also used before training)."""
    if config.get("use_dora"):
        raise ExportError("DoRA adapters cannot be loaded by llama.cpp; train without DoRA or export a merged GGUF")
    if config.get("modules_to_save"):
        raise ExportError(f"the adapter fully trains {config['modules_to_save']} (modules_to_save), which a llama.cpp "
                          "LoRA cannot carry; train without modules_to_save or export a merged GGUF")
    if config.get("peft_type", "LORA") != "LORA":
        raise ExportError(f"{config.get('peft_type')} adapters are not LoRA; llama.cpp loads only LoRA adapters")


def _module_scale(config: dict, module: str, rank: int) -> float:
    """PEFT's effective scale for one module (alpha/rank patterns, rsLoRA)."""
    alpha = float(config.get("lora_alpha", 8))
    for pattern, value in (config.get("alpha_pattern") or {}).items():
        if module.endswith(pattern) or pattern in module:
            alpha = float(value)
    return alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank


def _encode(name: str, data: np.ndarray, dtype: str):
    """(array, raw_dtype) for GGUFWriter; q8_0 falls back to f16 when rows are shorter than a block."""
    import gguf

    if dtype == "q8_0" and data.shape[-1] % 32 == 0:
        return gguf.quants.quantize(data.astype(np.float32), gguf.GGMLQuantizationType.Q8_0), gguf.GGMLQuantizationType.Q8_0
    if dtype in ("f16", "q8_0"):
        return data.astype(np.float16), None
    return data.astype(np.float32), None


def lora_pairs(adapter_dir: Path, base: BaseInfo, permute: bool | None = None) -> tuple[float, list]:
    """``(alpha, [(gguf tensor name, A, B)])`` in llama.cpp's layout: B carries every scale but
    alpha/r, and q/k rows are permuted where the architecture needs it."""
    import gguf
    from safetensors.numpy import load_file

    adapter_dir = Path(adapter_dir)
    config_path = adapter_dir / "adapter_config.json"
    if not config_path.exists():
        raise ExportError(f"{adapter_dir}: no adapter_config.json (was the run saved?)")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    check_adapter_config(config)
    permute = needs_permute(base.arch) if permute is None else permute
    weights_path = adapter_dir / "adapter_model.safetensors"
    if not weights_path.exists():
        raise ExportError(f"{adapter_dir}: no adapter_model.safetensors (was the run saved?)")
    tensors = load_file(str(weights_path))
    arch_enum = {name: key for key, name in gguf.MODEL_ARCH_NAMES.items()}[base.arch]
    name_map = gguf.get_tensor_name_map(arch_enum, base.n_layers)
    alpha = float(config.get("lora_alpha", 8))

    pairs: list[tuple[str, np.ndarray, np.ndarray]] = []
    for key in sorted(k for k in tensors if ".lora_A." in k):
        module = key.split(".lora_A.")[0].removeprefix("base_model.model.")
        a, b = tensors[key].astype(np.float32), tensors[key.replace(".lora_A.", ".lora_B.")].astype(np.float32)
        target = name_map.get_name(module + ".weight", try_suffixes=(".weight",))
        if target is None or target not in base.tensor_shapes:
            raise ExportError(f"adapter module '{module}' has no matching tensor in the base GGUF {base.path}; "
                              "is this the base model the adapter was trained on?")
        rows, cols = base.tensor_shapes[target]
        if a.shape[1] != cols or b.shape[0] != rows:
            raise ExportError(f"adapter module '{module}' is {b.shape[0]}×{a.shape[1]} but the base GGUF's {target} "
                              f"is {rows}×{cols}: the adapter was trained on a different base model")
        rank = a.shape[0]
        b = b * (_module_scale(config, module, rank) / (alpha / rank))  # llama.cpp applies alpha/rank
        if permute and target.endswith("attn_q.weight"):
            b = permute_rows(b, base.n_head)
        elif permute and target.endswith("attn_k.weight"):
            b = permute_rows(b, base.n_head_kv)
        pairs.append((target, a, b))
    if not pairs:
        raise ExportError(f"{adapter_dir}: the adapter has no LoRA weights")
    return alpha, pairs


def export_adapter(adapter_dir: Path, base: BaseInfo, out_path: Path, dtype: str = "f16",
                   permute: bool | None = None) -> dict:
    """Write the GGUF LoRA; returns a summary. ``permute=False`` forces the wrong layout (for tests)."""
    import gguf

    if dtype not in ADAPTER_TYPES:
        raise ExportError(f"adapter type '{dtype}': choose one of {', '.join(ADAPTER_TYPES)}")
    alpha, pairs = lora_pairs(adapter_dir, base, permute)
    permute = needs_permute(base.arch) if permute is None else permute

    out_path = Path(out_path)
    with writing(out_path) as tmp:
        writer = gguf.GGUFWriter(str(tmp), base.arch)
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
        writer.add_name(f"Scriptorium LoRA ({Path(adapter_dir).parent.name})")
        for target, a, b in pairs:
            for suffix, data in ((".lora_a", a), (".lora_b", b)):
                array, raw = _encode(target + suffix, data, dtype)
                writer.add_tensor(target + suffix, array, raw_dtype=raw)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
    return {"path": str(out_path), "tensors": 2 * len(pairs), "permuted": permute, "dtype": dtype,
            "arch": base.arch, "bytes": out_path.stat().st_size}
