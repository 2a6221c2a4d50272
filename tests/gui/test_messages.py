"""Core's English messages in the Russian GUI (gui/messages.py, resources/i18n/messages.ru.json).

Messages are made by calling core where that is cheap (ingest of bad files, model and project
errors, the training child's death, the export checks) and written out otherwise. A translated
message must have Cyrillic and keep what varies (file names, numbers, paths) as it was; text the
catalog does not know, and everything in the English UI, comes back unchanged.
"""
from __future__ import annotations

import ast
import json
import os
import re
import string
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from core.config import ConfigError, CorpusConfig, TrainConfig  # noqa: E402
from core.project import Project, ProjectError  # noqa: E402
from gui import i18n, messages  # noqa: E402
from gui.messages import is_known, translate_message  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
REALDOCS = Path(os.environ.get("SCRIPTORIUM_REALDOCS", ROOT.parent / "shared" / "realdocs"))   # as tests/conftest.py
BOOK = """Река текла мимо старой мельницы, и мельник считал проплывающие лодки.
Вечером библиотекарь читала вслух, а дети слушали, затаив дыхание.

Письмо пришло во вторник. Оно было написано зелёными чернилами и пахло хвоей.
Пекарь открывал лавку до рассвета, и вся улица просыпалась от запаха хлеба.
"""
SECTIONS = json.loads((ROOT / "resources" / "i18n" / "messages.ru.json").read_text(encoding="utf-8"))
ENTRIES = [(english, russian) for entries in SECTIONS.values() if isinstance(entries, dict)
           for english, russian in entries.items()]
CYRILLIC = re.compile("[А-Яа-яЁё]")


def ru(text: str) -> str:
    return translate_message(text, "ru")


def assert_russian(english: str, *kept: str) -> str:
    """The Russian of ``english``: known, with Cyrillic, every ``kept`` part still in it."""
    russian = ru(english)
    assert is_known(english), f"no translation for {english!r}"
    assert CYRILLIC.search(russian) and russian != english, f"{english!r} → {russian!r}"
    for part in kept:
        assert part in russian, f"{part!r} lost: {english!r} → {russian!r}"
    return russian


# ---------------------------------------------------------------- the catalog
@pytest.mark.parametrize("english, russian", ENTRIES, ids=[e[:60] for e, _ in ENTRIES])
def test_entry_is_russian_with_the_same_fields(english, russian):
    literal = lambda text: "".join(part for part, *_ in string.Formatter().parse(text))  # noqa: E731
    structural = literal(russian) == literal(english)   # "{name}: {warnings}": only puts translated parts together
    assert russian.strip() and (CYRILLIC.search(russian) or structural), english
    names = {name for name, _ in messages.fields(english)}
    assert {name for name, _ in messages.fields(russian)} == names, f"fields differ: {english!r} → {russian!r}"
    template = messages.compile_template(english, russian) if names else None   # compiles; kinds are known
    for name, spec in messages.fields(russian):
        if spec:   # a translation only picks plural forms, and only for a field that matches a number
            assert len(spec.split("|")) == 3, f"{english!r}: Russian plural needs one|few|many: {spec!r}"
            assert template.kinds[name] in ("int", "num"), f"{english!r}: {{{name}}} is not a number"


def test_keys_are_unique_across_sections():
    english = [e for e, _ in ENTRIES]
    assert len(english) == len(set(english))
    assert len(ENTRIES) >= 200


def test_specific_templates_are_tried_first():
    order = [t.english for t in messages.catalog("ru").templates]
    assert order.index("{name}: the file is empty") < order.index("{name}: {warnings:msgs}")


