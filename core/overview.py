"""A project at a glance: its books, runs and best result (the Project page's recent list).

``overview(folder)`` reads only small files (the project's yaml, the corpus log's totals, each
run's ``summary.json``), never a model, so a list of recent projects fills in instantly; a folder
that is gone or is not a project says so instead of raising.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Overview:
    folder: str
    name: str
    exists: bool = True
    books: int = 0
    tokens: int = 0
    languages: list[str] = field(default_factory=list)
    runs: int = 0
    last_run: str = ""
    best: str = ""             # the newest evaluated run's verdict, or its losses
    problem: str = ""          # why the folder cannot be shown (gone, not a project, damaged)

    def to_dict(self) -> dict:
        return asdict(self)


def overview(folder: Path | str) -> Overview:
    from core.project import Project

    folder = Path(folder)
    view = Overview(str(folder), folder.name)
    if not (folder / "project.yaml").is_file():
        view.exists = False
        view.problem = "folder not found" if not folder.exists() else "not a Scriptorium project"
        return view
    try:
        project = Project.open(folder, create=False)
        view.name = project.meta().get("name") or folder.name
    except Exception as exc:  # noqa: BLE001 — a damaged project.yaml: shown, not fatal
        view.problem = str(exc)
        return view
    try:
        from core.ingest.store import corpus_stats
        stats = corpus_stats(project)
        view.books, view.tokens = int(stats.get("documents", 0)), int(stats.get("tokens", 0))
        view.languages = sorted(x for x in (stats.get("languages") or {}) if x)
    except Exception:  # noqa: BLE001 — no corpus yet, or a damaged log
        pass
    runs = project.runs()
    view.runs = len(runs)
    if runs:
        view.last_run = runs[-1].name
    view.best = best_result(runs)
    return view


def best_result(runs: list[Path]) -> str:
    """What the newest run that says something says: its verdict's first sentence, else its losses."""
    for run in reversed(runs):
        try:
            summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        verdict = str(summary.get("verdict") or "").strip()
        if verdict:
            return verdict
        first, last = summary.get("first_loss"), summary.get("last_loss")
        if isinstance(first, (int, float)) and isinstance(last, (int, float)):
            return f"loss {first:.2f} → {last:.2f}"
    return ""
