"""Adapter merging: two (or more) runs' LoRA adapters on one base model → a new run, whose adapter
chat, evaluation and export use like any other (``runs/<id>/adapter`` + ``run.json`` saying what
it was merged from).

Methods:
- ``linear``, ``cat``, ``svd``, ``ties``, ``dare_linear``, ``dare_ties`` — PEFT's
  ``add_weighted_adapter``. ``cat`` is exact for a weighted sum (ranks add up); ``svd`` forms each
  merged ΔW and keeps its top singular directions; ``linear``, ``ties`` and ``dare_*`` combine the
  A and B matrices separately (PEFT's approximation, same-rank adapters only), TIES trimming to the
  largest ``density`` share and electing signs, DARE dropping at random and rescaling.
- ``slerp`` — spherical interpolation of the two adapters' weight deltas (mergekit's rule): for each
  adapted layer ΔWᵢ = scaleᵢ·Bᵢ·Aᵢ is formed in full (out × in, small for LoRA-sized layers), the
  angle θ between the flattened deltas gives ΔW = sin((1−t)θ)/sin θ·ΔW₀ + sin(tθ)/sin θ·ΔW₁ (plain
  interpolation when θ is tiny), and the result goes back to LoRA form by SVD at rank r₀ + r₁ —
  exact, since a combination of a rank-r₀ and a rank-r₁ matrix has rank at most r₀ + r₁ — with
  B = U·√S, A = √S·Vᵀ and alpha = rank (scale 1). ``t`` is the second weight (default 0.5).
"""
from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

from core.events import CancelToken, Reporter, StageReporter
from core.lab.score_job import LabError
from core.project import Project, atomic_write_json

METHODS = ("linear", "cat", "svd", "ties", "dare_linear", "dare_ties", "slerp")


def merge_runs(project: Project, runs: list[str], method: str = "ties", weights: list[float] | None = None,
               density: float = 0.5, report: Reporter | None = None, cancel: CancelToken | None = None) -> dict:
    """Merge the adapters of ``runs`` into a new run; returns its summary (run folder, method)."""
    from peft import PeftModel

    from core.models import ResolvedModel, load_model

    say = StageReporter(report, "lab")
    cancel = cancel or CancelToken()
    if method not in METHODS:
        raise LabError(f"merge method {method!r}: choose one of {', '.join(METHODS)}")
    if len(runs) < 2 or (method == "slerp" and len(runs) != 2):
        raise LabError("merging needs two runs (slerp: exactly two)" if len(runs) < 2 else "slerp merges exactly two runs")
    weights = weights or [1.0 / len(runs)] * len(runs)
    if len(weights) != len(runs):
        raise LabError(f"{len(weights)} weights for {len(runs)} runs: give one weight per run")
    parents = [_parent(project, run) for run in runs]
    sources = {p["info"]["model"]["load_dir"] for p in parents}
    if len(sources) > 1:
        raise LabError(f"the runs were trained on different base models ({', '.join(sorted(sources))}); "
                       f"only adapters of one base model can be merged")
    configs = [json.loads((p["adapter"] / "adapter_config.json").read_text(encoding="utf-8")) for p in parents]
    if any(c.get("use_dora") for c in configs):
        raise LabError("DoRA adapters cannot be merged here; train the runs with plain LoRA (--dora no)")
    if method in ("linear", "ties", "dare_linear", "dare_ties") and len({c["r"] for c in configs}) > 1:
        raise LabError(f"{method} merges adapters of one rank (these have {sorted({c['r'] for c in configs})}); "
                       f"use cat, svd or slerp")
    started = time.perf_counter()
    say.log(f"Merging {len(runs)} adapters ({method}, weights {weights})")
    info = parents[0]["info"]
    base = load_model(ResolvedModel(info["model"]["load_dir"], "hf_dir", info["model"]["load_dir"],
                                    info["model"].get("name", "")), "cpu")
    model = PeftModel.from_pretrained(base, str(parents[0]["adapter"]), adapter_name="a0")
    for i, parent in enumerate(parents[1:], 1):
        cancel.raise_if_cancelled()
        model.load_adapter(str(parent["adapter"]), adapter_name=f"a{i}")
    names = [f"a{i}" for i in range(len(parents))]
    if method == "slerp":
        slerp_adapters(model, names[0], names[1], weights[1], "merged")
    else:
        model.add_weighted_adapter(names, weights, "merged", combination_type=method,
                                   density=density if method in ("ties", "dare_linear", "dare_ties") else None)
    cancel.raise_if_cancelled()
    run_dir = project.new_run_dir()
    staging = run_dir / "merge-tmp"
    model.save_pretrained(str(staging), selected_adapters=["merged"])
    saved = staging / "merged" if (staging / "merged").exists() else staging
    shutil.move(str(saved), str(run_dir / "adapter"))
    shutil.rmtree(staging, ignore_errors=True)
    merged = {"runs": [p["name"] for p in parents], "method": method, "weights": weights,
              "density": density if method in ("ties", "dare_linear", "dare_ties") else None}
    shutil.copyfile(parents[0]["dir"] / "config.yaml", run_dir / "config.yaml")  # (the first parent's recipe)
    atomic_write_json(run_dir / "run.json", {**info, "merged_from": merged, "pid": None,
                                             "plan": f"merged from {', '.join(merged['runs'])} ({method})"})
    summary = {"run": run_dir.name, "run_dir": str(run_dir), "adapter": str(run_dir / "adapter"), **merged,
               "seconds": round(time.perf_counter() - started, 1)}
    atomic_write_json(run_dir / "summary.json", {"merged_from": merged, "adapter": str(run_dir / "adapter")})
    say.log(f"Merged adapter: {run_dir / 'adapter'} — chat with it, evaluate it or export it as run {run_dir.name}")
    return summary


