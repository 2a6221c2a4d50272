"""Start the desktop app: one QApplication, the last (or default) project, the main window."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def run(project_dir: Path | None = None) -> int:
    from core.quiet import quiet_libraries
    quiet_libraries()
    from PySide6.QtWidgets import QApplication

    from core.firstrun import ensure_user_folders
    from core.project import Project
    from gui import i18n
    from gui.main_window import MainWindow
    from gui.state import AppState, last_project_dir

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName(i18n.APPLICATION)
    app.setOrganizationName(i18n.ORGANIZATION)
    from PySide6.QtGui import QIcon
    app.setWindowIcon(QIcon(str(Path(__file__).resolve().parent.parent / "resources" / "icons" / "scriptorium.svg")))
    ensure_user_folders()   # projects and cache folders exist before anything writes there
    i18n.install_qt_translations(app)   # Qt's own buttons and dialogs in the UI language too
    state = AppState(Project.open(project_dir or os.environ.get("SCRIPTORIUM_PROJECT") or last_project_dir()))
    window = MainWindow(state)
    window.show()
    return app.exec()
