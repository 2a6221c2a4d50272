"""core.project: the project folder, its metadata, atomic writes and run lookup."""
from __future__ import annotations

import json
import os
import stat

import pytest
import yaml

from core import __version__
from core.config import CorpusConfig, ModelConfig, TrainConfig
from core.project import (Project, ProjectError, append_jsonl, atomic_write_json, atomic_write_text, read_jsonl,
                          write_jsonl)


def test_open_creates_folder_and_project_yaml(tmp_path):
    root = tmp_path / "new" / "my-book"
    project = Project.open(root)
    assert project.root == root.resolve()
    meta = yaml.safe_load((root / "project.yaml").read_text(encoding="utf-8"))
    assert meta["name"] == "my-book"
    assert meta["model"] == {"source": "embedded"}
    assert meta["app_version"] == __version__
    assert meta["created"] and meta["updated"]
    assert project.model == ModelConfig()


def test_open_again_keeps_metadata(tmp_path):
    project = Project.open(tmp_path / "p")
    project.set_model(ModelConfig("/models/tiny"))
    again = Project.open(tmp_path / "p", create=False)
    assert again.model.source == "/models/tiny"
    assert again.meta()["created"] == project.meta()["created"]


def test_open_missing_without_create_raises(tmp_path):
    with pytest.raises(ProjectError, match="not a Scriptorium project"):
        Project.open(tmp_path / "nothing-here", create=False)
    assert not (tmp_path / "nothing-here").exists()


def test_open_on_a_file_raises(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text("x")
    with pytest.raises(ProjectError, match="not a folder"):
        Project.open(path)


def test_settings_round_trip_and_fallback(tmp_path):
    project = Project.open(tmp_path / "p")
    assert project.settings("train") == TrainConfig()
    project.save_settings(train=TrainConfig(steps=9), corpus=CorpusConfig(chunk_tokens=64))
    assert project.settings("train").steps == 9
    assert project.settings("corpus").chunk_tokens == 64
    project.update_meta(settings={"train": {"no_such_setting": 1}})  # hand-edited or from a newer version
    assert project.settings("train") == TrainConfig()


def test_atomic_write_text_creates_parents_and_permissions(tmp_path):
    path = tmp_path / "a" / "b" / "c.txt"
    atomic_write_text(path, "Привет\n")
    assert path.read_text(encoding="utf-8") == "Привет\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["c.txt"]  # no temp file left


def test_atomic_write_keeps_old_file_when_the_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "meta.json"
    atomic_write_json(path, {"version": 1})

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write_json(path, {"version": 2})
    monkeypatch.undo()
    assert json.loads(path.read_text(encoding="utf-8")) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["meta.json"]  # the temp file was removed


def test_jsonl_helpers(tmp_path):
    path = tmp_path / "rows.jsonl"
    assert list(read_jsonl(path)) == []  # missing file reads as empty
    assert write_jsonl(path, [{"a": 1}, {"b": "ё"}]) == 2
    append_jsonl(path, {"c": 3})
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n   \n")  # blank lines are ignored
    assert list(read_jsonl(path)) == [{"a": 1}, {"b": "ё"}, {"c": 3}]
    assert "ё" in path.read_text(encoding="utf-8")


def test_stage_folders(tmp_path):
    project = Project.open(tmp_path / "p")
    assert project.corpus_dir == project.root / "corpus"
    assert project.dataset_dir("chat") == project.root / "datasets" / "chat"
    assert project.runs_dir == project.root / "runs"


def test_run_dir_without_runs_says_what_to_do(tmp_path):
    project = Project.open(tmp_path / "p")
    with pytest.raises(ProjectError) as err:
        project.run_dir()
    message = str(err.value)
    assert "no trained run" in message and "train" in message and str(project.root) in message


def test_run_dir_lookup(tmp_path):
    project = Project.open(tmp_path / "p")
    first, second = project.new_run_dir(), project.new_run_dir()
    assert first != second and first.is_dir() and second.is_dir()  # same second: suffixed, not reused
    for run in (first, second):
        (run / "config.yaml").write_text("{}\n")
    (first / "adapter").mkdir()
    (first / "adapter" / "adapter_config.json").write_text("{}")
    assert project.runs() == sorted([first, second])
    assert project.run_dir() == first  # the newest run *with an adapter*
    assert project.run_dir(second.name) == second
    with pytest.raises(ProjectError, match="no such run"):
        project.run_dir("19990101-000000")
