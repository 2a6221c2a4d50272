"""The per-file time budget: files are read in a child process that is killed when it overruns.

A pathological PDF or a decompression trick can make a reader spin for minutes or crash the
interpreter (PDFium is C++). Reading happens in one long-lived child process (started with
"spawn": no Qt or tokenizer threads are inherited), fed one file at a time over a pipe. When a
file takes longer than the budget, or the child dies, the child is killed, the file gets a plain
reason, and a fresh child reads the next file. ``timeout_s == 0`` reads in-process instead.
"""
from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass

from core.ingest.document import Document, IngestError


@dataclass(frozen=True)
class Source:
    """One document to read: a file, or a member of a zip archive (``member`` set)."""

    path: str
    member: str = ""

    @property
    def name(self) -> str:
        base = os.path.basename(self.path) or self.path
        return f"{base}/{self.member}" if self.member else base

    @property
    def display(self) -> str:
        return f"{self.path}/{self.member}" if self.member else self.path


def read_source(source: Source, config) -> Document:
    """Read and clean one source (runs in the child process, or in-process without a budget)."""
    from core.ingest.limits import Limits, SafeZip, check_size
    from core.ingest.readers import finish, read_bytes

    limits = Limits.from_config(config)
    try:
        check_size(os.path.getsize(source.path), source.name, limits)
        with open(source.path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise IngestError(f"{source.name}: cannot be read ({exc.strerror or exc})") from None
    if source.member:
        data = SafeZip(data, os.path.basename(source.path), limits).read(source.member)
    doc = read_bytes(data, source.name, source.display, config, limits, depth=1 if source.member else 0)
    return finish(doc, source.name, config)


def safe_read(source: Source, config) -> tuple[str, object]:
    """("ok", Document) or ("error", reason): nothing a reader raises escapes as a traceback."""
    try:
        return "ok", read_source(source, config)
    except IngestError as exc:
        return "error", str(exc)
    except MemoryError:
        return "error", f"{source.name}: too large to read in the memory available"
    except RecursionError:
        return "error", f"{source.name}: nested too deeply to read (damaged or hostile file?)"
    except Exception as exc:  # a library bug on a strange file must cost that file only
        return "error", f"{source.name}: could not be read — the file looks damaged ({type(exc).__name__}: {exc})"[:300]


def _serve(conn) -> None:
    """Child process loop: read requests until the pipe closes."""
    import warnings

    warnings.filterwarnings("ignore")
    while True:
        try:
            source, config = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(safe_read(source, config))


class ReaderWorker:
    """Reads sources within ``timeout_s`` each; use as a context manager so the child is stopped."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._proc = None
        self._conn = None

    def __enter__(self) -> "ReaderWorker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child,), daemon=True, name="scriptorium-reader")
        self._proc.start()
        child.close()
        self._conn = parent

    def read(self, source: Source, config, cancel=None) -> Document:
        """The cleaned document; IngestError with the reason otherwise, Cancelled if ``cancel`` fired."""
        if not self.timeout_s:
            status, value = safe_read(source, config)
        else:
            status, value = self._read_in_child(source, config, cancel)
        if status == "cancelled":
            from core.events import Cancelled
            raise Cancelled()
        if status != "ok":
            raise IngestError(value)
        return value

    def _read_in_child(self, source: Source, config, cancel) -> tuple[str, object]:
        if self._proc is None or not self._proc.is_alive():
            self._start()
        deadline = time.monotonic() + self.timeout_s
        try:
            self._conn.send((source, config))
            while time.monotonic() < deadline:
                # Short polls so a cancel (the GUI's Stop, Ctrl-C) does not wait for a slow file.
                if self._conn.poll(min(0.2, max(deadline - time.monotonic(), 0))):
                    return self._conn.recv()
                if cancel is not None and cancel.cancelled:
                    self._kill()
                    return "cancelled", ""
        except (EOFError, OSError, BrokenPipeError):
            self._kill()
            return "error", f"{source.name}: the reader crashed on this file (damaged or hostile file?)"
        self._kill()
        return "error", (f"{source.name}: took longer than {self.timeout_s:.0f} s to read — given up "
                         f"(damaged or unusually complex file?)")

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()  # the child sees EOF and leaves its loop
            except OSError:
                pass
        if self._proc is not None:
            self._proc.join(2)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(2)
        self._proc = self._conn = None