# ---------------------------------------------------------------- messages made by core
@pytest.fixture(scope="module")
def outcomes(tokenizer, tmp_path_factory, realdocs_or_none):
    """Outcome reasons of a real ingest: bad files, warnings, duplicates (and realdocs where present)."""
    from core.ingest import ingest

    folder = tmp_path_factory.mktemp("messages")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "junk.txt").write_bytes(b"\x00\x01\x02binary\x00" * 10)
    (folder / "notes.xyz").write_text("hello", encoding="utf-8")
    (folder / "broken.zip").write_bytes(b"PK\x03\x04garbage")
    (folder / "книга.txt").write_text(BOOK, encoding="utf-8")
    (folder / "книга (копия).txt").write_text(BOOK + "\n", encoding="utf-8")
    (folder / "damaged.txt").write_bytes(BOOK[::-1].encode().replace("мельник"[::-1].encode(), b"\xff\xfe"))
    spaced = "\n\n".join(["T h e r i v e r r a n p a s t t h e o l d m i l l a n d t h e m i l l e r"] * 6)
    (folder / "scan.txt").write_text("The miller counted the boats that went by, one by one.\n\n" + spaced,
                                     encoding="utf-8")
    files = [folder / n for n in ("empty.txt", "junk.txt", "notes.xyz", "broken.zip", "книга.txt",
                                  "книга (копия).txt", "damaged.txt", "scan.txt", "книга.txt")]
    if realdocs_or_none:
        files += [realdocs_or_none / "bad" / "encrypted_aes256_pdfminer.pdf",
                  realdocs_or_none / "pdf" / "scanned_image_only_issue5481.pdf",
                  realdocs_or_none / "doc" / "antiword_testdoc.doc"]
    config = CorpusConfig(file_timeout_s=0, noise_action="flag")
    result = ingest(Project.open(folder / "project"), files, tokenizer, config)
    return {Path(o.path).name: o for o in result.outcomes}


@pytest.fixture(scope="module")
def realdocs_or_none():
    return REALDOCS if REALDOCS.is_dir() else None


@pytest.mark.parametrize("name, status, expected", [
    ("empty.txt", "failed", "пуст"),
    ("junk.txt", "failed", "двоичные данные"),
    ("notes.xyz", "failed", "не поддерживается"),
    ("broken.zip", "failed", "архив повреждён"),
    ("книга (копия).txt", "skipped", "тот же текст"),
    ("damaged.txt", "warning", "2 нечитаемые последовательности байтов заменены"),
    ("scan.txt", "warning", "6 из 7 абзацев похожи"),
])
def test_ingest_outcomes_in_russian(outcomes, name, status, expected):
    outcome = outcomes[name]
    assert outcome.status == status, outcome.reason
    russian = assert_russian(outcome.reason, name)
    assert expected in russian


def test_same_file_twice_and_near_duplicate_keep_title_and_share(outcomes):
    twin = assert_russian(outcomes["книга (копия).txt"].reason, "«", "%")
    assert re.search(r"сходство \d+%", twin)
    unchanged = [o for o in outcomes.values() if o.status == "skipped" and "unchanged" in o.reason]
    assert unchanged and "уже в корпусе" in assert_russian(unchanged[0].reason, "книга.txt")


@pytest.mark.parametrize("name, expected", [
    ("encrypted_aes256_pdfminer.pdf", "защищён паролем"),
    ("scanned_image_only_issue5481.pdf", "нет текстового слоя"),
    ("antiword_testdoc.doc", "Word 97–2003"),
])
def test_realdocs_outcomes_in_russian(outcomes, realdocs_or_none, name, expected):
    if realdocs_or_none is None:
        pytest.skip("../shared/realdocs not present")
    assert expected in assert_russian(outcomes[name].reason, name)


def test_model_and_project_errors_in_russian(tmp_path):
    from core.models import ModelError, resolve

    (tmp_path / "notes.txt").write_text("not a model", encoding="utf-8")
    folder = tmp_path / "my model"
    folder.mkdir()
    (folder / "weights.gguf").write_bytes(b"")
    cases = [(tmp_path / "missing", "нет такого файла или папки"), (tmp_path / "notes.txt", "это не модель"),
             (folder, "вы имели в виду файл")]
    for source, expected in cases:
        with pytest.raises(ModelError) as caught:
            resolve(str(source))
        assert expected in assert_russian(str(caught.value), str(source))
    with pytest.raises(ProjectError) as caught:
        Project.open(tmp_path / "notes.txt")
    assert "не папка" in assert_russian(str(caught.value), "notes.txt")
    with pytest.raises(ProjectError) as caught:
        Project.open(tmp_path / "empty project").run_dir()
    assert "«Обучение»" in assert_russian(str(caught.value), "empty project")


