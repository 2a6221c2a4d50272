"""Run every bench in turn and write one JSON with each one's headline number and its lines.

Each bench runs in its own process (one at a time: they would slow each other), with the machine's
load average before and after, so a number measured beside other work can be recognised. The
headline is the bench's last ``name: value`` line (``ratio: X``, ``max_stall_ms: X``).

    python bench/all.py [--only train,ingest] [--skip knowledge] [--out bench-results.json]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADLINE = re.compile(r"^([a-z_]+):\s*([-+0-9.eE]+)\s*$")


def run_bench(path: Path, timeout: float) -> dict:
    load_before = os.getloadavg()
    started = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, out, err = "timeout", exc.stdout or "", exc.stderr or ""
        out, err = (out.decode() if isinstance(out, bytes) else out), (err.decode() if isinstance(err, bytes) else err)
    lines = [line for line in out.splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            pass
    headline = next((HEADLINE.match(line).groups() for line in reversed(lines) if HEADLINE.match(line)), None)
    return {"bench": path.stem, "exit": code, "seconds": round(time.monotonic() - started, 1),
            "headline": {headline[0]: float(headline[1])} if headline else None,
            "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
            "records": records, "stderr_tail": err[-2000:] if code != 0 else ""}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated bench names (default: all)")
    parser.add_argument("--skip", default="", help="comma-separated bench names to leave out")
    parser.add_argument("--out", type=Path, default=Path("bench-results.json"))
    parser.add_argument("--timeout", type=float, default=3600, help="seconds one bench may take")
    args = parser.parse_args()
    only = {n for n in args.only.split(",") if n}
    skip = {n for n in args.skip.split(",") if n}
    benches = [p for p in sorted(HERE.glob("*.py")) if p.stem != "all" and (not only or p.stem in only)
               and p.stem not in skip]
    results = []
    for path in benches:
        print(f"== {path.stem}", file=sys.stderr, flush=True)
        row = run_bench(path, args.timeout)
        results.append(row)
        print(json.dumps({k: row[k] for k in ("bench", "exit", "seconds", "headline", "load_before", "load_after")}),
              flush=True)
    args.out.write_text(json.dumps({"when": time.strftime("%Y-%m-%d %H:%M:%S"), "cpus": os.cpu_count(),
                                    "results": results}, indent=1), encoding="utf-8")
    failed = [r["bench"] for r in results if r["exit"] != 0]
    print(f"wrote {args.out}; failed: {', '.join(failed) or 'none'}")
    print(f"benches_ok: {len(results) - len(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
