"""Zip archives without their central directory: members found by their local headers.

A zip (and so an EPUB, DOCX or ODT) lists its members in a central directory at its very end; a
file cut short by a download or a copy loses it, and Python's ``zipfile`` then refuses the whole
archive. But every member's data is preceded by a local header with its name, method, sizes and
CRC, so the members before the cut can still be read, as zip repair tools do. ``scan`` walks the
local headers (stored and deflated members; sizes from the header, or — when the writer put
them in a data descriptor after the data — from where the deflate stream ends), and
``ScannedZip`` inflates a member only when it is read, checking its CRC.

The zip-bomb limits hold here too: member count, declared sizes, and the bytes actually inflated
(total budget, and a ratio cap on members over 1 MB) are checked as the data is inflated.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from core.ingest.document import IngestError

_LOCAL = b"PK\x03\x04"
_DESCRIPTOR = b"PK\x07\x08"
_CENTRAL = b"PK\x01\x02"
_MB = 1_000_000
_BLOCK = 1 << 16


@dataclass
class Member:
    name: str
    start: int           # where its data begins
    end: int             # where its data ends (len(data) or beyond when cut)
    method: int          # 0 stored, 8 deflated
    crc: int | None      # None when unknown (a data descriptor that was cut away)
    size: int            # declared unpacked size (0 when unknown)
    complete: bool
    encrypted: bool = False


class ScannedZip:
    """The members of a zip read from its local headers; ``complete`` ones can be read whole,
    the one the end of the file cut through can be read in part (``read_partial``)."""

    def __init__(self, data: bytes, name: str, limits) -> None:
        self.data, self.name, self.limits = data, name, limits
        self.members = scan(data, name, limits)
        self.unpacked = 0
        if not self.members:
            raise IngestError(f"{name}: damaged or incomplete archive (not a readable zip)")

    @property
    def complete(self) -> dict[str, Member]:
        return {m.name: m for m in self.members if m.complete and not m.name.endswith("/")}

    @property
    def cut(self) -> list[str]:
        return [m.name for m in self.members if not m.complete]

    def read(self, member: Member) -> bytes:
        if member.encrypted:
            raise IngestError(f"{self.name}: '{member.name}' is password-protected — cannot be read")
        out, finished = self._unpack(member, member.end)
        if not finished or (member.crc is not None and zlib.crc32(out) != member.crc):
            raise IngestError(f"{self.name}: damaged or incomplete archive ('{member.name}' cannot be unpacked)")
        return out

    def read_partial(self, name: str) -> bytes:
        """As much of a cut-off member as its data gives (b'' when none)."""
        member = next((m for m in self.members if m.name == name and not m.complete and not m.encrypted), None)
        return self._unpack(member, len(self.data))[0] if member is not None else b""

    def _unpack(self, member: Member, end: int) -> tuple[bytes, bool]:
        raw = memoryview(self.data)[member.start:min(end, len(self.data))]
        if member.method == 0:
            out, finished = bytes(raw), member.complete
            _check(len(out), len(out), self.unpacked, member, self.limits, self.name)
        else:
            out, finished, _ = inflate(raw, member, self.limits, self.unpacked, self.name)
        self.unpacked += len(out)
        return out, finished


def inflate(raw, member: Member, limits, unpacked: int, name: str) -> tuple[bytes, bool, int]:
    """(inflated bytes, whether the deflate stream ended, input bytes it used), a megabyte at a
    time so a bomb is stopped by the limits before it fills memory."""
    inflater, out, offset = zlib.decompressobj(-15), bytearray(), 0
    try:
        while offset < len(raw) and not inflater.eof:
            pending = raw[offset:offset + _BLOCK]
            offset += len(pending)
            while pending and not inflater.eof:
                out += inflater.decompress(pending, _MB)
                pending = inflater.unconsumed_tail
                _check(len(out), offset, unpacked, member, limits, name)
    except zlib.error:
        return bytes(out), False, offset
    used = offset - len(inflater.unused_data) if inflater.eof else offset
    return bytes(out), inflater.eof, used


def _check(produced: int, consumed: int, unpacked: int, member: Member, limits, name: str) -> None:
    if unpacked + produced > limits.max_unpacked_bytes or (member.size and produced > member.size + _MB):
        raise IngestError(f"{name}: unpacks to more than it declares (possible zip bomb) — refused")
    if produced > _MB and produced > limits.max_ratio * max(consumed, 1):
        raise IngestError(f"{name}: '{member.name}' is compressed over {limits.max_ratio:.0f}× "
                          f"— refused as a possible zip bomb")


def scan(data: bytes, name: str, limits) -> list[Member]:
    """Every member whose local header is in ``data``, in order; complete or not."""
    members: list[Member] = []
    declared = 0
    pos = data.find(_LOCAL)
    while 0 <= pos and pos + 30 <= len(data):
        _, _, flags, method, _, _, crc, csize, usize, name_len, extra_len = struct.unpack(
            "<IHHHHHIIIHH", data[pos:pos + 30])
        start = pos + 30 + name_len + extra_len
        if start > len(data):
            break  # the header itself is cut
        raw_name = data[pos + 30:pos + 30 + name_len]
        member_name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", errors="replace")
        if 0xFFFFFFFF in (csize, usize):
            usize, csize = _zip64_sizes(data[pos + 30 + name_len:start], usize, csize)
        member = _locate(data, member_name, start, flags, method, crc, csize, usize, limits, name)
        members.append(member)
        if len(members) > limits.max_members:
            raise IngestError(f"{name}: archive holds over {limits.max_members} files, the limit")
        declared += member.size
        if declared > limits.max_unpacked_bytes:
            raise IngestError(f"{name}: would unpack to {declared / _MB:.0f} MB, over the "
                              f"{limits.max_unpacked_bytes / _MB:.0f} MB limit (possible zip bomb) — refused")
        if member.size > _MB and member.size > limits.max_ratio * max(csize, 1) and not flags & 0x8:
            raise IngestError(f"{name}: '{member_name}' is compressed {member.size / max(csize, 1):.0f}× "
                              f"— refused as a possible zip bomb")
        if not member.complete:
            break  # the rest of the file is this member's cut data
        pos = data.find(_LOCAL, member.end)
        if pos < 0 or data.find(_CENTRAL, member.end, pos) >= 0:
            break  # no more members, or the central directory comes first (searched up to the next one only)
    return members


def _locate(data: bytes, name: str, start: int, flags: int, method: int, crc: int, csize: int,
            usize: int, limits, archive: str) -> Member:
    """Where a member's data ends, and whether it is all there."""
    encrypted = bool(flags & 0x1)
    if not flags & 0x8 or (csize and crc):  # sizes in the header
        end = start + csize
        return Member(name, start, end, method, crc, usize, end <= len(data) and method in (0, 8), encrypted)
    if method == 8 and not encrypted:  # sizes come after the data: find where the deflate stream ends
        probe = Member(name, start, len(data), method, None, 0, False)
        out, ended, used = inflate(memoryview(data)[start:], probe, limits, 0, archive)
        end = start + used
        stated = _descriptor_crc(data, end)
        check = zlib.crc32(out)
        whole = ended and (stated is None or stated == check)
        return Member(name, start, end if whole else len(data) + 1, method, check if whole else None, len(out), whole)
    # Stored (or encrypted) with the sizes after the data: the descriptor's signature marks the end.
    end = data.find(_DESCRIPTOR, start)
    if end < 0:
        return Member(name, start, len(data) + 1, method, None, 0, False, encrypted)
    stated = _descriptor_crc(data, end)
    whole = encrypted or stated == zlib.crc32(data[start:end])
    return Member(name, start, end, method, stated, end - start, whole and method in (0, 8), encrypted)


def _descriptor_crc(data: bytes, at: int) -> int | None:
    """The CRC a data descriptor at ``at`` states (its signature is optional), if it is there."""
    if data[at:at + 4] == _DESCRIPTOR:
        at += 4
    return struct.unpack("<I", data[at:at + 4])[0] if at + 4 <= len(data) else None


def _zip64_sizes(extra: bytes, usize: int, csize: int) -> tuple[int, int]:
    """Sizes from a ZIP64 extra field (id 1), which holds the ones the header marks 0xFFFFFFFF."""
    pos = 0
    while pos + 4 <= len(extra):
        kind, length = struct.unpack("<HH", extra[pos:pos + 4])
        if kind == 1:
            values = extra[pos + 4:pos + 4 + length]
            sizes = [struct.unpack("<Q", values[i:i + 8])[0] for i in range(0, len(values) - 7, 8)]
            if usize == 0xFFFFFFFF and sizes:
                usize = sizes.pop(0)
            if csize == 0xFFFFFFFF and sizes:
                csize = sizes.pop(0)
            break
        pos += 4 + length
    return usize, csize
