"""The CPU precision plan: its cached measurement belongs to one CPU, not to every x86_64 host."""
import json

from core.train import precision


def test_cache_is_keyed_by_the_cpu(monkeypatch, tmp_path):
    monkeypatch.setattr("core.models.cache_root", lambda: tmp_path)
    calls = []
    monkeypatch.setattr(precision, "matmul_gflops",
                        lambda name, **k: calls.append(name) or (2.0 if name == "bfloat16" else 1.0))
    monkeypatch.setattr(precision, "cpu_identity", lambda: "Old CPU|amx_bf16")
    assert precision.cpu_bf16_speedup() == 2.0 and precision.cpu_bf16_speedup() == 2.0
    assert len(calls) == 2  # measured once, then cached
    monkeypatch.setattr(precision, "cpu_identity", lambda: "New CPU|")
    assert precision.cpu_bf16_speedup() == 2.0 and len(calls) == 4  # a new host measures again
    assert "New CPU" in json.loads((tmp_path / "cpu_bf16.json").read_text())["key"]


def test_cpu_identity_names_the_model():
    ident = precision.cpu_identity()
    assert ident and "|" in ident
