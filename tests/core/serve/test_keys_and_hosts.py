"""The server's guards without a model: the per-project key, loopback-only binding (issue 15)."""
from __future__ import annotations

import json
import stat

import pytest

from core.project import Project
from core.serve import ServeError, api_key, check_host
from core.serve.keys import key_path


def test_the_key_is_per_project_stable_private_and_rotatable(tmp_path):
    first, other = Project.open(tmp_path / "a"), Project.open(tmp_path / "b")
    key = api_key(first)
    assert key.startswith("sk-scriptorium-") and len(key) > 30
    assert api_key(first) == key  # a configured client keeps working across restarts
    assert api_key(other) != key
    assert stat.S_IMODE(key_path(first).stat().st_mode) == 0o600
    assert api_key(first, rotate=True) != key


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_no_flag(host):
    check_host(host, allow_remote=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "myhost.example"])
def test_any_other_address_needs_the_flag_and_then_warns(host):
    with pytest.raises(ServeError, match="--allow-remote"):
        check_host(host, allow_remote=False)
    events = []
    check_host(host, allow_remote=True, report=events.append)
    assert any(e.kind == "warning" and "network" in e.message for e in events)


def test_cli_refuses_a_remote_bind_before_loading_anything(tmp_path, capsys):
    from core.cli import main

    Project.open(tmp_path / "p")
    code = main(["serve", "--project", str(tmp_path / "p"), "--host", "0.0.0.0", "--json"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 1 and "--allow-remote" in summary["error"]
