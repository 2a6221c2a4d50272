"""How to start this program again as a child process, from source or from a frozen bundle.

From source the command is ``python main.py …``; in a PyInstaller bundle ``sys.executable`` is the
app itself and takes the arguments directly. The GUI starts the server and restarts itself this way.
"""
from __future__ import annotations

import sys
from pathlib import Path

MAIN = Path(__file__).resolve().parent.parent / "main.py"


def frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def command(*args: str) -> tuple[str, list[str]]:
    """(program, arguments) that run ``main.py *args`` in a new process."""
    if frozen():
        return sys.executable, list(args)
    return sys.executable, [str(MAIN), *args]
