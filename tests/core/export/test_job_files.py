"""The export folder stands alone: the base GGUF is placed beside the Modelfile (issue 15)."""
from __future__ import annotations

import os

from core.export.job import place_base, written_files


def test_base_is_linked_into_the_export_folder_and_outlives_the_original(tmp_path):
    venv = tmp_path / "venv" / "site-packages"
    venv.mkdir(parents=True)
    original = venv / "smollm2-135m-instruct.gguf"
    original.write_bytes(b"GGUF" + os.urandom(1000))
    out = tmp_path / "exports" / "run1"
    out.mkdir(parents=True)

    placed = place_base(original, out)
    assert placed.parent == out and placed.name == "base-smollm2-135m-instruct.gguf"
    assert placed.read_bytes() == original.read_bytes()
    assert place_base(original, out) == placed  # a second export reuses it
    original.unlink()  # the virtualenv is rebuilt
    assert placed.read_bytes()[:4] == b"GGUF"
    assert written_files(out) == [str(placed)]
