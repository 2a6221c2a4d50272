"""Damaged files made on the spot: PDFs whose text is junk, junk paragraphs of every kind, clean
paragraphs that only look odd, and files cut short.

The junk PDFs are written by hand (a few objects and a cross-reference table) so their content
streams can be broken the way fuzzed and damaged files break: strings whose parentheses do not
match swallow the operators after them; a Type0 font without a Unicode map shows its raw codes;
random bytes drawn with a standard font come out as Latin-1 accents and symbols.
"""
from __future__ import annotations

import base64
import random
from pathlib import Path

WORDS = "the keeper climbed stairs every evening and lit great lamp ships that passed in night".split()
HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
IDENTITY = b"<< /Type /Font /Subtype /Type0 /BaseFont /Junk /Encoding /Identity-H /DescendantFonts [4 0 R] >>"
CID_FONT = (b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Junk /CIDSystemInfo << /Registry (Adobe) "
            b"/Ordering (Identity) /Supplement 0 >> /DW 500 >>")


def raw_pdf(pages: list[bytes], font: bytes = HELVETICA) -> bytes:
    """A PDF with these content streams, one per page, all using font /F1 (object 3)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", font, CID_FONT]
    kids = []
    for content in pages:
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R "
                       b">> >> /Contents %d 0 R >>" % len(objects))
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, table)
    return bytes(out)


def clean_page(rng: random.Random, lines: int = 40) -> bytes:
    """A page of sentences, one line each."""
    body = b""
    for i in range(lines):
        sentence = " ".join(rng.choice(WORDS) for _ in range(9)).capitalize() + "."
        body += b"BT /F1 11 Tf 1 0 0 1 60 %d Tm (%s) Tj ET\n" % (800 - 18 * i, sentence.encode())
    return body


def spilled_page(rng: random.Random, lines: int = 40) -> bytes:
    """A page whose strings lost parentheses: each broken string runs on over the operators
    that follow it, and PDFium shows those as text ("lamp Tj T* ET BT /F1 11 Tf 1 0 0 1 …")."""
    body = b""
    for i in range(lines):
        words = " ".join(rng.choice(WORDS) for _ in range(8)).encode()
        opening, closing = (b"(" if i % 3 else b""), (b")" if i % 3 != 1 else b"")
        body += b"BT /F1 11 Tf 1 0 0 1 60 %d Tm %s%s%s Tj T* ET\n" % (800 - 18 * i, opening, words, closing)
    return body


def _escaped(data: bytes) -> bytes:
    return data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)").replace(b"\r", b"\\r")


def byte_page(rng: random.Random, lines: int = 40) -> bytes:
    """Random bytes drawn as text with a standard font: Latin-1 accents, symbols, controls."""
    return b"".join(b"BT /F1 11 Tf 60 %d Td (%s) Tj ET\n" % (800 - 18 * i, _escaped(rng.randbytes(60)))
                    for i in range(lines))


def code_page(rng: random.Random, lines: int = 30) -> bytes:
    """Random two-byte codes drawn with a font that has no Unicode map: PDFium shows the codes
    themselves, a salad of Han, Hangul, Georgian, Arabic, private-use … characters."""
    return b"".join(b"BT /F1 11 Tf 60 %d Td <%s> Tj ET\n" % (800 - 18 * i, rng.randbytes(60).hex().encode())
                    for i in range(lines))


def junk_pdfs(folder: Path, seed: int = 1) -> dict[str, Path]:
    """The damaged PDFs: name → path. ``operators_mixed.pdf`` has clean pages between damaged ones."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    made = {
        "operators_mixed.pdf": raw_pdf([clean_page(rng), spilled_page(rng), clean_page(rng), spilled_page(rng)]),
        "operators_only.pdf": raw_pdf([spilled_page(rng) for _ in range(3)]),
        "latin1_bytes.pdf": raw_pdf([byte_page(rng) for _ in range(2)]),
        "unmapped_font.pdf": raw_pdf([code_page(rng) for _ in range(2)], font=IDENTITY),
    }
    for name, data in made.items():
        (folder / name).write_bytes(data)
    return {name: folder / name for name in made}


