"""Hostile and broken files: each is refused or read with a clear reason, in bounded time and memory."""
from __future__ import annotations

import io
import time
import zipfile

import pytest

from core.config import CorpusConfig
from core.ingest.readers import IngestError, read_file
from core.ingest.worker import ReaderWorker, Source
from samples import PROSE, fb2_bytes, giant_line, make_hostile, make_pdf, wrap


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    return make_hostile(tmp_path_factory.mktemp("hostile"), giant_mb=1)


@pytest.mark.parametrize("name, reason", [
    ("zip_bomb.zip", "zip bomb"),
    ("epub_bomb.epub", "zip bomb"),
    ("billion_laughs.fb2", "billion laughs"),
    ("xxe.fb2", "refused for safety"),
    ("truncated.epub", "ends early"),  # cut inside its first chapter (truncated.pdf keeps its first page)
    ("binary.txt", "binary data, not text"),
    ("empty.txt", "the file is empty"),
    ("zero_bytes.md", "the file is empty"),
    ("drm.epub", "DRM"),
    ("password.pdf", "password-protected"),
    ("fake.pdf", "damaged PDF"),
])
def test_hostile_file_is_refused_with_a_reason(hostile, name, reason):
    with pytest.raises(IngestError) as err:
        read_file(hostile[name])
    message = str(err.value)
    assert message.startswith(name) and reason in message and "\n" not in message


def test_invalid_utf8_keeps_the_text_and_warns(hostile):
    doc = read_file(hostile["invalid_utf8.txt"])
    assert doc.encoding == "utf-8" and "Привет, мир!" in doc.text
    assert doc.warnings and "undecodable" in doc.warnings[0]


def test_total_unpacked_size_is_capped(tmp_path):
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("a.txt", PROSE * 4000)
    with pytest.raises(IngestError, match="over the 1 MB limit"):
        read_file(path, CorpusConfig(max_unpacked_mb=1))


def test_lying_zip_header_is_stopped_while_unpacking(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("book.fb2", fb2_bytes([("Глава", [PROSE] * 200)]))
    data = bytearray(buffer.getvalue())
    # Shrink the declared size in the central directory: the reader must not trust it.
    central = data.rfind(b"PK\x01\x02")
    data[central + 24:central + 28] = (100).to_bytes(4, "little")
    path = tmp_path / "liar.fb2.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(IngestError, match="damaged or incomplete archive|zip bomb"):
        read_file(path)


def test_file_size_cap(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"word " * 300_000)
    with pytest.raises(IngestError, match="over the 1 MB limit per file"):
        read_file(path, CorpusConfig(max_file_mb=1))


def test_encrypted_pdf_with_empty_user_password_opens(tmp_path):
    path = make_pdf(tmp_path / "locked.pdf", [wrap(PROSE, 60)], header="", encrypt=("", "owner-secret"))
    assert "keeper climbed" in read_file(path).text


def test_legacy_doc_gets_save_as_docx_advice(tmp_path):
    path = tmp_path / "old.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2048)
    with pytest.raises(IngestError, match=r"old\.doc: legacy Word .* save it as \.docx"):
        read_file(path)


def test_image_only_pdf_needs_ocr(tmp_path):
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas
    from PIL import Image

    image = Image.new("L", (200, 100), 200)
    path = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(path))
    for _ in range(2):
        c.drawImage(ImageReader(image), 50, 500, 400, 200)
        c.showPage()
    c.save()
    with pytest.raises(IngestError, match="no text layer — needs OCR"):
        read_file(path)


def test_giant_single_line_is_read_in_bounded_time(tmp_path):
    path = tmp_path / "giant_single_line.txt"
    path.write_bytes(giant_line(50 << 20))
    started = time.monotonic()
    with ReaderWorker(timeout_s=120) as worker:
        doc = worker.read(Source(str(path)), CorpusConfig())
    seconds = time.monotonic() - started
    assert doc.stats["long_paragraphs_split"] > 1000
    assert max(len(p) for p in doc.sections[0].paragraphs) <= 20_000
    assert seconds < 60, f"reading 50 MB took {seconds:.0f} s"


def test_time_budget_gives_up_and_the_next_file_still_reads(tmp_path):
    slow = tmp_path / "slow.txt"
    slow.write_text(PROSE, encoding="utf-8")
    with ReaderWorker(timeout_s=0.001) as worker:  # less than the child needs to start: always too slow
        with pytest.raises(IngestError, match="took longer than 0.001 s to read"):
            worker.read(Source(str(slow)), CorpusConfig())
        worker.timeout_s = 30
        assert "keeper" in worker.read(Source(str(slow)), CorpusConfig()).text


def test_reader_exceptions_become_reasons(tmp_path, monkeypatch):
    from core.ingest import worker as worker_module

    def explode(source, config):
        raise ValueError("library bug")

    monkeypatch.setattr(worker_module, "read_source", explode)
    with ReaderWorker(timeout_s=0) as worker, pytest.raises(IngestError, match="looks damaged"):
        worker.read(Source(str(tmp_path / "x.txt")), CorpusConfig())
