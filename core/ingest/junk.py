"""Junk: paragraphs that are not writing at all — what damaged files turn into when read as text.

OCR noise (``textstats.noise_score``) is real text read badly; junk is no text at all. Four kinds:

- ``pdf``: PDF content-stream operators and object syntax ("BT /F1 11 Tf 60 785 Td (…) Tj ET",
  "12 0 obj << /Length 220 >> stream"). A damaged PDF's broken strings swallow the operators
  that follow them, and PDFium then reports those as text.
- ``encoded``: base64, hex strings and hex dumps (embedded images, keys, attachments).
- ``binary``: bytes that were never text, decoded as text: control, private-use and unassigned
  code points, U+FFFD, and the rare accents and symbols (˙ˇ˛¤¦¬…) that stray bytes become.
- ``garbled``: glyph salad from a font without a Unicode map or a wrong code page: words that mix
  unrelated scripts ("VⴕF"), one odd glyph repeated, Russian shown as Latin-1 accents
  ("Ñìîòðèòåëü").

``junk_score`` gives a paragraph a score 0…1 (over 0.5: junk, the same line as the noise
threshold) and its kind; ``junk_suspects`` finds, with a few whole-text passes, the paragraphs
worth scoring. Legitimate writing that looks odd stays: code and command lines (ASCII
punctuation is not junk), "iPhone", Japanese mixing kanji and kana, "μm", a hash in a sentence.
"""
from __future__ import annotations

import bisect
import re
import unicodedata

KINDS = {"pdf": "damaged PDF internals", "encoded": "encoded data (base64 or hex)",
         "binary": "binary data read as text", "garbled": "garbled characters (a broken font or encoding)"}
VERDICTS = {"pdf": "looks like damaged PDF internals, not text",
            "encoded": "holds encoded data (base64 or hex), not text",
            "binary": "looks like binary data, not text",
            "garbled": "looks like garbled characters (a broken font or encoding), not text"}
_SAMPLE = 4_000  # like the noise score: a paragraph's junk shows in its first pages

# Operators that only a content stream writes; the one- and two-letter path and colour operators
# ("m", "l", "re", "rg", "q" …) count only right after an operand, as they are words elsewhere.
# ("stream" and "trailer" are English words, "<<" is C++: they count only after an operand too.)
_STRONG_OPS = frozenset("BT ET Tj TJ Tf Td TD Tm T* TL Tc Tw Tz Ts Tr BDC BMC EMC obj endobj endstream xref "
                        "startxref".split())
_WEAK_OPS = frozenset("m l c v y h re cm w J j d i M gs q Q rg RG g G k K cs CS sc SC scn SCN f F f* S s B B* b b* "
                      "n W W* Do sh ri BI ID EI R stream trailer".split())
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)$")
_NAME = re.compile(r"/[A-Z][A-Za-z0-9.+-]*$")  # /F1, /Type, /Length: PDF names are capitalised, paths rarely
# A spilled string always ends at the Tj or TJ that was to show it; object syntax at an endobj.
_OP_WORDS = ("Tj", "TJ", "endobj")
_OPS_HINT = re.compile(r"T[jJfdDm*](?<=\bT.)(?!\w)|[BE]T(?<=\b.T)(?!\w)|endobj|endstream")

# Encoded blobs. Base64 needs both cases and a digit, and few slashes (a path has one every
# few letters); hex needs a digit and a letter; a hex dump is 16+ byte pairs in a row.
_BLOB = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}|[0-9A-Fa-f]{32,}|(?:[0-9A-Fa-f]{2}[ :]){15,}[0-9A-Fa-f]{2}")
# The hints start at a digit (rare in prose) so the regex engine skips most of a book quickly.
_BLOB_HINT = re.compile(r"[0-9+/](?:(?<=[A-Za-z0-9+/]{12}[0-9+/])[A-Za-z0-9+/]{19}|"
                        r"[0-9A-Fa-f][ :][0-9A-Fa-f]{2}[ :][0-9A-Fa-f]{2}[ :][0-9A-Fa-f]{2}[ :])")

# Characters that stray bytes become and writers do not type (ʼ ˈ ː are real: Ukrainian, IPA).
_RARE = frozenset("˙ˇ˘˛˚˝¸¨¯´˜ˆ¤¦¬ƒ‡‰‹›\x7f")
_BAD_CATEGORIES = frozenset(("Cc", "Co", "Cn", "Cs"))
_LATIN1_LETTERS = re.compile("[\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff]")
_LATIN1_RUN = re.compile("[\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff]{3}")
_WORDS = re.compile(r"[^\W\d_]+")
_REPEAT = re.compile(r"([^\x00-\x7f])\1{3,}")