def _parent(project: Project, run: str) -> dict:
    run_dir = project.run_dir(run)
    adapter = run_dir / "adapter"
    if not (adapter / "adapter_config.json").exists():
        raise LabError(f"{run_dir}: this run has no adapter to merge (it did not finish a step)")
    return {"name": run_dir.name, "dir": run_dir, "adapter": adapter,
            "info": json.loads((run_dir / "run.json").read_text(encoding="utf-8"))}


def slerp_adapters(model, first: str, second: str, t: float, name: str) -> None:
    """Add adapter ``name`` to the PEFT ``model``: the SLERP of adapters ``first`` and ``second``
    at ``t`` (0: first, 1: second), per layer, stored back as LoRA at rank r₀ + r₁ (see above)."""
    import copy

    import torch
    from peft.tuners.lora import LoraLayer

    layers = [m for m in model.modules() if isinstance(m, LoraLayer)
              and first in getattr(m, "lora_A", {}) and second in m.lora_A]
    if not layers:
        raise LabError("the two adapters share no adapted layer; nothing to interpolate")
    ranks = model.peft_config[first].r + model.peft_config[second].r
    config = copy.deepcopy(model.peft_config[first])
    config.r, config.lora_alpha, config.use_rslora = ranks, ranks, False
    config.target_modules = model.peft_config[first].target_modules
    config.rank_pattern, config.alpha_pattern = {}, {}
    model.add_adapter(name, config)
    with torch.no_grad():
        for layer in layers:
            deltas = [layer.scaling[a] * (layer.lora_B[a].weight.float() @ layer.lora_A[a].weight.float())
                      for a in (first, second)]
            merged = slerp(deltas[0], deltas[1], t)
            u, s, vh = torch.linalg.svd(merged, full_matrices=False)
            root = s[:ranks].sqrt()
            layer.lora_B[name].weight.copy_((u[:, :ranks] * root).to(layer.lora_B[name].weight.dtype))
            layer.lora_A[name].weight.copy_((root[:, None] * vh[:ranks]).to(layer.lora_A[name].weight.dtype))


def slerp(a, b, t: float, eps: float = 1e-6):
    """Spherical interpolation of two tensors as flat vectors, keeping their magnitudes (mergekit)."""
    import torch

    na, nb = a.norm(), b.norm()
    if float(na) < eps or float(nb) < eps:
        return (1 - t) * a + t * b
    cos = torch.clamp((a.flatten() @ b.flatten()) / (na * nb), -1.0, 1.0)
    theta = float(torch.arccos(cos))
    if abs(math.sin(theta)) < eps:  # (nearly) parallel: the arc is a line
        return (1 - t) * a + t * b
    return (math.sin((1 - t) * theta) * a + math.sin(t * theta) * b) / math.sin(theta)
