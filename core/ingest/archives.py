"""What a drop contains: folders walked recursively, .zip archives opened into their documents.

Each readable document becomes a ``Source`` (a file, or a member of a zip). A .zip holding a
single document (the usual .fb2.zip) is that document; a .zip of many yields one source per
file inside. Only the archive's table of contents is read here, through ``SafeZip``'s caps;
unpacking happens in the reader worker, within the time budget.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from core.ingest.document import IngestError
from core.ingest.limits import Limits, SafeZip, check_size
from core.ingest.readers import SUPPORTED, zip_members
from core.ingest.worker import Source


def expand_paths(paths: Iterable[Path | str]) -> list[Path]:
    """Folders are walked recursively for supported files; plain paths are kept as given."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED
                              and not any(part.startswith(".") for part in p.relative_to(path).parts)))
        else:
            out.append(path)
    return out


def expand_sources(paths: Iterable[Path | str], limits: Limits) -> list[tuple[Source, str]]:
    """(source, reason) pairs: reason is '' for a source to read, else why it cannot be."""
    out: list[tuple[Source, str]] = []
    for path in expand_paths(paths):
        source = Source(str(path))
        if not _is_zip(path):
            out.append((source, ""))
            continue
        try:
            check_size(path.stat().st_size, path.name, limits)
            archive = SafeZip(path.read_bytes(), path.name, limits)
            members = zip_members(archive)
        except IngestError as exc:
            out.append((source, str(exc)))
            continue
        except OSError as exc:
            out.append((source, f"{path.name}: cannot be read ({exc.strerror or exc})"))
            continue
        cut = [m for m in archive.cut if Path(m).suffix.lower() in SUPPORTED]
        if not members and not cut:
            out.append((source, f"{path.name}: the archive holds no readable documents"))
        out.extend((Source(str(path), member), "") for member in members)
        # A cut archive (no central directory) keeps the documents before the cut; the one the
        # cut went through is named, so the user knows what is missing.
        out.extend((Source(str(path), member), f"{path.name}/{member}: cut off — the archive ends before this "
                    f"file does") for member in cut)
    return out


def _is_zip(path: Path) -> bool:
    if path.suffix.lower() != ".zip" or not path.is_file():
        return False
    try:
        with open(path, "rb") as fh:
            return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
    except OSError:
        return False
