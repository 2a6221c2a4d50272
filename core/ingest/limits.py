"""Safety limits: what a hostile or broken file may cost us before we give up on it.

- Size: a file over ``max_file_mb`` is refused before it is read.
- Archives (.zip, and the zip inside EPUB/DOCX/ODT): the sizes the archive declares are checked
  before anything is unpacked (total and per-member ratio), and the bytes actually unpacked are
  counted again while reading, because a zip's declared sizes can lie. An archive cut short (no
  central directory) is read from its members' local headers (``zipscan.py``) under the same caps.
- XML: parsed with lxml without entity expansion, DTD loading or network access; a document that
  declares entities at all is refused (the "billion laughs" and XXE attacks both need them,
  and real books never do).
- Time: the per-file budget is enforced by ``core.ingest.worker``, which reads in a child process.
Nothing from a document is ever executed or fetched: no reader follows links or loads resources.
"""
from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass

from core.ingest.document import IngestError

_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_MB = 1_000_000


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 200 * _MB
    max_unpacked_bytes: int = 500 * _MB
    max_ratio: float = 200.0       # zip bombs compress far beyond 1000×; real text rarely beyond 20×
    max_members: int = 20_000
    timeout_s: float = 120.0

    @classmethod
    def from_config(cls, config) -> "Limits":
        return cls(max_file_bytes=int(config.max_file_mb * _MB), max_unpacked_bytes=int(config.max_unpacked_mb * _MB),
                   max_ratio=float(config.max_zip_ratio), timeout_s=float(config.file_timeout_s))


def check_size(size: int, name: str, limits: Limits) -> None:
    if size > limits.max_file_bytes:
        raise IngestError(f"{name}: {size / _MB:.0f} MB is over the {limits.max_file_bytes / _MB:.0f} MB limit per file")


# ------------------------------------------------------------------ XML
def xml_parser(recover: bool = False):
    """An lxml parser that never expands entities, loads a DTD or touches the network."""
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True, recover=recover)


def parse_xml(data: bytes, name: str, recover_ok: bool = True):
    """Parse XML bytes safely; broken-but-readable XML is recovered (real FB2/XHTML often is)."""
    from lxml import etree

    # Entity declarations can only sit in the prolog's DTD; the parser below would not expand them
    # anyway, this only turns a silent loss of text into a clear reason.
    head = data[:1 << 18]
    if _ENTITY_DECL.search(head) or _ENTITY_DECL.search(head.replace(b"\x00", b"")):
        raise IngestError(f"{name}: declares XML entities, which real books never need — refused for safety "
                          f"(a 'billion laughs' or external-file attack)")
    try:
        return etree.fromstring(data, xml_parser())
    except etree.XMLSyntaxError as exc:
        if not recover_ok:
            raise IngestError(f"{name}: damaged XML ({exc.msg})") from None
        try:
            root = etree.fromstring(data, xml_parser(recover=True))
        except etree.XMLSyntaxError:
            root = None
        if root is None:
            raise IngestError(f"{name}: damaged XML that cannot be repaired ({exc.msg})") from None
        return root


def html_parser():
    import lxml.html

    return lxml.html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True, huge_tree=False)


# ------------------------------------------------------------------ zip archives
class SafeZip:
    """A zip archive opened from bytes whose declared sizes passed the limits.

    ``read(member)`` counts unpacked bytes against the archive's budget as it goes, so a member
    whose header understates its size is still stopped.
    """

    def __init__(self, data: bytes, name: str, limits: Limits) -> None:
        from core.ingest.zipscan import ScannedZip

        self.name, self.limits = name, limits
        self.scanned: ScannedZip | None = None  # set when the central directory is gone (a cut file)
        self.unpacked = 0
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
            # No central directory (cut short) or a broken one: the members are found by their
            # local headers instead, as zip repair tools do; ScannedZip applies the same limits.
            self.scanned = ScannedZip(data, name, limits)
            self.infos = dict(self.scanned.complete)
            return
        if len(infos) > limits.max_members:
            raise IngestError(f"{name}: archive holds {len(infos)} files, over the limit of {limits.max_members}")
        total = sum(i.file_size for i in infos)
        if total > limits.max_unpacked_bytes:
            raise IngestError(f"{name}: would unpack to {total / _MB:.0f} MB, over the "
                              f"{limits.max_unpacked_bytes / _MB:.0f} MB limit (possible zip bomb) — refused")
        for info in infos:
            if info.file_size > _MB and info.file_size > limits.max_ratio * max(info.compress_size, 1):
                raise IngestError(f"{name}: '{info.filename}' is compressed {info.file_size / max(info.compress_size, 1):.0f}×"
                                  f" — refused as a possible zip bomb")
        self.infos = {i.filename: i for i in infos if not i.is_dir()}

    @property
    def recovered(self) -> bool:
        """Were the members found without the central directory (the file is cut or damaged)?"""
        return self.scanned is not None

    @property
    def cut(self) -> list[str]:
        """Members the damage cut off (named in a local header, their data incomplete)."""
        return self.scanned.cut if self.scanned else []

    def read_partial(self, member: str) -> bytes:
        """The start of a member the end of the file cut through (b'' when there is none)."""
        return self.scanned.read_partial(member) if self.scanned else b""

    def names(self) -> list[str]:
        return list(self.infos)

    def has(self, member: str) -> bool:
        return member in self.infos

    def find(self, member: str) -> str | None:
        """Member name as stored, matched case-insensitively (EPUB hrefs and zips disagree on case)."""
        if member in self.infos:
            return member
        lower = member.lower()
        return next((n for n in self.infos if n.lower() == lower), None)

    def read(self, member: str) -> bytes:
        info = self.infos.get(member) or self.infos.get(self.find(member) or "")
        if info is None:
            raise IngestError(f"{self.name}: '{member}' is missing from the archive (damaged or incomplete file?)")
        if self.scanned is not None:
            return self.scanned.read(info)
        if info.flag_bits & 0x1:
            raise IngestError(f"{self.name}: '{member}' is password-protected — cannot be read")
        budget = self.limits.max_unpacked_bytes - self.unpacked
        out = bytearray()
        try:
            with self.zip.open(info) as fh:
                while True:
                    block = fh.read(1 << 20)
                    if not block:
                        break
                    out += block
                    if len(out) > budget or len(out) > info.file_size + _MB:
                        raise IngestError(f"{self.name}: unpacks to more than it declares (possible zip bomb) — refused")
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, zlib.error) as exc:
            if isinstance(exc, zipfile.BadZipFile) and "password" in str(exc).lower():
                raise IngestError(f"{self.name}: password-protected archive — cannot be read") from None
            raise IngestError(f"{self.name}: damaged or incomplete archive ('{info.filename}' cannot be unpacked)") from None
        except RuntimeError as exc:  # zipfile raises RuntimeError for encrypted members
            raise IngestError(f"{self.name}: password-protected archive — cannot be read ({exc})") from None
        self.unpacked += len(out)
        return bytes(out)