# Script families by code point range (start, family); letters outside the table get their
# 256-code-point block as a family. Hangul and kana go with Han: Japanese and Korean mix them.
_RANGES = [(0x0041, "latin"), (0x0370, "greek"), (0x0400, "cyrillic"), (0x0530, "armenian"), (0x0590, "hebrew"),
           (0x0600, "arabic"), (0x0700, None), (0x0750, "arabic"), (0x0780, None), (0x08A0, "arabic"),
           (0x0900, None), (0x10A0, "georgian"), (0x1100, "cjk"), (0x1200, None), (0x1C80, "cyrillic"),
           (0x1C90, "georgian"), (0x1CC0, None), (0x1E00, "latin"), (0x1F00, "greek"), (0x2000, None),
           (0x2C60, "latin"), (0x2C80, None), (0x2D00, "georgian"), (0x2D30, None), (0x2DE0, "cyrillic"),
           (0x2E00, None), (0x2E80, "cjk"), (0xA000, None), (0xA640, "cyrillic"), (0xA6A0, None),
           (0xA720, "latin"), (0xA800, None), (0xAB30, "latin"), (0xAB70, None), (0xAC00, "cjk"), (0xD7B0, None),
           (0xF900, "cjk"), (0xFB00, "latin"), (0xFB07, None), (0xFB50, "arabic"), (0xFE00, None),
           (0xFE70, "arabic"), (0xFF00, "latin"), (0xFF66, "cjk"), (0xFFE0, None)]
_STARTS = [start for start, _ in _RANGES]
_ALLOWED_MIXES = ({"latin", "cjk"}, {"latin", "greek"}, {"latin", "cyrillic"})  # Tシャツ, μm; Mocквa is OCR noise


def family(ch: str) -> str:
    """The script family of a letter ('latin', 'cyrillic', 'cjk' …, or 'block-N' for the rest)."""
    code = ord(ch)
    if code < 0x80:
        return "latin"
    if code >= 0x20000:
        return "cjk" if code < 0x3134F else f"block-{code >> 8}"
    name = _RANGES[bisect.bisect_right(_STARTS, code) - 1][1]
    return name or f"block-{code >> 7}"


def junk_score(text: str) -> tuple[float, str]:
    """(score 0…1, kind) of one paragraph; kind is '' when the score is 0."""
    sample = text[:_SAMPLE]
    tokens = sample.split()
    if not tokens or len(sample) < 16:
        return 0.0, ""
    visible = sum(len(t) for t in tokens)
    scores = {"pdf": _pdf_score(tokens), "encoded": _blob_score(sample, visible),
              "binary": _binary_score(sample, visible), "garbled": _garbled_score(sample, visible)}
    kind = max(scores, key=scores.get)
    return (round(min(1.0, scores[kind]), 3), kind) if scores[kind] > 0 else (0.0, "")


def _pdf_score(tokens: list[str]) -> float:
    strong = sum(1 for t in tokens if t in _STRONG_OPS)
    if strong < 2:
        return 0.0
    operands = weak = run = longest = 0
    previous_operand = False
    for token in tokens:
        operand = bool(_NUMBER.match(token) or _NAME.match(token))
        if operand:
            operands += 1
        elif previous_operand and token in _WEAK_OPS:
            weak += 1
        previous_operand = operand or token.endswith((")", "]", ">>"))
        run = run + 1 if token in _STRONG_OPS else 0
        longest = max(longest, run)
    if operands < 2 and longest < 3:
        return strong / len(tokens)  # operator names in a sentence ("the Tj operator shows text")
    # Operators with their operands: a quarter of the words being that is already no prose.
    return 2.0 * (strong + weak + operands) / len(tokens)


def _blob_score(sample: str, visible: int) -> float:
    blob = 0
    for m in _BLOB.finditer(sample):
        token = m.group(0)
        compact = token.replace(" ", "").replace(":", "")
        if " " in token or ":" in token:
            blob += len(token)  # a hex dump
        elif any(c.isdigit() for c in compact) and (_is_hex(compact) or _is_base64(compact)):
            blob += len(token)
    if blob < 64:
        return 0.0  # one hash or key id in a sentence is writing about it
    return 0.85 * blob / max(visible, 1)


def _is_hex(token: str) -> bool:
    return len(token) >= 32 and all(c in "0123456789abcdefABCDEF" for c in token) and not token.isdigit()


