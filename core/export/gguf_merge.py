"""Merged GGUF: base GGUF + (alpha/r)·B·A, written as f32/f16, then quantized in-process.

The base is read with ``gguf``, each tensor dequantized, the LoRA delta added where the adapter
touches it (same layout rules as the adapter export), and written tensor by tensor (streaming,
so a large model never sits in memory twice). All metadata is kept — tokenizer, chat template —
except what must change: file type, and the chat template / EOS the training used.
Quantization (Q8_0, Q4_K_M, …) runs through llama-cpp-python's ``llama_model_quantize``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.events import CancelToken, Reporter, StageReporter
from core.export.gguf_lora import BaseInfo, ExportError, lora_pairs, writing

QUANT_TYPES = {"Q8_0": 7, "Q4_0": 2, "Q4_1": 3, "Q5_0": 8, "Q5_1": 9, "Q2_K": 10, "Q3_K_M": 12, "Q4_K_S": 14,
               "Q4_K_M": 15, "Q5_K_S": 16, "Q5_K_M": 17, "Q6_K": 18}
FILE_TYPE = {"f32": 0, "f16": 1}


def _copy_metadata(reader, writer, chat_template: str | None, file_type: int, eos_token_id: int | None = None) -> None:
    import gguf

    skip = {"general.architecture", "general.file_type", "general.quantization_version"}
    if eos_token_id is not None:
        skip.add("tokenizer.ggml.eos_token_id")
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in skip:
            continue
        if key == "tokenizer.chat_template" and chat_template:
            continue
        vtype = field.types[0]
        sub = field.types[1] if vtype == gguf.GGUFValueType.ARRAY and len(field.types) > 1 else None
        writer.add_key_value(key, field.contents(), vtype, sub_type=sub)
    writer.add_uint32("general.file_type", file_type)
    if chat_template:
        writer.add_chat_template(chat_template)
    if eos_token_id is not None:  # the end-of-turn token training used, so generation stops where it learned to
        writer.add_eos_token_id(eos_token_id)


def write_merged(base: BaseInfo, adapter_dir: Path | None, out_path: Path, outtype: str = "f16",
                 chat_template: str | None = None, permute: bool | None = None, eos_token_id: int | None = None,
                 report: Reporter | None = None, cancel: CancelToken | None = None) -> dict:
    """Write base (+ adapter, if given) as an f32/f16 GGUF; ``adapter_dir=None`` just dequantizes."""
    import gguf

    say = StageReporter(report, "export")
    cancel = cancel or CancelToken()
    if outtype not in FILE_TYPE:
        raise ExportError(f"merged output type '{outtype}': choose f32 or f16, then quantize")
    deltas = {}
    if adapter_dir is not None:
        _alpha, pairs = lora_pairs(adapter_dir, base, permute)
        deltas = {name: (a, b, _alpha / a.shape[0]) for name, a, b in pairs}
    reader = gguf.GGUFReader(base.path)
    out_path = Path(out_path)
    with writing(out_path) as tmp:
        writer = gguf.GGUFWriter(str(tmp), base.arch)
        _copy_metadata(reader, writer, chat_template, FILE_TYPE[outtype], eos_token_id)
        plan = []
        for t in reader.tensors:
            shape = tuple(int(x) for x in reversed(list(t.shape)))
            # norms, biases and other 1-D tensors stay f32 (llama.cpp expects it)
            dtype = np.float16 if outtype == "f16" and len(shape) == 2 else np.float32
            plan.append((t, shape, dtype))
            writer.add_tensor_info(t.name, shape, np.dtype(dtype), int(np.prod(shape)) * np.dtype(dtype).itemsize)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for i, (t, shape, dtype) in enumerate(plan):
            cancel.raise_if_cancelled()
            data = gguf.quants.dequantize(t.data, t.tensor_type).reshape(shape).astype(np.float32)
            if t.name in deltas:
                a, b, scale = deltas[t.name]
                data = data + scale * (b @ a)
            writer.write_tensor_data(data.astype(dtype))
            say.progress(i + 1, len(plan), f"writing {t.name}")
        writer.close()
    return {"path": str(out_path), "outtype": outtype, "merged_tensors": len(deltas), "bytes": out_path.stat().st_size}


def quantize(src: Path, out_path: Path, quant: str, threads: int | None = None) -> dict:
    """Quantize a GGUF in-process with llama.cpp (no binary, no checkout)."""
    import llama_cpp

    from core.chat.llamacpp_backend import quiet_llama_logs

    quiet_llama_logs()
    quant = quant.upper()
    if quant not in QUANT_TYPES:
        raise ExportError(f"quantization '{quant}': choose one of {', '.join(QUANT_TYPES)}")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = QUANT_TYPES[quant]
    params.nthread = threads or 0
    params.allow_requantize = True
    out_path = Path(out_path)
    with writing(out_path) as tmp:
        code = llama_cpp.llama_model_quantize(str(src).encode(), str(tmp).encode(), params)
        if code != 0 or not tmp.exists():
            raise ExportError(f"llama.cpp could not quantize {src} to {quant} (code {code}); is the disk full?")
    return {"path": str(out_path), "quant": quant, "bytes": out_path.stat().st_size}
