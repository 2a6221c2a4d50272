"""First run: the user's folders, the embedded model's state, and the sample project.

The desktop app calls ``ensure_user_folders`` at start (data: projects; cache: converted models)
so nothing later fails on a missing folder, and offers ``create_sample_project``: a project
holding the app's own user manual (Russian when the UI is Russian), ready to format and train
with the defaults — a newcomer sees the whole path on a text that exists on every machine.
"""
from __future__ import annotations

import functools
from pathlib import Path

import platformdirs

from core.config import CorpusConfig, ModelConfig
from core.events import CancelToken, Reporter
from core.project import Project

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
MANUALS = {"en": RESOURCES / "manual.md", "ru": RESOURCES / "i18n" / "manual.ru.md"}
SAMPLE_NAMES = {"en": "Sample - Scriptorium manual", "ru": "Пример - руководство Scriptorium"}


def data_root() -> Path:
    return Path(platformdirs.user_data_dir("scriptorium", appauthor=False))


def ensure_user_folders() -> dict[str, str]:
    from core.models import cache_root

    folders = {"projects": data_root() / "projects", "cache": cache_root()}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    return {name: str(path) for name, path in folders.items()}


def embedded_model_state() -> dict:
    """Is the embedded model installed, and has it been converted for training yet? (no work done here)"""
    from core.models import ModelError, cache_root, embedded_gguf

    try:
        path = embedded_gguf()
    except ModelError as exc:
        return {"ready": False, "message": str(exc)}
    converted = any((cache_root() / "converted").glob(f"{path.stem}-*/config.json"))
    return {"ready": True, "name": "SmolLM2-135M-Instruct", "path": str(path), "converted": converted,
            "bytes": path.stat().st_size}


def create_sample_project(folder: Path | None = None, language: str = "en", report: Reporter | None = None,
                          cancel: CancelToken | None = None) -> Project:
    """A project with the user manual in its corpus (an existing sample is reused, not read twice)."""
    from core.ingest import ingest
    from core.models import load_tokenizer, resolve

    language = language if language in MANUALS and MANUALS[language].exists() else "en"
    folder = folder or data_root() / "projects" / SAMPLE_NAMES[language]
    project = Project.open(folder)
    if (project.corpus_dir / "files.json").exists():
        return project
    project.set_model(ModelConfig("embedded"))
    tokenizer = load_tokenizer(resolve("embedded", report))
    ingest(project, [MANUALS[language]], tokenizer, CorpusConfig(), report, cancel)
    return project


@functools.lru_cache(maxsize=1)
def gpu_hint() -> str | None:
    """A sentence for a user whose NVIDIA GPU this (CPU) build of torch cannot use; None otherwise.
    Asked once per process (the welcome and the status bar both show it; nvidia-smi is not free)."""
    import shutil
    import subprocess

    if not shutil.which("nvidia-smi"):  # checked first: no GPU, no torch import at start-up
        return None
    try:
        found = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    try:
        import torch
        if torch.cuda.is_available():
            return None
    except ImportError:
        return None
    gpus = [line.split(" (UUID")[0] for line in found.stdout.splitlines() if line.startswith("GPU ")]
    if found.returncode != 0 or not gpus:
        return None
    return (f"This computer has an NVIDIA GPU ({gpus[0]}), but this installation of torch can only use the CPU. "
            "Training would be many times faster with the CUDA build: run "
            "`SCRIPTORIUM_TORCH_INDEX=cu128 bash packaging/setup_env.sh` in the app's folder (or install the CUDA "
            "build of the app).")
