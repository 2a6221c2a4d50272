"""Every page of the window as PNG, in English and Russian, light and dark: for looking, not for committing.

    python tools/screenshots.py OUTDIR [--project DIR] [--size 1100x760]

With ``--project`` the pictures show that project (a trained and evaluated one shows real plots,
verdicts and experiments); without, a fresh project holding the user manual is made first. Each
language × palette runs in its own process (the UI language is fixed at start), offscreen unless
a display is set. Files: OUTDIR/<lang>-<theme>/<NN>-<page>.png. Look at every one as a new user
would: clipped or overlapping text, untranslated words, empty boxes with no explanation.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def dark_palette():
    from PySide6.QtGui import QColor, QPalette

    palette = QPalette()
    colors = {QPalette.ColorRole.Window: "#1f2329", QPalette.ColorRole.WindowText: "#e6e6e6",
              QPalette.ColorRole.Base: "#15181c", QPalette.ColorRole.AlternateBase: "#22262c",
              QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#2b3038",
              QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.Highlight: "#2563eb",
              QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#2b3038",
              QPalette.ColorRole.ToolTipText: "#e6e6e6", QPalette.ColorRole.PlaceholderText: "#8a919c",
              QPalette.ColorRole.Link: "#7aa2ff"}
    for role, color in colors.items():
        palette.setColor(role, QColor(color))
    return palette


def shoot(out: Path, project_dir: Path, size: tuple[int, int], theme: str) -> None:
    """One process: every page of one window (language from SCRIPTORIUM_LANG)."""
    from PySide6.QtWidgets import QApplication

    from core.project import Project
    from gui.i18n import private_settings
    from gui.main_window import MainWindow
    from gui.state import AppState

    private_settings(tempfile.mkdtemp(prefix="scriptorium-shots-settings-"))   # the user's recent list untouched
    app = QApplication.instance() or QApplication([])
    if theme == "dark":
        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    window = MainWindow(AppState(Project.open(project_dir, create=False)))
    window.resize(*size)
    window.show()
    out.mkdir(parents=True, exist_ok=True)
    for number, page in enumerate(window.pages, 1):
        window.nav.setCurrentRow(number - 1)
        for _ in range(30):
            app.processEvents()
        name = type(page).__name__.replace("Page", "").lower()
        window.grab().save(str(out / f"{number:02d}-{name}.png"))
    window.state.jobs.stop_all()
    window.close()


def sample_project() -> Path:
    from core.firstrun import create_sample_project

    folder = Path(tempfile.mkdtemp(prefix="scriptorium-shots-")) / "Sample"
    return create_sample_project(folder).root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--project", type=Path)
    parser.add_argument("--size", default="1100x760")
    parser.add_argument("--one", nargs=2, metavar=("LANG", "THEME"), help=argparse.SUPPRESS)  # the child's job
    args = parser.parse_args()
    size = tuple(int(x) for x in args.size.lower().split("x"))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.one:
        shoot(args.outdir, args.project, size, args.one[1])
        return 0
    project = args.project or sample_project()
    for lang in ("en", "ru"):
        for theme in ("light", "dark"):
            target = args.outdir / f"{lang}-{theme}"
            subprocess.run([sys.executable, __file__, str(target), "--project", str(project), "--size", args.size,
                            "--one", lang, theme], check=True, env={**os.environ, "SCRIPTORIUM_LANG": lang},
                           timeout=600)
            print(f"{target}: {len(list(target.glob('*.png')))} pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