def test_training_death_and_settings_in_russian():
    from core.train.runner import _death_reason

    killed = _death_reason(-9) + "; the last good checkpoint is /p/runs/r1/checkpoint-40 (resume the run to continue)"
    assert "закончилась память" in assert_russian(killed, "SIGKILL", "/p/runs/r1/checkpoint-40")
    assert_russian(_death_reason(3), "3")
    from core.child import death_reason
    for what in ("the evaluation process", "the reading process"):   # the window's other children
        assert "закончилась память" in assert_russian(death_reason(-9, what), "SIGKILL")
        assert_russian(death_reason(2, what), "2")
    with pytest.raises(ConfigError) as caught:
        TrainConfig(lr=2.0)
    assert_russian(str(caught.value), "lr", "(0, 1]")


def test_export_checks_in_russian(tmp_path):
    from core.export.gguf_lora import BaseInfo, ExportError, check_adapter_config
    from core.export.job import check_base_matches
    from core.export.verify import describe

    with pytest.raises(ExportError) as caught:
        check_adapter_config({"use_dora": True})
    assert "DoRA" in assert_russian(str(caught.value))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama", "num_hidden_layers": 30,
                                                      "hidden_size": 576, "vocab_size": 49152}))
    base = BaseInfo("/models/qwen.gguf", "qwen2", 24, 896, 14, 2, 151936, {})
    with pytest.raises(ExportError) as caught:
        check_base_matches(base, str(tmp_path))
    russian = assert_russian(str(caught.value), "/models/qwen.gguf", "qwen2 ≠ llama", "24 ≠ 30")
    assert "число слоёв" in russian and "архитектура" in russian
    report = {"tokens": 256, "adapter_effect": 0.12, "passed": False,
              "adapter": {"argmax_agreement": 0.996, "mean_abs_diff": 0.012, "correlation": 0.9999, "threshold": 0.98},
              "merged": {"argmax_agreement": 0.9, "mean_abs_diff": 0.3, "correlation": 0.99}}
    russian = assert_russian(describe(report), "256", "12%", "99.6%", "0.9999", "90.0%")
    assert "НЕ пройдена" in russian and "не оценивается" in russian and not re.search("agrees|Checked", russian)