def junk_paragraphs(seed: int = 7) -> dict[str, tuple[str, str]]:
    """Generated junk, one paragraph each: name → (text, the kind it must be scored as)."""
    rng = random.Random(seed)
    spare = "".join(chr(rng.randrange(0x100, 0xD7FF)) for _ in range(120))
    return {
        "operators": ("BT /F1 11 Tf 1 0 0 1 60 770 Tm (lit lit great evening) Tj T* ET BT /F1 11 Tf 1 0 0 1 60 755 "
                      "Tm The the lit lit The great climbed lit", "pdf"),
        "graphics": ("q 1 0 0 1 72 720 cm 0 0 1 rg 0 0 100 50 re f Q BT /F2 9 Tf 72 700 Td [(Hel)30(lo)] TJ ET",
                     "pdf"),
        "objects": ("12 0 obj << /Type /Page /Parent 3 0 R /Contents 14 0 R /MediaBox [0 0 595 842] >> endobj "
                    "14 0 obj << /Length 220 /Filter /FlateDecode >> stream", "pdf"),
        "base64": (base64.b64encode(rng.randbytes(300)).decode(), "encoded"),
        "base64_lines": ("\n".join(base64.b64encode(rng.randbytes(48)).decode() for _ in range(6)), "encoded"),
        "hex": (rng.randbytes(150).hex(), "encoded"),
        "hex_dump": (" ".join(f"{b:02x}" for b in rng.randbytes(100)), "encoded"),
        "latin1": (rng.randbytes(300).decode("latin-1"), "binary"),
        "cp1252": (rng.randbytes(300).decode("cp1252", errors="replace"), "binary"),
        "utf8_replaced": (rng.randbytes(300).decode("utf-8", errors="replace"), "binary"),
        "private_use": (" ".join("".join(chr(rng.randrange(0xE000, 0xE0FF)) for _ in range(5)) for _ in range(30)),
                        "binary"),
        "unmapped_codes": (spare, "garbled"),
        "mixed_scripts": ("VⴕF £# the Ⴑkeeper clⴈmbed stⴀirs ⵃⴑ every evⴄning and lit the ⴂreat lamp and the ships",
                          "garbled"),
        "repeated_glyph": ("ÿÿÿÿÿÿ ÿÿÿÿ ÿÿÿÿÿÿÿÿ ÿÿ ÿÿÿÿÿ ÿÿÿÿÿÿÿÿ ÿÿÿÿ ÿÿ ÿÿÿÿÿÿ ÿÿÿÿÿ", "garbled"),
        "russian_as_latin1": ("Ñìîòðèòåëü êàæäûé âå÷åð ïîäíèìàëñÿ ïî ëåñòíèöå è çàæèãàë áîëüøóþ ëàìïó", "garbled"),
    }


