"""Lab data scoring speed: samples/s of perplexity + IFD on the embedded model, batched vs one by one.

A project is built from one document (default: the PeptoVar user manual from ../shared/realdocs,
else generated prose) in the ``chat`` format (no generation needed), and its training samples are
scored by the lab (``core/lab/scoring.py``: two teacher-forced passes per sample with a prompt) —
batched (``--batch-size``, default 16) and one sample at a time. Each round measures both sides,
the order alternating, on the first ``--samples`` samples; the figures are medians of the rounds.
Last line: ``ratio: X`` = batched samples/s ÷ one-by-one samples/s.

    python bench/lab.py [--doc FILE] [--samples 48] [--rounds 3] [--batch-size 16]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DOC = ROOT.parent / "shared" / "realdocs" / "docx" / "peptovar_user_manual.docx"
PROSE = ("The keeper climbed the stairs every evening and lit the great lamp. He kept a journal of the weather, of "
         "the birds that rested on the gallery, and of the letters that never came.\n\n") * 60


def main() -> int:
    import os

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--doc", type=Path, default=DOC if DOC.exists() else None)
    parser.add_argument("--samples", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    from core.config import CorpusConfig, FormatConfig
    from core.evaluate.scorer import TransformersScorer
    from core.formats.builder import build_dataset
    from core.ingest.pipeline import ingest
    from core.lab.scoring import score_samples
    from core.models import load_tokenizer, resolve
    from core.project import Project

    with tempfile.TemporaryDirectory(prefix="scriptorium-bench-lab-") as tmp:
        doc = args.doc
        if doc is None:
            doc = Path(tmp) / "keeper.txt"
            doc.write_text(PROSE, encoding="utf-8")
        project = Project.open(Path(tmp) / "project")
        resolved = resolve(project.model.source)
        tokenizer = load_tokenizer(resolved)
        ingest(project, [doc], tokenizer, CorpusConfig())
        rows = build_dataset(project, FormatConfig(format="chat"), tokenizer).train[:args.samples]
        scorer = TransformersScorer.load(resolved.load_dir, batch_size=args.batch_size, device="cpu")
        load_before = os.getloadavg()[0]
        score_samples(rows[:4], scorer)  # warm-up
        batched, single, ratios = [], [], []
        for round_ in range(args.rounds):
            rates = {}
            for size in ([args.batch_size, 1] if round_ % 2 == 0 else [1, args.batch_size]):
                scorer.batch_size = size
                start = time.perf_counter()
                scores = score_samples(rows, scorer)
                rates[size] = len(rows) / (time.perf_counter() - start)
            batched.append(rates[args.batch_size])
            single.append(rates[1])
            ratios.append(rates[args.batch_size] / rates[1])
        ifds = sorted(s.ifd for s in scores if s.ifd is not None)
    print(f"samples: {len(rows)} chat samples of {doc.name}; model {resolved.name}; {args.rounds} rounds")
    print(f"batched ({args.batch_size}): {statistics.median(batched):.2f} samples/s (min {min(batched):.2f}, max {max(batched):.2f})")
    print(f"one by one:   {statistics.median(single):.2f} samples/s (min {min(single):.2f}, max {max(single):.2f})")
    if ifds:
        print(f"IFD: median {ifds[len(ifds) // 2]:.3f}, range {ifds[0]:.3f}–{ifds[-1]:.3f}")
    print(f"load average (1 min): {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"ratio: {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
