"""The project folder: one directory per user project, each stage reading and writing its part.

    project.yaml          name, base model source, created/updated, app version
    corpus/               documents.jsonl, chunks.jsonl, files.json (per-file outcomes)
    datasets/<format>/    samples.jsonl, meta.json (chat template, stop tokens, split)
    runs/<run-id>/        config.yaml, metrics.jsonl, adapter/, log.txt, summary.json

Writes are atomic (temp file + rename) so a crash never leaves half a file behind.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

from core import __version__
from core.config import STAGES, ConfigError, ModelConfig, from_dict, to_dict


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; project files are ordinary documents
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def write_jsonl(path: Path, rows: Iterable[dict]) -> int:
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    atomic_write_text(path, "".join(line + "\n" for line in lines))
    return len(lines)


def append_jsonl(path: Path, row: dict) -> None:
    """Append one record and flush it to disk (metrics survive a crash mid-run)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        fh.flush()


def read_jsonl(path: Path) -> Iterator[dict]:
    if not Path(path).exists():
        return
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:
                yield json.loads(line)


def _now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


class ProjectError(RuntimeError):
    """The project folder is missing something a stage needs; the message says what to run."""


class Project:
    """A user project on disk. Cheap to construct; every accessor reads the folder afresh."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().resolve()

    # ---- creation and metadata
    @classmethod
    def open(cls, root: Path | str, create: bool = True) -> "Project":
        project = cls(root)
        if not project.meta_path.exists():
            if not create:
                raise ProjectError(f"{project.root}: not a Scriptorium project (no project.yaml)")
            if project.root.exists() and not project.root.is_dir():
                raise ProjectError(f"{project.root}: exists and is not a folder")
            project.root.mkdir(parents=True, exist_ok=True)
            project._write_meta({"name": project.root.name, "model": to_dict(ModelConfig()),
                                 "created": _now(), "updated": _now(), "app_version": __version__})
        return project

    @property
    def meta_path(self) -> Path:
        return self.root / "project.yaml"

    def meta(self) -> dict[str, Any]:
        return yaml.safe_load(self.meta_path.read_text(encoding="utf-8")) or {}

    def _write_meta(self, meta: dict[str, Any]) -> None:
        atomic_write_text(self.meta_path, yaml.safe_dump(meta, allow_unicode=True, sort_keys=False))

    def update_meta(self, **changes: Any) -> None:
        meta = self.meta()
        meta.update(changes, updated=_now(), app_version=__version__)
        self._write_meta(meta)

    @property
    def model(self) -> ModelConfig:
        return from_dict(ModelConfig, self.meta().get("model"))

    def set_model(self, model: ModelConfig) -> None:
        self.update_meta(model=to_dict(model))

    def settings(self, stage: str):
        """The stage's last-used settings (shared by GUI and CLI); defaults if none or unreadable."""
        saved = (self.meta().get("settings") or {}).get(stage)
        try:
            return from_dict(STAGES[stage], saved)
        except (ConfigError, TypeError):
            return STAGES[stage]()  # an old or hand-edited file must not lock the user out

    def save_settings(self, **configs) -> None:
        settings = dict(self.meta().get("settings") or {})
        settings.update({stage: to_dict(cfg) for stage, cfg in configs.items()})
        self.update_meta(settings=settings)

    # ---- folders of each stage
    @property
    def corpus_dir(self) -> Path:
        return self.root / "corpus"

    def dataset_dir(self, fmt: str) -> Path:
        return self.root / "datasets" / fmt

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    def new_run_dir(self) -> Path:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        run = self.runs_dir / stamp
        n = 1
        while run.exists():
            n += 1
            run = self.runs_dir / f"{stamp}-{n}"
        run.mkdir(parents=True)
        return run

    def runs(self) -> list[Path]:
        if not self.runs_dir.exists():
            return []
        return sorted(p for p in self.runs_dir.iterdir() if (p / "config.yaml").exists())

    def run_dir(self, run: str | None = None) -> Path:
        """The named run, or the newest one that has an adapter."""
        if run:
            path = self.runs_dir / run
            if not (path / "config.yaml").exists():
                raise ProjectError(f"{path}: no such run in this project")
            return path
        with_adapter = [p for p in self.runs() if (p / "adapter" / "adapter_config.json").exists()]
        if not with_adapter:
            raise ProjectError(f"{self.root}: no trained run yet; run `python main.py train --project {self.root}`")
        return with_adapter[-1]