# Writing that looks odd and is not junk: none of these may score as junk.
CLEAN = [
    "The keeper climbed the stairs every evening and lit the great lamp; the ships never knew his name.",
    "Смотритель каждый вечер поднимался по лестнице и зажигал большую лампу.",
    "Він сказав: «Мʼясо й пʼять яблук» — і пішов додому.",
    "Ο φύλακας ανέβαινε τις σκάλες κάθε βράδυ και άναβε τη μεγάλη λάμπα του φάρου.",
    "灯塔看守人每天晚上爬上楼梯，点亮那盏大灯，过往的船只从不知道他的名字。",
    "灯台守は毎晩階段を上り、大きなランプに火をともした。Tシャツを着たまま、iPhoneで写真を撮った。",
    "등대지기는 매일 저녁 계단을 올라 커다란 등불을 켰다.",
    "שומר המגדלור טיפס במדרגות בכל ערב והדליק את המנורה הגדולה.",
    "كان حارس المنارة يصعد الدرج كل مساء ويشعل المصباح الكبير.",
    "प्रकाशस्तंभ का रक्षक हर शाम सीढ़ियाँ चढ़कर बड़ा दीपक जलाता था।",
    "Người gác hải đăng leo cầu thang mỗi tối và thắp ngọn đèn lớn; tiếng Việt rất đẹp.",
    "Þetta er íslenska: vitavörðurinn gekk upp stigann á hverju kvöldi og kveikti á lampanum.",
    "Le gardien montait l'escalier chaque soir et allumait la grande lampe ; les navires passaient.",
    "Der Leuchtturmwärter stieg jeden Abend die Treppe hinauf — Donaudampfschifffahrtsgesellschaftskapitän.",
    "The cell was 5 μm wide and the iPhone, the YubiKey and PowerShell all worked at 20°C ± 2.",
    "$ gpg --expert --full-generate-key && sha256sum disk.img | grep 3f2a9c1e8b7d4a6f5e0c2b1a9d8e7f6a5b4c3d2e1f0a",
    "def extract_text(page): return page.get_text_range(0, -1) if page.count_chars() > 0 else ''",
    "for ((i=0; i<10; i++)); do echo \"$i\" | awk '{print $1}' >> /tmp/out.txt; done",
    "Use the Tj and TJ operators to show text; Tf sets the font and Td moves to the next line.",
    "https://keys.openpgp.org/vks/v1/by-fingerprint/4E2C1FA3372CBA96A06AC34AFF3E7D88647EBCDB is the key.",
    "Chapter 1 ............................................................ 5",
    "* * * * * * * * * * * * * * * * * * * * * * * *",
    "Key fingerprint = 011C E16B D45B 27A5 5BA8  776D FF3E 7D88 647E BCDB",
    "std::cout << 1 << 2 << std::endl; return 0; // C++ is not a PDF dictionary",
    "The trailer of the 2019 film showed the stream by the mill, 4 stars and 10 minutes long.",
]


def truncate(source: Path, fraction: float, target: Path) -> Path:
    """The first ``fraction`` of ``source``'s bytes, as a download cut short would leave it."""
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * fraction)])
    return target


def packed_pdf(texts: list[str]) -> bytes:
    """A PDF 1.5 whose page objects live in a compressed object stream, as modern writers pack
    them — and without its cross-reference stream and trailer, as if cut short there."""
    import zlib

    pages = [30 + i for i in range(len(texts))]
    objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>", 3: HELVETICA,
               2: b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % n for n in pages), len(pages))}
    for i, text in enumerate(texts):
        content = b"BT /F1 12 Tf 72 700 Td (%s) Tj ET" % text.encode("latin-1")
        objects[4 + i] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content)
    header, body = b"", b""
    for i, number in enumerate(pages):
        header += b"%d %d " % (number, len(body))
        body += b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> " \
                b"/Contents %d 0 R >>\n" % (4 + i)
    packed = zlib.compress(header + body)
    objects[20] = (b"<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream"
                   % (len(pages), len(header), len(packed), packed))
    return b"%PDF-1.5\n" + b"".join(b"%d 0 obj\n%s\nendobj\n" % (n, objects[n]) for n in sorted(objects))


class _Unseekable:
    """A write-only stream: zipfile then puts each member's sizes in a data descriptor after its data."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, chunk) -> int:
        self.data += chunk
        return len(chunk)

    def flush(self) -> None:
        pass


def rezip(members: dict[str, bytes], descriptors: bool = False) -> bytes:
    """A deflated zip of these members (``descriptors``: sizes after the data, as streaming writers do)."""
    import io
    import zipfile

    target = _Unseekable() if descriptors else io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data, zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED)
    return bytes(target.data) if descriptors else target.getvalue()


def members_of(path: Path) -> dict[str, bytes]:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}
