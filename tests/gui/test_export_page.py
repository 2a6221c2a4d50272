"""Export page details a user meets: the "no adapter" message goes when a run appears, and "Open folder"
says where the folder is when no file manager answers."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtGui import QDesktopServices  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from core.project import Project  # noqa: E402
from gui.pages.export_page import ExportPage  # noqa: E402
from gui.state import AppState  # noqa: E402


def test_stale_message_goes_and_open_folder_says_where(qtbot, tmp_path, monkeypatch):
    project = Project.open(tmp_path / "p")
    page = ExportPage(AppState(project))
    qtbot.addWidget(page)
    assert "No trained adapter yet" in page.result.toPlainText()
    run = project.new_run_dir()
    (run / "config.yaml").write_text("{}", encoding="utf-8")
    (run / "adapter").mkdir()
    (run / "adapter" / "adapter_config.json").write_text("{}", encoding="utf-8")
    page.refresh()
    assert page.run.currentText() == run.name and "No trained adapter" not in page.result.toPlainText()

    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: False)
    page.folder = str(tmp_path / "exports")
    page.open_folder()
    assert str(tmp_path / "exports") in page.result.toPlainText()
    assert QApplication.clipboard().text() == str(tmp_path / "exports")


def test_the_last_project_reopens(tmp_path):
    from gui.state import default_project_dir, last_project_dir

    first, second = Project.open(tmp_path / "first"), Project.open(tmp_path / "second")
    state = AppState(first)
    assert last_project_dir() == first.root
    state.open_project(second.root)
    assert last_project_dir() == second.root
    import shutil
    shutil.rmtree(second.root)   # a project folder deleted since: the default project instead
    assert last_project_dir() == default_project_dir()
