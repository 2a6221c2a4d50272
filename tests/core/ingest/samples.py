"""Files made on the spot for the ingest tests: hostile ones and small well-formed books.

Run as a script to write them into a folder (``python tests/core/ingest/samples.py OUTDIR``), e.g.
to drop them on the app by hand next to ../shared/realdocs.
"""
from __future__ import annotations

import io
import os
import sys
import zipfile
from pathlib import Path

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
HEADER = "THE LIGHTHOUSE KEEPER — A NOVEL"
PROSE = ("The keeper climbed the stairs every evening and lit the great lamp, and the ships that passed "
         "in the night never knew his name. He kept a journal of the weather, of the birds that rested "
         "on the gallery, and of the letters that never came. In winter the sea was grey and heavy, "
         "and the supply boat was late more often than not.")
RUSSIAN = ("Смотритель каждый вечер поднимался по лестнице и зажигал большую лампу, и корабли, проходившие "
           "ночью, никогда не знали его имени. Он вёл дневник погоды, птиц и писем, которые так и не пришли.")


# ------------------------------------------------------------------ PDF
def make_pdf(path: Path, pages: list[list[str]], header: str = HEADER, numbers: bool = True,
             font_file: Path | None = None, encrypt: tuple[str, str] | None = None, columns: int = 1) -> Path:
    """A PDF whose pages hold the given lines, a running header and a page number at the foot."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    font = "Helvetica"
    if font_file is not None:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont

        pdfmetrics.registerFont(TTFont("Body", str(font_file)))
        font = "Body"
    kwargs = {}
    if encrypt is not None:
        from reportlab.lib.pdfencrypt import StandardEncryption

        kwargs["encrypt"] = StandardEncryption(encrypt[0], ownerPassword=encrypt[1], strength=128)
    c = canvas.Canvas(str(path), pagesize=A4, **kwargs)
    width, height = A4
    for number, lines in enumerate(pages, start=1):
        c.setFont(font, 9)
        if header:
            c.drawCentredString(width / 2, height - 40, header)
        if numbers:
            c.drawCentredString(width / 2, 30, str(number))
        c.setFont(font, 11)
        # Drawn row by row across the columns, so the content stream's order is not reading order.
        per_column = (len(lines) + columns - 1) // columns
        for row in range(per_column):
            for col in range(columns):
                if col * per_column + row < len(lines):
                    c.drawString(60 + col * (width - 100) / columns, height - 80 - 15 * row,
                                 lines[col * per_column + row])
        c.showPage()
    c.save()
    return path


def wrap(text: str, width: int, hyphenate: bool = True) -> list[str]:
    """Hard-wrap ``text`` at ``width`` characters, breaking long words with a hyphen like a typesetter."""
    lines, line = [], ""
    for word in text.split():
        if len(line) + 1 + len(word) <= width:
            line = f"{line} {word}".strip()
            continue
        room = width - len(line) - 2
        if hyphenate and room >= 3 and len(word) >= 7 and word.isalpha():
            cut = min(room, len(word) - 3)
            lines.append(f"{line} {word[:cut]}-".strip())
            line = word[cut:]
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def book_pdf(path: Path, pages: int = 6, text: str = PROSE, **kwargs) -> Path:
    """A multi-page book: running header, page numbers, hyphenated line ends, paragraphs across pages."""
    body = wrap(" ".join([text] * (pages * 2)), 58)
    per_page = (len(body) + pages - 1) // pages
    return make_pdf(path, [body[i:i + per_page] for i in range(0, len(body), per_page)], **kwargs)


# ------------------------------------------------------------------ EPUB / FB2
def make_epub(path: Path, chapters: list[tuple[str, list[str]]], title: str = "A Test Book", lang: str = "en",
              encryption: str | None = None) -> Path:
    """A minimal EPUB 3 with a nav document; ``encryption`` adds META-INF/encryption.xml with that algorithm."""
    spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters)))
    items = "".join(f'<item id="c{i}" href="text/c{i}.xhtml" media-type="application/xhtml+xml"/>'
                    for i in range(len(chapters)))
    nav_links = "".join(f'<li><a href="text/c{i}.xhtml">{t}</a></li>' for i, (t, _) in enumerate(chapters))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", '<?xml version="1.0"?><container version="1.0" '
                   'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile '
                   'full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>')
        z.writestr("OEBPS/content.opf", f'<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" '
                   f'version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title>'
                   f'<dc:creator>Test Author</dc:creator><dc:language>{lang}</dc:language></metadata><manifest>'
                   f'<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>{items}'
                   f'</manifest><spine>{spine}</spine></package>')
        z.writestr("OEBPS/nav.xhtml", '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml" '
                   'xmlns:epub="http://www.idpf.org/2007/ops"><body><nav epub:type="toc"><ol>'
                   f'{nav_links}</ol></nav></body></html>')
        for i, (heading, paragraphs) in enumerate(chapters):
            body = "".join(f"<p>{p}</p>" for p in paragraphs)
            z.writestr(f"OEBPS/text/c{i}.xhtml", f'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml">'
                       f'<head><title>{heading}</title><script>alert(1)</script></head><body><h1>{heading}</h1>'
                       f'{body}</body></html>')
        if encryption:
            z.writestr("META-INF/encryption.xml", '<?xml version="1.0"?><encryption xmlns="urn:oasis:names:tc:'
                       'opendocument:xmlns:container" xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
                       f'<enc:EncryptionMethod Algorithm="{encryption}"/><enc:CipherData><enc:CipherReference '
                       'URI="OEBPS/text/c0.xhtml"/></enc:CipherData></enc:EncryptedData></encryption>')
    return path


def fb2_bytes(sections: list[tuple[str, list[str]]], encoding: str = "utf-8", title: str = "Книга",
              doctype: str = "") -> bytes:
    body = "".join(f"<section><title><p>{t}</p></title>{''.join(f'<p>{p}</p>' for p in ps)}</section>"
                   for t, ps in sections)
    xml = (f'<?xml version="1.0" encoding="{encoding}"?>{doctype}<FictionBook xmlns="http://www.gribuser.ru/xml/'
           f'fictionbook/2.0"><description><title-info><author><first-name>Иван</first-name><last-name>Петров'
           f'</last-name></author><book-title>{title}</book-title><lang>ru</lang></title-info></description>'
           f'<body><title><p>{title}</p></title>{body}</body><binary id="x.png" content-type="image/png">AAAA'
           f'</binary></FictionBook>')
    return xml.encode(encoding)


# ------------------------------------------------------------------ hostile files
def giant_line(size: int, seed: int = 5) -> bytes:
    """``size`` bytes of words without a single line break (and no repeated paragraphs)."""
    import random

    vocabulary = sorted(set(PROSE.lower().replace(",", "").replace(".", "").split()))
    rng = random.Random(seed)
    words = rng.choices(vocabulary, k=size // 5)
    data = " ".join(words).encode("ascii")
    return data[:size]

def make_hostile(folder: Path, giant_mb: int = 50) -> dict[str, Path]:
    """Every kind of file a drop should survive; returns {short name: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}

    def put(name: str, data: bytes) -> None:
        (folder / name).write_bytes(data)
        out[name] = folder / name

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("book.txt", b"\0" * (300 << 20))
    put("zip_bomb.zip", bomb.getvalue())
    epub_bomb = io.BytesIO()
    with zipfile.ZipFile(epub_bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("mimetype", "application/epub+zip")
        z.writestr("OEBPS/c1.xhtml", b" " * (100 << 20))
    put("epub_bomb.epub", epub_bomb.getvalue())
    laughs = ('<!DOCTYPE FictionBook [<!ENTITY lol "lol">'
              + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i else "&lol;" * 10}">' for i in range(10))
              + "]>")
    put("billion_laughs.fb2", fb2_bytes([("Глава", ["&lol9;"])], doctype=laughs))
    put("xxe.fb2", fb2_bytes([("Глава", ["&xxe;"])], doctype='<!DOCTYPE FictionBook [<!ENTITY xxe SYSTEM '
                                                          '"file:///etc/passwd">]>'))
    good_epub = make_epub(folder / "_tmp.epub", [("One", [PROSE] * 5), ("Two", [PROSE] * 5)]).read_bytes()
    (folder / "_tmp.epub").unlink()
    put("truncated.epub", good_epub[: len(good_epub) // 2])
    good_pdf = book_pdf(folder / "_tmp.pdf", pages=3).read_bytes()
    (folder / "_tmp.pdf").unlink()
    put("truncated.pdf", good_pdf[: len(good_pdf) // 2])
    put("binary.txt", os.urandom(4096).replace(b"\0", b"\1") + b"\0" * 64)
    put("empty.txt", b"  \n\n \t\n")
    put("zero_bytes.md", b"")
    put("invalid_utf8.txt", ("Привет, мир! " * 200).encode("utf-8")[:-1] + b"\xff\xfe broken \xc3\x28 end. " * 3)
    put("giant_single_line.txt", giant_line(giant_mb << 20))
    put("drm.epub", make_epub(folder / "_drm.epub", [("One", [PROSE])],
                              encryption="http://www.w3.org/2001/04/xmlenc#aes128-cbc").read_bytes())
    (folder / "_drm.epub").unlink()
    put("password.pdf", make_pdf(folder / "_pw.pdf", [wrap(PROSE, 60)], encrypt=("secret", "owner")).read_bytes())
    (folder / "_pw.pdf").unlink()
    put("fake.pdf", b"%PDF-1.7\n" + os.urandom(2048))
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile")
    for name, path in make_hostile(target).items():
        print(f"{path}  {path.stat().st_size:>10} bytes")
