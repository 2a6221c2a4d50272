"""Checkpoints that survive kill -9 and full disks.

``runs/<id>/checkpoints/step-000120/`` holds the adapter weights, optimizer, scheduler, RNG states
and the data position. It is written under a ``.partial`` name and renamed when complete, so
the newest complete checkpoint is always usable; older ones beyond ``keep`` are removed only
after a new one is complete.
"""
from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path


class CheckpointError(RuntimeError):
    """A checkpoint could not be written (the previous one is intact) or read."""


def checkpoints(run_dir: Path) -> list[Path]:
    folder = Path(run_dir) / "checkpoints"
    if not folder.exists():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and p.name.startswith("step-")
                  and not p.name.endswith(".partial") and (p / "state.json").exists())


def latest(run_dir: Path) -> Path | None:
    found = checkpoints(run_dir)
    return found[-1] if found else None


def save(run_dir: Path, model, optimizer, scheduler, state: dict, keep: int = 2) -> Path:
    """Write a complete checkpoint or raise CheckpointError leaving earlier ones untouched."""
    import numpy as np
    import torch

    target = Path(run_dir) / "checkpoints" / f"step-{state['step']:06d}"
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        model.save_pretrained(tmp / "adapter")
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "rng": {"torch": torch.get_rng_state(), "python": random.getstate(),
                            "numpy": np.random.get_state()}}, tmp / "trainer.pt")
        (tmp / "state.json").write_text(json.dumps(state))
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CheckpointError(f"could not save the checkpoint of step {state['step']} "
                              f"({exc.strerror or exc}); the previous checkpoint is intact") from None
    for old in checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def load(path: Path, model, optimizer, scheduler) -> dict:
    """Restore adapter, optimizer, scheduler and RNG; return the saved state (step, data position…)."""
    import numpy as np
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    path = Path(path)
    try:
        weights = load_file(str(path / "adapter" / "adapter_model.safetensors"))
        set_peft_model_state_dict(model, weights)
        trainer = torch.load(path / "trainer.pt", weights_only=False)
        state = json.loads((path / "state.json").read_text())
    except (OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: checkpoint cannot be read ({exc})") from None
    optimizer.load_state_dict(trainer["optimizer"])
    scheduler.load_state_dict(trainer["scheduler"])
    torch.set_rng_state(trainer["rng"]["torch"])
    random.setstate(trainer["rng"]["python"])
    np.random.set_state(trainer["rng"]["numpy"])
    return state
