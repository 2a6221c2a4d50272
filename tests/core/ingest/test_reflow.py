"""Reflow's two roads (the fast one over lines, the general one over regex-split blocks) give the
same paragraphs on any text, including the awkward ones: indentation, blank lines holding spaces
or tabs, runs of empty lines, list items, verse, non-breaking spaces at line edges."""
import random

import pytest

from core.ingest.reflow import _reflow_blocks, reflow

PIECES = ["the", "of", "and", "a", "to", "in", "he", "was", "Mr.", "end.", "ok!", "why?", "x;", "“quoted”",
          "1.", "2)", "a)", "-", "*", "•", "—", "12", "long" * 12, "Глава", "IV."]
EDGES = ["", "", "", "", " ", "  ", "\t", "\u00a0", " \t"]


def random_text(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(1, 60)):
        kind = rng.random()
        if kind < 0.15:
            lines.append(rng.choice(["", "", "", " ", "\t", "  \t", "\u00a0"]))  # blank-ish lines
            continue
        words = " ".join(rng.choice(PIECES) for _ in range(rng.choice([1, 2, 4, 8, 11, 13, 15, 30])))
        lines.append(rng.choice(EDGES) + words + (rng.choice(EDGES) if rng.random() < 0.2 else ""))
    text = "\n".join(lines)
    return rng.choice(["", "\n", "\n\n"]) + text + rng.choice(["", "\n", "\n\n\n"])


@pytest.mark.parametrize("seed", range(40))
def test_fast_and_general_roads_agree(seed):
    rng = random.Random(seed)
    for _ in range(50):
        text = random_text(rng)
        assert reflow(text) == _reflow_blocks(text), repr(text)


def test_clean_book_takes_the_fast_road_and_splits_as_before():
    para = ("It was a dark and stormy night; the rain fell in torrents, except at occasional\n"
            "intervals, when it was checked by a violent gust of wind which swept up the\nstreets.")
    text = "\n\n".join([para] * 3 + ["Chapter 2", "- one item here\n- another item"]) + "\n"
    paragraphs, extra = reflow(text)
    assert paragraphs[0] == para.replace("\n", " ") and paragraphs[3] == "Chapter 2"
    assert paragraphs[4:] == ["- one item here", "- another item"] and extra == 1
    assert (paragraphs, extra) == _reflow_blocks(text)
