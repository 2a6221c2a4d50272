"""A long PDF's pages read on two cores: PDFium's text extraction is most of a PDF's reading time,
and it is single-threaded (and not thread-safe), so the second half of the pages is read in a
forked copy of this process while this one reads the first half.

Only where that is safe and pays: Linux (fork, and a child that dies with its parent), a process
with no other threads (the ingest worker is one; a GUI or a test runner with threads reads serially),
at least two CPUs, a PDF of ``PARALLEL_PAGES`` pages or more that opened without repair. The child
is bounded: it dies with its parent (which the ingest worker's time budget already bounds) and after
``CHILD_SECONDS`` at the latest. Whatever goes wrong in it, the parent reads those pages itself —
the result is always the same as a serial read.
"""
from __future__ import annotations

import os
import pickle
import sys
import threading

PARALLEL_PAGES = 48
CHILD_SECONDS = 600


def read_pages_parallel(pdf, data: bytes, repaired: bool) -> list[tuple[list[str], bool, bool]]:
    """``pdf.read_pages`` over every page of ``pdf`` (opened from ``data``), on two cores when it can."""
    from core.ingest.formats.pdf import read_pages

    total = len(pdf)
    if repaired or total < PARALLEL_PAGES or not _can_fork():
        return read_pages(pdf, range(total), repaired)
    half = total // 2
    readable, writable = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the second half, pickled down the pipe, then gone without cleanup
        status = 1
        try:
            os.close(readable)
            _die_with_parent()
            import pypdfium2 as pdfium

            own = pdfium.PdfDocument(data)  # (its own document: nothing of the parent's is touched)
            payload = pickle.dumps(read_pages(own, range(half, total), False), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(writable, "wb") as stream:
                stream.write(payload)
            status = 0
        finally:
            os._exit(status)
    os.close(writable)
    try:
        first = read_pages(pdf, range(half), repaired)
        with os.fdopen(readable, "rb") as stream:
            payload = stream.read()
    finally:
        _, status = os.waitpid(pid, 0)
    second = None
    if status == 0 and payload:
        try:
            second = pickle.loads(payload)
        except Exception:  # noqa: BLE001 — a broken answer: read those pages here instead
            second = None
    if second is None or len(second) != total - half:
        second = read_pages(pdf, range(half, total), repaired)
    return first + second


def _can_fork() -> bool:
    return (sys.platform.startswith("linux") and hasattr(os, "fork") and threading.active_count() == 1
            and (os.cpu_count() or 1) >= 2 and os.environ.get("SCRIPTORIUM_SERIAL_PDF") != "1")


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies, and SIGALRM it after CHILD_SECONDS."""
    import ctypes
    import signal

    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(CHILD_SECONDS)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the parent died before the request above took effect
        os._exit(1)
