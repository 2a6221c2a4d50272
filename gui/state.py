"""What the pages share: the open project, the background jobs, and change notifications."""
from __future__ import annotations

from pathlib import Path

import platformdirs
from PySide6.QtCore import QObject, Signal

from core.project import Project
from gui.workers import Jobs


def default_project_dir() -> Path:
    return Path(platformdirs.user_data_dir("scriptorium", appauthor=False)) / "projects" / "My first project"


LAST_PROJECT = "project/last"
RECENT_PROJECTS = "project/recent"
RECENT_MAX = 12


def last_project_dir() -> Path:
    """The project open when the app last closed (QSettings), or the default one when that folder is gone."""
    from gui.i18n import _settings

    saved = _settings().value(LAST_PROJECT, "", type=str)
    if saved and (Path(saved) / "project.yaml").is_file():
        return Path(saved)
    return default_project_dir()


def remember_project(root: Path) -> None:
    """The last project (reopened at start) and the recent list (newest first, the Project page's)."""
    from gui.i18n import _settings

    settings = _settings()
    settings.setValue(LAST_PROJECT, str(root))
    recent = [str(root)] + [p for p in recent_projects() if p != str(root)]
    settings.setValue(RECENT_PROJECTS, recent[:RECENT_MAX])
    settings.sync()


def recent_projects() -> list[str]:
    from gui.i18n import _settings

    value = _settings().value(RECENT_PROJECTS, [])
    if isinstance(value, str):   # QSettings gives a one-item list back as a plain string
        value = [value]
    return [str(p) for p in value or [] if p]


def forget_project(folder: str) -> None:
    from gui.i18n import _settings

    settings = _settings()
    settings.setValue(RECENT_PROJECTS, [p for p in recent_projects() if p != folder])
    settings.sync()


class AppState(QObject):
    """The open project plus signals pages listen to (never widgets reaching into each other)."""

    project_changed = Signal(object)   # Project
    corpus_changed = Signal()
    run_finished = Signal(object)      # run folder Path
    show_results = Signal(object)      # run folder Path: open the Results page on this run
    evaluated = Signal(object)         # run folder Path (None: the base model) whose evaluation was saved
    goal_chosen = Signal(str)          # the user chose a goal on the Format page: the Train page applies it too

    def __init__(self, project: Project, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.jobs = Jobs(self)
        remember_project(project.root)

    def open_project(self, folder: Path | str) -> None:
        self.project = Project.open(folder)
        remember_project(self.project.root)   # the next start reopens it
        self.project_changed.emit(self.project)
