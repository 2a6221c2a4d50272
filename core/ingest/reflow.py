"""Reflow: hard-wrapped lines of plain text and PDF pages → paragraphs.

Blank-line blocks become paragraphs, and a block that holds several hard-wrapped paragraphs is
split: a new paragraph starts at an indented line (when only some lines are indented), at a list
item, and after a clearly short line that ends a sentence; blocks of long lines (one paragraph per
line, no wrapping) split at every line; verse, lists and addresses (short lines) keep their lines.

Speed matters here (a 50 MB text file is read in a few seconds), so most of a book takes a fast
road: runs of lines that no whitespace begins or ends are found with C-speed list searches over
the lines and their lengths. The stretches around lines with edge whitespace (indentation, blank
lines holding spaces) go the general road, ``_reflow_blocks``, which splits the text with a regex
and looks at each block; both give the same paragraphs (tests compare them).
"""
from __future__ import annotations

import operator
import re

_BULLET = re.compile(r"^\s*(?:[-*+•–—]|\d{1,3}[.)]|[a-z][.)])\s+\S")
# A superset of the lines ``_BULLET`` accepts (searched in "\n" + text, so a match's start is the
# offset in the text of the line it begins).
_BULLET_HINT = re.compile(r"\n[^\S\n]*(?:[-*+•–—]|\d{1,3}[.)]|[a-z][.)])")
_BULLET_FIRST = frozenset("-*+•–—0123456789")
_ENDS = frozenset(".!?…:;\"'»”’)]")  # a line ending so may end a paragraph
_BLANK_LINE_KEPT = re.compile(r"(\n[ \t]*\n)")


def reflow(text: str) -> tuple[list[str], int]:
    """The paragraphs of ``text``, and how many more this found than a blank-line split would."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    lengths = list(map(len, lines))
    stripped = list(map(len, map(str.strip, lines)))
    listed_at = _list_item_lines(text, lengths)
    if stripped == lengths:  # no line starts or ends with whitespace: all of it the fast road
        return _reflow_lines(lines, lengths, 0, len(lines), listed_at)
    paragraphs: list[str] = []
    extra = 0
    for start, end, fast in _stretches(lengths, stripped):
        found, more = (_reflow_lines(lines, lengths, start, end, listed_at) if fast
                       else _reflow_blocks("\n".join(lines[start:end])))
        paragraphs.extend(found)
        extra += more
    return paragraphs, extra


def _stretches(lengths: list[int], stripped: list[int]):
    """(start, end, fast) line ranges covering the text in order: ``fast`` ones hold no line with
    edge whitespace. A range ends only at a safe cut — a single empty line between two non-empty
    lines without edge whitespace — where the regex split of the whole text cuts too, so each
    range can be reflowed on its own."""
    n = len(lengths)
    dirty = list(map(operator.ne, lengths, stripped))

    def clean_text_line(k: int) -> bool:
        return 0 <= k < n and lengths[k] > 0 and not dirty[k]

    def safe_cut(k: int) -> bool:  # line k is the empty line of a cut
        return lengths[k] == 0 and clean_text_line(k - 1) and clean_text_line(k + 1)

    position = 0
    while position < n:
        try:
            bad = dirty.index(True, position)
        except ValueError:
            yield position, n, True
            return
        begin = bad
        while begin > position and not safe_cut(begin - 1):
            begin -= 1
        stop = bad + 1
        while stop < n:  # the slow range runs to the next safe cut after its last dirty line
            if dirty[stop]:
                stop += 1
            elif safe_cut(stop):
                break
            else:
                stop += 1
        if begin > position:
            yield position, begin - 1, True  # (line begin - 1 is the cut's empty line)
        yield begin, stop, False
        position = stop + 1


def _list_item_lines(text: str, lengths: list[int]) -> list[int]:
    """Indices of the lines that may be list items (found in one C-speed regex pass over the whole
    text; the exact line-by-line check then runs only in the blocks holding one), and a sentinel.
    ``lengths``: the lengths of the text's lines."""
    import bisect
    from itertools import accumulate

    offsets = [m.start() + 1 for m in _BULLET_HINT.finditer(text)]  # (+1: the line after the break)
    found = [0] if _BULLET_HINT.match("\n" + text[:16]) else []
    if offsets:
        line_starts = list(accumulate(map((1).__add__, lengths[:-1]), initial=0))
        found += [bisect.bisect_left(line_starts, offset) for offset in offsets]
    found.append(len(lengths) + 1)  # (a sentinel)
    return found


