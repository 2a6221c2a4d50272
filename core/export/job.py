"""The export job: a run's adapter → GGUF (adapter and/or merged), Modelfiles, verification.

Writes ``exports/<run-id>/``: adapter.gguf, merged-<QUANT>.gguf, Modelfile, Modelfile.merged,
base.txt (where the base GGUF the adapter belongs to came from), base-<name>.gguf (that base,
hard-linked or copied, so the Modelfile needs nothing outside the folder) and verification.json.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from core.events import CancelToken, Reporter, StageReporter
from core.export.gguf_lora import BaseInfo, ExportError, export_adapter, read_base_info
from core.export.gguf_merge import quantize, write_merged
from core.export.modelfile import write_modelfile
from core.project import Project, atomic_write_json, atomic_write_text

EXACT_FILE_TYPES = {0, 1, 32}  # all-f32, mostly-f16, mostly-bf16: llama.cpp computes (almost) exactly
# llama.cpp's arch name for transformers' model_type where they differ
GGUF_ARCH = {"mistral": "llama"}


def check_base_matches(base: BaseInfo, load_dir: str) -> None:
    """The base GGUF must be the model the adapter was trained on (same shapes, same vocabulary)."""
    config = json.loads((Path(load_dir) / "config.json").read_text(encoding="utf-8"))
    expected = {"architecture": GGUF_ARCH.get(config["model_type"], config["model_type"]),
                "layers": config.get("num_hidden_layers"), "hidden size": config.get("hidden_size"),
                "vocabulary": config.get("vocab_size")}
    found = {"architecture": base.arch, "layers": base.n_layers, "hidden size": base.n_embd,
             "vocabulary": base.vocab_size}
    wrong = [f"{k} {found[k]} ≠ {expected[k]}" for k in expected if expected[k] is not None and found[k] != expected[k]]
    if wrong:
        raise ExportError(f"{base.path} is not the base model of this adapter ({'; '.join(wrong)}); "
                          "choose the GGUF of the model you trained on")


def _file_type(path: str) -> int:
    import gguf

    field = gguf.GGUFReader(path).fields.get("general.file_type")
    return int(field.contents()) if field is not None else -1


def place_base(base_path: Path, out: Path) -> Path:
    """The base GGUF inside the export folder, so the Modelfile survives a rebuilt virtualenv.

    The embedded base lives in site-packages; a Modelfile pointing there breaks when the venv is
    rebuilt. A hard link costs no space and outlives the original; across file systems it is copied.
    """
    import os
    import shutil

    target = out / ("base-" + base_path.name if not base_path.name.startswith("base") else base_path.name)
    if target.exists() and target.stat().st_size == base_path.stat().st_size:
        return target
    partial = target.with_name(target.name + ".part")
    partial.unlink(missing_ok=True)
    try:
        os.link(base_path, partial)
    except OSError:
        shutil.copyfile(base_path, partial)
    os.replace(partial, target)
    return target


def written_files(out: Path) -> list[str]:
    """Every file the export left in its folder (what the CLI lists for the user)."""
    return sorted(str(p) for p in out.iterdir() if p.is_file() and not p.name.endswith(".part"))


def export_run(project: Project, run: str | None = None, gguf: str = "adapter", quant: str = "Q8_0",
               adapter_type: str = "f16", base_gguf: str | None = None, verify: bool = True,
               report: Reporter | None = None, cancel: CancelToken | None = None) -> dict:
    from core.models import load_tokenizer, resolve

    say = StageReporter(report, "export")
    cancel = cancel or CancelToken()
    run_dir = project.run_dir(run)
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    resolved = resolve(info["model"]["source"], report)
    base_path = base_gguf or info["model"].get("gguf_path") or resolved.gguf_path
    if not base_path:  # a Hugging Face folder base: its GGUF is written once and cached
        from core.export.hf_gguf import cached_base_gguf
        base_path = str(cached_base_gguf(resolved.load_dir, report))
    base = read_base_info(Path(base_path))
    check_base_matches(base, resolved.load_dir)
    out = project.root / "exports" / run_dir.name
    out.mkdir(parents=True, exist_ok=True)
    summary: dict = {"run": run_dir.name, "folder": str(out), "base_gguf": base.path}
    stops = info.get("stop_tokens") or []
    template = info.get("chat_template")

    adapter_gguf = merged_gguf = None
    if gguf in ("adapter", "both"):
        started = time.time()
        say.log(f"Writing the GGUF adapter ({adapter_type})…")
        summary["adapter"] = export_adapter(run_dir / "adapter", base, out / "adapter.gguf", adapter_type)
        summary["adapter"]["seconds"] = round(time.time() - started, 2)
        adapter_gguf = out / "adapter.gguf"
        atomic_write_text(out / "base.txt", base.path + "\n")
        local_base = place_base(Path(base.path), out)
        summary["base_copy"] = str(local_base)
        write_modelfile(out / "Modelfile", from_path=f"./{local_base.name}", adapter_path="./adapter.gguf",
                        chat_template=template, stop_tokens=stops, system=info.get("system_prompt", ""))
    if gguf in ("merged", "both"):
        started = time.time()
        say.log("Merging the adapter into the base weights…")
        f16 = out / "merged-f16.gguf"
        eos = load_tokenizer(resolved).eos_token_id
        write_merged(base, run_dir / "adapter", f16, "f16", chat_template=template, eos_token_id=eos,
                     report=report, cancel=cancel)
        if quant.lower() in ("f16", "none"):
            merged_gguf = f16
        else:
            say.log(f"Quantizing to {quant.upper()}…")
            merged_gguf = out / f"merged-{quant.upper()}.gguf"
            quantize(f16, merged_gguf, quant)
            f16.unlink()
        summary["merged"] = {"path": str(merged_gguf), "bytes": merged_gguf.stat().st_size,
                             "seconds": round(time.time() - started, 2)}
        write_modelfile(out / "Modelfile.merged", from_path=f"./{merged_gguf.name}", adapter_path=None,
                        chat_template=template, stop_tokens=stops, system=info.get("system_prompt", ""))

    if verify:
        from core.export.verify import VERIFY_TEXT, describe
        from core.export.verify import verify as run_verify

        say.log("Verifying: comparing llama.cpp with the trained model token by token…")
        tokenizer = load_tokenizer(resolved)
        ids = tokenizer(VERIFY_TEXT, add_special_tokens=False)["input_ids"]
        exact = _file_type(base.path) in EXACT_FILE_TYPES
        result = run_verify(resolved.load_dir, run_dir / "adapter", ids, Path(base.path), adapter_gguf, merged_gguf,
                            exact_base=exact, exact_merged=merged_gguf is not None and merged_gguf.name.endswith("f16.gguf"))
        result["summary"] = describe(result)
        atomic_write_json(out / "verification.json", result)
        say.log(result["summary"])
        summary["verification"] = result
    summary["files"] = written_files(out)
    return summary