@pytest.mark.parametrize("english, kept", [
    ("loss became nan at step 12; lower the learning rate. Last good checkpoint: /r/checkpoint-10",
     ["nan", "12", "/r/checkpoint-10"]),
    ("out of memory even with one block per micro-batch; lower max_seq_len", ["max_seq_len"]),
    ("Out of GPU memory: halving the micro-batch and doubling accumulation (now 4 pieces per micro-batch) and "
     "retrying the step", ["4 части"]),
    ("OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB", ["CUDA out of memory. Tried to allocate"]),
    ("MemoryError", []),
    ("[Errno 28] No space left on device: '/data/exports/run-1/adapter.gguf'", ["'/data/exports/run-1/adapter.gguf'"]),
    ("could not write /data/adapter.gguf: No space left on device", ["/data/adapter.gguf", "не осталось места"]),
    ("/m/rwkv: a 'rwkv' model cannot be written to GGUF here (supported: gemma, llama, mistral, qwen2); use the "
     "model's own GGUF with --base-gguf", ["/m/rwkv", "«rwkv»", "«Базовый GGUF»"]),
    ("Writing Qwen2-0.5B as a GGUF for llama.cpp (once; cached)…", ["Qwen2-0.5B"]),
    ("Your books in Russian do not fit the base model SmolLM2-135M-Instruct: it reads them at 2.6 bits per character, "
     "3.1× what it needs for English (0.8) — it does not know Russian, so it cannot learn these books or answer in "
     "Russian.", ["SmolLM2-135M-Instruct", "2.6", "3.1×", "по-русски"]),
    ("Qwen/Qwen2-0.5B: could not fetch from the Hugging Face hub (LocalEntryNotFoundError); if this machine is "
     "offline, download the model elsewhere and choose its folder", ["Qwen/Qwen2-0.5B", "LocalEntryNotFoundError"]),
    ("/p/runs/r1: no GGUF export yet; run `python main.py export --project /p --run r1` first", ["/p/runs/r1"]),
    ("/p: the corpus is empty; add files first (`python main.py ingest FILE --project /p`)", ["/p"]),
    ("Training plan: CPU, LoRA, bfloat16 autocast — bf16 matmul measured 1.9× fp32 on this CPU. 121 samples in 31 "
     "blocks (94% real tokens), 4 held-out, 200 steps", ["121 пример ", "31 блоке", "1.9×", "94%", "200"]),
    ("Reading Война и мир.fb2", ["Война и мир.fb2"]),
    ("qa: 12/40 chunks, ETA 95 s", ["12/40", "95"]),
    ("qa: 7 usable samples from 5 chunks; dropped: 3 copy of the prompt, 1 off-topic question",
     ["7", "5 фрагментов", "копия запроса — 3", "вопрос не по теме — 1"]),
    ("x.zip: 'a.txt' is compressed 1000× — refused as a possible zip bomb", ["x.zip", "«a.txt»", "1000 раз "]),
    ("Имя: с двоеточием.txt: the file is empty", ["Имя: с двоеточием.txt: файл пуст"]),
])
def test_written_messages_in_russian(english, kept):
    assert_russian(english, *kept)


def test_plural_forms_agree_with_the_number():
    warning = "{n} chapter file(s) missing from the EPUB were skipped"
    assert ru(warning.format(n=1)) == "в EPUB не хватает 1 файла главы — пропущен"
    assert ru(warning.format(n=3)) == "в EPUB не хватает 3 файлов глав — пропущены"
    assert "21 нечитаемая последовательность байтов заменена" in ru(
        "a.txt: 21 undecodable byte sequence(s) replaced by '\ufffd' (damaged file?)")


def test_a_reason_with_an_unknown_warning_keeps_it_in_english():
    mixed = ru("book.pdf: 3 of 9 pages have no text layer (scanned?) — those need OCR; a warning core adds later")
    assert mixed == ("book.pdf: на 3 из 9 страниц нет текстового слоя (скан?) — для них нужно распознавание текста "
                     "(OCR); a warning core adds later")


@pytest.mark.parametrize("text", ["Something nobody translated", "book.txt: a reason core adds later", "", "   ",
                                  "the file is empty", "loss became nan at step x; lower it", "x" * 10000,
                                  "Notes: 1 of 2 paragraphs look like OCR noise (dropped) — no"])
def test_unknown_text_is_unchanged(text):
    assert ru(text) == text


def test_english_ui_returns_text_unchanged():
    reason = "book.pdf: no text layer — needs OCR (the pages are scanned images)"
    assert i18n.language() == "en"                  # tests/gui/conftest.py
    assert messages.tr_message(reason) == reason
    assert translate_message(reason, "en") == reason


def test_tr_message_follows_the_ui_language(russian):
    assert messages.tr_message("book.txt: the file is empty") == "book.txt: файл пуст"


def test_a_broken_catalog_never_raises(monkeypatch):
    monkeypatch.setattr(messages, "_lookup", lambda *a: 1 / 0)
    assert translate_message("book.txt: the file is empty", "ru") == "book.txt: the file is empty"


