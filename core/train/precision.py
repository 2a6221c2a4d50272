"""Device and precision, chosen automatically from measurements and shown to the user.

- CUDA: QLoRA — 4-bit nf4 base with double quantization, bf16 compute where the GPU supports it
  (else fp16), paged 8-bit AdamW, gradient checkpointing.
- CPU: LoRA with bf16 autocast when this CPU really multiplies bf16 faster than fp32 (measured
  once with a matmul and remembered per CPU/torch version), else fp32. 4-bit can be forced.
- Apple MPS: LoRA in fp32 (thin path).
"""
from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass

from core.config import TrainConfig


@dataclass
class Plan:
    device: str
    quantization: str          # none | nf4
    autocast: str | None       # None | bfloat16 | float16
    optimizer: str             # adamw | paged_adamw_8bit
    gradient_checkpointing: bool
    reason: str

    def describe(self) -> str:
        parts = [self.device.upper() if self.device != "cpu" else "CPU"]
        parts.append("QLoRA (4-bit nf4 base)" if self.quantization == "nf4" else "LoRA")
        parts.append(f"{self.autocast} autocast" if self.autocast else "fp32")
        return ", ".join(parts) + f" — {self.reason}"


def matmul_gflops(dtype_name: str, size: int = 768, repeats: int = 12, rounds: int = 1) -> float:
    """GFLOP/s of a square matmul; with ``rounds`` > 1, the best round (a peak, robust to noise)."""
    import torch

    dtype = getattr(torch, dtype_name)
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    for _ in range(2):
        a @ b
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = max(best, 2 * size ** 3 * repeats / (time.perf_counter() - start) / 1e9)
    return best


def cpu_identity() -> str:
    """The CPU's model name and its bf16 features. ``platform.processor()`` is empty on Linux, so a
    cache keyed by it alone would keep one machine's answer on another (same image, new host)."""
    name, features = platform.processor() or platform.machine(), ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            info = f.read(1 << 16)
    except OSError:
        return name
    for line in info.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and name in ("", platform.machine()):
            name = value.strip()
        elif key.strip() == "flags":
            features = ",".join(sorted(set(value.split()) & {"amx_bf16", "avx512_bf16", "amx_tile"}))
            break
    return f"{name}|{features}"


def cpu_bf16_speedup() -> float:
    """bf16 ÷ fp32 matmul throughput on this CPU, measured once and cached."""
    import torch

    from core.models import cache_root
    key = f"{cpu_identity()}|{torch.__version__}|{torch.get_num_threads()}"
    path = cache_root() / "cpu_bf16.json"
    try:
        cached = json.loads(path.read_text())
        if cached.get("key") == key:
            return float(cached["speedup"])
    except (OSError, ValueError):
        pass
    speedup = matmul_gflops("bfloat16") / matmul_gflops("float32")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"key": key, "speedup": speedup}))
    except OSError:
        pass  # only a cache
    return speedup


def plan(cfg: TrainConfig) -> Plan:
    import torch

    from core.models import pick_device
    device = pick_device(cfg.device)
    if device == "cuda":
        quant = "none" if cfg.quantization == "none" else "nf4"
        half = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        return Plan(device, quant, half, "paged_adamw_8bit", True,
                    f"GPU {torch.cuda.get_device_name(0)}; {half} compute, paged 8-bit AdamW")
    if device == "mps":
        return Plan(device, "none", None, "adamw", False, "Apple GPU")
    quant = "nf4" if cfg.quantization == "nf4" else "none"
    precision = cfg.precision
    if precision == "auto":
        speedup = cpu_bf16_speedup()
        precision = "bf16" if speedup >= 1.3 else "fp32"
        reason = f"bf16 matmul measured {speedup:.1f}× fp32 on this CPU"
    else:
        reason = f"precision={precision} as configured"
    return Plan("cpu", quant, "bfloat16" if precision == "bf16" else None, "adamw", False, reason)
