"""core/ must stay importable without Qt: the CLI and headless jobs run where no GUI exists."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QT_PREFIXES = ("PySide6", "PyQt", "shiboken6", "pyqtgraph")

SCRIPT = f"""
import importlib, pkgutil, sys
import core
names = sorted(m.name for m in pkgutil.walk_packages(core.__path__, "core."))
assert len(names) > 10, names
for name in names:
    importlib.import_module(name)
qt = sorted(m for m in sys.modules if m.startswith({QT_PREFIXES!r}))
print("QT:" + ",".join(qt))
print("IMPORTED:" + str(len(names)))
"""


def test_core_imports_no_qt():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(":", 1) for line in proc.stdout.splitlines() if ":" in line)
    assert lines["QT"] == "", f"Qt modules imported by core: {lines['QT']}"
    assert int(lines["IMPORTED"]) > 10