def _reflow_lines(lines: list[str], lengths: list[int], start: int, end: int,
                  listed_at: list[int]) -> tuple[list[str], int]:
    """The fast road for lines ``start``..``end`` of ``lines``, none with edge whitespace: blocks
    are the runs of non-empty lines. ``listed_at``: ``_list_item_lines`` of the whole text."""
    import bisect

    paragraphs: list[str] = []
    extra = 0
    next_listed = bisect.bisect_left(listed_at, start)
    i = start
    while i < end:
        if not lengths[i]:
            i += 1
            continue
        try:
            j = min(lengths.index(0, i, end), end)
        except ValueError:
            j = end
        if j - i == 1:
            paragraphs.append(lines[i])
        else:
            while listed_at[next_listed] < i:
                next_listed += 1
            listed = listed_at[next_listed] < j
            n = j - i
            if not listed:  # _split_block's rules, the ones a block without list items can meet
                if n < 3:
                    paragraphs.append(" ".join(lines[i:j]))
                    i = j + 1
                    continue
                sizes = lengths[i:j]
                ordered = sorted(sizes)
                if ordered[-1] >= 45 and ordered[n // 2] <= 150 and (
                        n < 6 or ordered[int(n * 0.9)] < 40 or min(sizes[:-1]) >= 0.6 * ordered[int(n * 0.9)]):
                    paragraphs.append(" ".join(lines[i:j]))  # one wrapped paragraph: the common case
                    i = j + 1
                    continue
            found = _split_block(lines[i:j], None, listed, lengths[i:j])
            extra += len(found) - 1
            paragraphs.extend(" ".join(group) for group in found)
        i = j + 1
    return paragraphs, extra


def _reflow_blocks(text: str) -> tuple[list[str], int]:
    """The general road: the text split at blank lines by a regex, each block looked at."""
    # Where list items may start, found in one C-speed pass over the whole text: the line-by-line
    # check below then runs only in the blocks that hold one.
    bullets = [m.start() for m in _BULLET_HINT.finditer("\n" + text)]
    bullets.append(len(text) + 1)  # (a sentinel: the pointer below never runs off the end)
    paragraphs: list[str] = []
    extra = offset = next_bullet = 0
    parts = _BLANK_LINE_KEPT.split(text)
    blocks, gaps = parts[::2], [len(gap) for gap in parts[1::2]] + [0]
    for k, block in enumerate(blocks):
        at, offset = offset, offset + len(block) + gaps[k]
        if "\n" not in block:  # one line: the common case for unwrapped text and most markup
            block = block.strip()
            if block:
                paragraphs.append(block)
            continue
        while bullets[next_bullet] < at:  # blocks come in order, so one pointer walks the offsets
            next_bullet += 1
        listed = bullets[next_bullet] < at + len(block)
        raw = block.split("\n")
        if block[:1] in (" ", "\t") or "\n " in block or "\n\t" in block or " \n" in block or not all(raw):
            lines = [line.strip() for line in raw]
            indented = [line[:1] in (" ", "\t") for line in raw]
            keep = [i for i, line in enumerate(lines) if line]
            lines, indented = [lines[i] for i in keep], [indented[i] for i in keep]
            if not lines:
                continue
        else:  # the common hard-wrapped block: no indentation, nothing to strip
            lines, indented = raw, None
            if lines[-1].endswith((" ", "\t")):
                lines[-1] = lines[-1].rstrip()
        found = _split_block(lines, indented, listed) if len(lines) > 1 else [lines]
        extra += len(found) - 1
        paragraphs.extend(" ".join(group) for group in found)
    return paragraphs, extra


def _split_block(lines: list[str], indented: list[bool] | None, listed: bool = True,
                 lengths: list[int] | None = None) -> list[list[str]]:
    """``lines`` stripped and non-empty; ``indented`` says which began with a space or tab (None:
    none did); ``listed``: whether any line may be a list item; ``lengths``: the lines' lengths
    when the caller has them."""
    n = len(lines)
    lengths = lengths if lengths is not None else list(map(len, lines))
    ordered = sorted(lengths) if n >= 3 else lengths
    if n >= 3 and ordered[n // 2] > 150:
        return [[line] for line in lines]  # unwrapped text: every line is a paragraph
    use_indent = indented is not None and (0 < sum(indented[1:]) < n - 1
                                           or (not indented[0] and 0 < sum(indented) < n))
    if n >= 3 and ordered[-1] < 45 and not use_indent:
        return [["\n".join(lines)]]  # verse, a list, an address: keep its lines
    width = ordered[int(n * 0.9)] if n >= 6 else 0
    # Where a new paragraph starts (index of its first line); list comprehensions keep this fast.
    starts = set()
    if use_indent:
        starts.update(i for i, indent in enumerate(indented) if indent)
    if width >= 40:
        short = 0.6 * width
        if min(lengths[:-1]) < short:  # (most blocks: every line but the last is full)
            starts.update(i + 1 for i, (length, line) in enumerate(zip(lengths[:-1], lines)) if length < short
                          and line[-1] in _ENDS)
    if listed:
        starts.update(i for i, line in enumerate(lines) if (line[0] in _BULLET_FIRST or line[1:2] in (".", ")"))
                      and _BULLET.match(line))
    starts.discard(0)
    if not starts:
        return [lines]
    groups: list[list[str]] = []
    begin = 0
    for start in sorted(starts):
        groups.append(lines[begin:start])
        begin = start
    groups.append(lines[begin:])
    return groups