# ---------------------------------------------------------------- every ingest reason core can give
def _ingest_reasons() -> list[str]:
    """Reasons and warnings written in core/ingest, with '7' (or a listed word) where they vary."""
    # f"{name}: {junk}" (readers.py): the whole reason is junk.all_junk()'s verdict
    samples = {"verb": "flagged", "junk": "looks like damaged PDF internals, not text — no readable text in it"}

    def render(node) -> str | None:
        if isinstance(node, ast.Subscript):   # f"…"[:300]
            return render(node.value)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(v.value if isinstance(v, ast.Constant) else samples.get(ast.unparse(v.value), "7")
                           for v in node.values)
        return None

    found = set()
    for path in sorted((ROOT / "core" / "ingest").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            func = getattr(node, "func", None)
            if isinstance(node, ast.Call) and getattr(func, "attr", "") in ("log", "progress", "metric", "warning"):
                continue   # the ingest job's own log lines, not reasons
            values = (node.args if isinstance(node, ast.Call) else node.elts if isinstance(node, ast.Tuple)
                      else [node.value] if isinstance(node, ast.Return) and node.value else [])
            for value in values:
                text = render(value)
                is_reason = text and re.match(r"7: \S", text)
                is_warning = (isinstance(node, ast.Call) and getattr(func, "attr", "") == "append"
                              and getattr(func.value, "attr", "") == "warnings")
                if is_reason or (is_warning and text):
                    found.add(text if is_reason else f"7: {text}")
    return sorted(found)


def test_every_ingest_reason_is_translated():
    reasons = _ingest_reasons()
    assert len(reasons) > 50 and "7: the file is empty" in reasons
    missing = [r for r in reasons if not is_known(r) or not CYRILLIC.search(ru(r))]
    assert not missing, f"core/ingest reasons without Russian (add them to resources/i18n/messages.ru.json): {missing}"


# ---------------------------------------------------------------- the Corpus page shows them
def test_corpus_page_shows_russian_reasons(qtbot, russian, tmp_path):
    from gui.pages.corpus_page import CorpusPage
    from gui.state import AppState

    project = Project.open(tmp_path / "project")
    rows = [{"path": str(tmp_path / "scan.pdf"), "status": "failed", "reason": "scan.pdf: no text layer — needs OCR "
             "(the pages are scanned images)", "chunks": 0, "tokens": 0},
            {"path": str(tmp_path / "odd.bin"), "status": "failed", "reason": "odd.bin: a reason core adds later"},
            {"path": str(tmp_path / "book.md"), "status": "ok", "reason": "", "chunks": 3, "tokens": 900,
             "encoding": "utf-8"}]
    (project.corpus_dir).mkdir(parents=True, exist_ok=True)
    (project.corpus_dir / "files.json").write_text(json.dumps(rows), encoding="utf-8")
    state = AppState(project)
    page = CorpusPage(state)
    qtbot.addWidget(page)
    details = [page.table.item(r, 3) for r in range(3)]
    # the file name core puts first is in the File column already; the English original is in the tooltip
    assert details[0].text().startswith("Нет текстового слоя — нужно распознавание текста (OCR)")
    assert details[0].toolTip() == f"{details[0].text()}\n\n{rows[0]['reason']}"
    assert details[1].text() == "A reason core adds later" == details[1].toolTip()   # unknown: English, as it was
    assert "токен" in details[2].text()
    assert page.table.item(0, 1).text() == "Ошибка"
    page.on_failed("device=mps: Apple GPU not available")
    assert page.summary.text() == "Не удалось прочитать файлы: device=mps: видеокарта Apple недоступна"
    state.jobs.stop_all()


@pytest.mark.parametrize("reason, path, shown", [
    ("book.pdf: the PDF has no pages", "/b/book.pdf", "The PDF has no pages"),
    ("a.zip/inner.txt: the file is empty", "/b/a.zip/inner.txt", "The file is empty"),        # archive member
    ("/b/gone.txt: file not found", "/b/gone.txt", "File not found"),                          # full path
    ("Notes: vol 1.txt: the file is empty", "/b/Notes: vol 1.txt", "The file is empty"),      # ": " in the name
    ("other.txt: the file is empty", "/b/book.txt", "other.txt: the file is empty"),           # not this file
])
def test_corpus_details_drop_the_file_name(reason, path, shown):
    from gui.pages.corpus_page import _without_file_name

    assert _without_file_name(reason, reason, path) == shown
    russian = _without_file_name(ru(reason), reason, path)
    assert CYRILLIC.search(russian) and not russian.startswith(Path(path).name + ":")