def _is_base64(token: str) -> bool:
    core = token.rstrip("=")
    return (len(core) >= 40 and any(c.islower() for c in core) and any(c.isupper() for c in core)
            and core.count("/") <= len(core) // 10 and len(set(core)) >= 20)


def looks_binary(text: str) -> bool:
    """Is this paragraph bytes that were never text (cleaning then leaves it to the junk check)?"""
    sample = text[:_SAMPLE]
    return _binary_score(sample, len(sample) - sample.count(" ")) > 0.5


def _binary_score(sample: str, visible: int) -> float:
    bad = rare = 0
    for ch in sample:
        if ch.isascii():
            bad += (ch < " " and ch not in "\t\n\r") or ch == "\x7f"
        elif ch in _RARE:
            rare += 1
        elif ch <= "\x9f" or ch == "\ufffd" or unicodedata.category(ch) in _BAD_CATEGORIES:
            bad += 1  # C1 controls (a byte read as Latin-1), private use, unassigned, replacement
    return (4.0 * bad + 2.0 * rare) / max(visible, 1)


def _garbled_score(sample: str, visible: int) -> float:
    words = _WORDS.findall(sample)
    if not words:
        return 0.0
    mixed = 0
    letters = latin1 = 0
    for word in words:
        letters += len(word)
        if word.isascii():
            continue
        latin1 += len(_LATIN1_LETTERS.findall(word))
        if len(word) > 1:
            families = {family(ch) for ch in word}
            if len(families) > 1 and families not in _ALLOWED_MIXES:
                mixed += 1
    score = 4.0 * mixed / len(words)
    if letters >= 20 and latin1 > 0.3 * letters:
        # Latin-1 accents on every other letter: no language writes so (Vietnamese and Icelandic stay
        # under a third); a Cyrillic or Greek code page shown as Latin-1 does.
        score = max(score, 2.0 * (latin1 / letters - 0.25))
    repeated = sum(len(m.group(0)) for m in _REPEAT.finditer(sample)
                   if m.group(1).isalpha() or unicodedata.category(m.group(1)) in _BAD_CATEGORIES)
    if repeated:
        score = max(score, 1.5 * repeated / max(visible, 1))
    return score


def junk_suspects(paragraphs: list[str], chars: set[str], prepared=None, gate: int = 1_000_000) -> set[int]:
    """Indices of the paragraphs whose junk score may be above 0 (over-inclusive).

    Character signs come from the text's distinct ``chars`` (a clean book has none of them);
    operators, blobs and repeated glyphs from whole-text searches, run over a long text only when
    its first ``gate`` characters or windows spread over the rest show any (damaged files show
    them throughout). ``prepared``: ``textstats.prepare(paragraphs)`` when the caller has it.
    """
    from core.ingest.textstats import prepare

    parts, joined, starts = prepared or prepare(paragraphs)
    patterns = []
    # Operators: plain substring tests (C speed) decide whether the regex runs at all.
    if any(_sampled(lambda text, a, b, op=op: text.find(op, a, b) >= 0, joined, gate) for op in _OP_WORDS):
        patterns.append(_OPS_HINT)
    if _sampled(lambda text, a, b: _BLOB_HINT.search(text, a, b) is not None, joined, gate):
        patterns.append(_BLOB_HINT)
    if not all(ch.isascii() for ch in chars) and _sampled(lambda t, a, b: _REPEAT.search(t, a, b) is not None,
                                                          joined, gate):
        patterns.append(_REPEAT)  # one odd glyph over and over: a font that maps every glyph to it
    if sum(1 for ch in chars if "\u00c0" <= ch <= "\u00ff") >= 24 and _sampled(
            lambda t, a, b: _LATIN1_RUN.search(t, a, b) is not None, joined, gate):
        # Three accented letters in a row, and most of the 64 in use: a Cyrillic code page shown as
        # Latin-1 (French or Icelandic use a dozen or two).
        patterns.append(_LATIN1_RUN)
    odd = _odd_chars(chars)
    if odd:
        patterns.append(re.compile("[" + re.escape("".join(sorted(odd))) + "]"))
    hits: set[int] = set()
    for pattern in patterns:
        for m in pattern.finditer(joined):
            hits.add(bisect.bisect_right(starts, m.start()) - 1)
    return {i for i in hits if len(parts[i]) >= 16}


def _odd_chars(chars: set[str]) -> set[str]:
    """The characters that could raise a junk score: controls and the symbols bytes turn into,
    and letters of a script that is not the text's own (Latin, Cyrillic, and its largest other
    one: a Greek or Chinese book is not junk, a Georgian letter in an English one may be)."""
    candidates = [ch for ch in chars if ch > "~" or (ch < " " and ch not in "\t\n\r")]
    out = {ch for ch in candidates if ch < " " or "\x7f" <= ch <= "\x9f" or ch in _RARE or ch == "\ufffd"
           or (not ch.isalpha() and unicodedata.category(ch) in _BAD_CATEGORIES)}
    by_family: dict[str, set[str]] = {}
    for ch in candidates:
        if ch.isalpha() and ch > "\u024f":
            by_family.setdefault(family(ch), set()).add(ch)
    own = {"latin", "cyrillic"}
    others = sorted((f for f in by_family if f not in own), key=lambda f: -len(by_family[f]))
    if others and len(by_family[others[0]]) >= 20:
        own.add(others[0])  # a real script in use shows most of its letters
    for name, letters in by_family.items():
        if name not in own:
            out |= letters
    return out


def _sampled(found, text: str, gate: int) -> bool:
    """``found(text, start, end)`` on the whole text when it is short, else on its first ``gate``
    characters and 64 windows spread over the rest (a quarter of ``gate`` in all): a damaged
    stretch of 1/64 of a long file is always seen."""
    if len(text) <= 2 * gate:
        return found(text, 0, len(text))
    if found(text, 0, gate):
        return True
    step, width = max((len(text) - gate) // 64, 1), gate // 256
    return any(found(text, start, start + width) for start in range(gate, len(text), step))


def junk_lines(lines: list[str], threshold: float = 0.5) -> set[int]:
    """Indices of the junk lines among a PDF's lines, so the reader keeps them out of the
    paragraphs it rebuilds (a damaged page mixes operator lines with real ones). Only the cheap
    signs are looked for here — operators, odd characters; blobs are found per paragraph."""
    from core.ingest.textstats import prepare

    whole = "\n".join(lines)  # a clean book stops after these two C-speed looks at its text
    patterns = [_OPS_HINT] if any(op in whole for op in _OP_WORDS) else []
    odd = _odd_chars(set(whole))
    if odd:
        patterns.append(re.compile("[" + re.escape("".join(sorted(odd))) + "]"))
    if not patterns:
        return set()
    parts, joined, starts = prepare(lines)
    hits = set()
    for pattern in patterns:
        hits.update(bisect.bisect_right(starts, m.start()) - 1 for m in pattern.finditer(joined))
    return {i for i in hits if len(parts[i]) >= 16 and junk_score(lines[i])[0] > threshold}


def trim_lines(paragraph: str, threshold: float) -> tuple[str, int]:
    """A multi-line paragraph (a code block, a listing) without its junk lines: a signed message's
    base64 armour goes, the command that made it stays. Returns ('', 0) when the lines are not
    junk one by one, or too little writing is left (then the paragraph is junk as a whole)."""
    lines = paragraph.split("\n")
    kept = [line for line in lines if junk_score(line)[0] <= threshold]
    removed = len(lines) - len(kept)
    rest = "\n".join(kept)
    if not removed or sum(len(line.strip()) for line in kept) < 16 or junk_score(rest)[0] > threshold:
        return "", 0
    return rest, removed


def verdict(stats: dict, paragraphs: int, characters: int, action: str = "drop") -> str:
    """The file's one-line note on its junk ('' when there is little): the commonest kind, and
    how much of the file it took, by characters of ``characters`` read and by paragraphs of
    ``paragraphs`` ("looks like damaged PDF internals, not text — 92% of its text dropped (40 of
    43 paragraphs)")."""
    verb = "dropped" if action == "drop" else "flagged"
    junk = stats.get(f"junk_{verb}", 0)
    if not junk or not paragraphs:
        return ""
    kind = max(KINDS, key=lambda k: stats.get(f"junk_{k}", 0))
    share = min(stats.get("junk_characters", 0) / max(characters, 1), 1.0)
    if junk == paragraphs:
        return f"{VERDICTS[kind]} — all of its text {verb}"
    if share >= 0.2:
        return f"{VERDICTS[kind]} — {min(share, 0.99):.0%} of its text {verb} ({junk} of {paragraphs} paragraphs)"
    if junk >= 3 or junk / paragraphs >= 0.05:
        return f"{junk} of {paragraphs} paragraphs {verb}: {KINDS[kind]}"
    return ""


def all_junk(doc) -> str:
    """The junk verdict when junk took the file: nothing, or under 5% of its characters, is left
    ('' otherwise) — the reader then refuses the file with this reason."""
    dropped, junk_chars = doc.stats.get("junk_dropped", 0), doc.stats.get("junk_characters", 0)
    if not dropped:
        return ""
    left = sum(len(p) for s in doc.sections for p in s.paragraphs)
    if left and left >= 0.05 * (left + junk_chars):
        return ""  # what is left is text of its own, not stray words between the junk
    kind = max(KINDS, key=lambda k: doc.stats.get(f"junk_{k}", 0))
    return f"{VERDICTS[kind]} — no readable text in it"
