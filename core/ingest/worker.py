"""The per-file time budget: files are read in a child process that is killed when it overruns.

A pathological PDF or a decompression trick can make a reader spin for minutes or crash the
interpreter (PDFium is C++). Reading happens in one long-lived child process (``python -m
core.ingest.worker``: no Qt or tokenizer threads are inherited), fed one file at a time. When a
file takes longer than the budget, or the child dies, the child is killed, the file gets a plain
reason, and a fresh child reads the next file. ``timeout_s == 0`` reads in-process instead.
Requests and answers are length-prefixed pickles over the child's stdin and stdout; both ends
are this module, and nothing but Sources, settings and Documents crosses.
"""
from __future__ import annotations

import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

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


def _send(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack(">Q", len(data)) + data)
    stream.flush()


def _recv(stream):
    """One length-prefixed pickle, or None at end of stream."""
    head = stream.read(8)
    if len(head) < 8:
        return None
    size = struct.unpack(">Q", head)[0]
    data = stream.read(size)
    return pickle.loads(data) if len(data) == size else None


def _child_main() -> None:
    """Child process loop: requests on stdin, answers on the original stdout, until stdin closes."""
    import warnings

    warnings.filterwarnings("ignore")
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints must not corrupt the answers
    sys.stdout = sys.stderr
    while True:
        request = _recv(sys.stdin.buffer)
        if request is None:
            return
        _send(answers, safe_read(*request))


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
        # A fresh interpreter running this module: nothing of the caller (Qt, tokenizer threads,
        # its __main__) is inherited, unlike fork, and it works under any caller, unlike spawn.
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        from core.program import frozen
        # a bundled app has no `-m`: main.py runs this module's child loop for --ingest-worker
        command = [sys.executable, "--ingest-worker"] if frozen() else [sys.executable, "-m", "core.ingest.worker"]
        self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, env=env, cwd=None if frozen() else root)

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
        if self._proc is None or self._proc.poll() is not None:
            self._start()
        answers: queue.Queue = queue.Queue()
        stdout = self._proc.stdout
        try:
            _send(self._proc.stdin, (source, config))
        except (OSError, ValueError):
            self._kill()
            return "error", f"{source.name}: the reader stopped unexpectedly (damaged or hostile file?)"
        # A thread waits for the answer so this side can poll for the deadline and for cancel.
        threading.Thread(target=lambda: answers.put(_safe_recv(stdout)), daemon=True).start()
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            try:
                answer = answers.get(timeout=min(0.2, max(deadline - time.monotonic(), 0.01)))
            except queue.Empty:
                if cancel is not None and cancel.cancelled:
                    self._kill()
                    return "cancelled", ""
                continue
            if answer is None:
                self._kill()
                return "error", f"{source.name}: the reader crashed on this file (damaged or hostile file?)"
            return answer
        self._kill()
        return "error", (f"{source.name}: took longer than {self.timeout_s:g} s to read — given up "
                         f"(damaged or unusually complex file?)")

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(5)
            for stream in (self._proc.stdin, self._proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
        self._proc = None

    def close(self) -> None:
        if self._proc is None:
            return
        try:
            self._proc.stdin.close()  # the child sees the end of its input and leaves its loop
            self._proc.wait(3)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self._kill()


def _safe_recv(stream):
    try:
        return _recv(stream)
    except (OSError, ValueError, EOFError, pickle.UnpicklingError):
        return None


if __name__ == "__main__":
    _child_main()
