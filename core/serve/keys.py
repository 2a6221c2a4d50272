"""The per-project API key every request to the local server must carry.

Generated once per project (``serve/api_key`` in the project folder, readable by its owner
only), so a tool the user configured keeps working across restarts, and another project's
server never accepts it. ``rotate=True`` writes a new one (the GUI's "New key").
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from core.project import Project

PREFIX = "sk-scriptorium-"


def key_path(project: Project) -> Path:
    return project.root / "serve" / "api_key"


def api_key(project: Project, rotate: bool = False) -> str:
    path = key_path(project)
    if path.exists() and not rotate:
        key = path.read_text(encoding="utf-8").strip()
        if key.startswith(PREFIX):
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = PREFIX + secrets.token_urlsafe(24)
    partial = path.with_name(path.name + ".part")
    # created owner-only from the start: the key is a password
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    os.replace(partial, path)
    return key
