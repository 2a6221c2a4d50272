"""A long PDF read on two cores gives exactly what a serial read gives, and a child that fails
costs nothing but time: the parent reads its pages itself."""
from __future__ import annotations

import sys

import pytest

from core.config import CorpusConfig
from core.ingest.formats import pdf, pdf_pages
from samples import book_pdf

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the two-core read is Linux-only")


def _read(path, monkeypatch, parallel: bool):
    monkeypatch.setattr(pdf_pages, "_can_fork", lambda: parallel)
    doc = pdf.read(path.read_bytes(), path.name, str(path), CorpusConfig())
    return [(s.heading, s.paragraphs) for s in doc.sections], doc.stats, doc.warnings


@pytest.fixture(scope="module")
def long_pdf(tmp_path_factory):
    return book_pdf(tmp_path_factory.mktemp("pdf") / "long.pdf", pages=pdf_pages.PARALLEL_PAGES + 3)


def test_two_cores_read_what_one_reads(long_pdf, monkeypatch):
    assert _read(long_pdf, monkeypatch, True) == _read(long_pdf, monkeypatch, False)


def test_a_failing_child_is_covered_by_the_parent(long_pdf, monkeypatch):
    serial = _read(long_pdf, monkeypatch, False)

    def broken(*args, **kwargs):  # runs in the forked child only: the parent never pickles
        raise RuntimeError("child fails")

    monkeypatch.setattr(pdf_pages.pickle, "dumps", broken)
    assert _read(long_pdf, monkeypatch, True) == serial


def test_short_or_repaired_pdfs_read_serially(monkeypatch):
    calls = []
    monkeypatch.setattr(pdf_pages.os, "fork", lambda: calls.append(1) or 0)

    class Doc:
        def __len__(self):
            return pdf_pages.PARALLEL_PAGES - 1

    monkeypatch.setattr(pdf, "read_pages", lambda doc, indices, repaired: [([], False, False)] * len(indices))
    assert len(pdf_pages.read_pages_parallel(Doc(), b"", False)) == pdf_pages.PARALLEL_PAGES - 1
    Doc.__len__ = lambda self: 100
    assert len(pdf_pages.read_pages_parallel(Doc(), b"", True)) == 100
    assert not calls
