"""The command line's progress display: core events → a tqdm bar per stage and messages on stderr.

stdout stays clean for the ``--json`` summary; a bar appears only once a stage has run for a
second, so short jobs print nothing but their messages.
"""
from __future__ import annotations

import sys
import time

from core.events import Event


class CliReporter:
    """Events → a tqdm bar per stage plus messages on stderr (stdout stays clean for --json)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.bars: dict[str, object] = {}
        self.started: dict[str, float] = {}

    def __call__(self, event: Event) -> None:
        from tqdm import tqdm

        if event.kind == "progress":
            # A bar appears only once a stage has run for a second: short jobs stay quiet.
            total, done = int(event.data.get("total") or 0), int(event.data.get("done", 0))
            started = self.started.setdefault(event.stage, time.monotonic())
            bar = self.bars.get(event.stage)
            if bar is not None and bar.total != total:
                bar.close()
                del self.bars[event.stage]
                bar = None
            if bar is None and done < total and not self.quiet and time.monotonic() - started > 1.0:
                bar = self.bars[event.stage] = tqdm(total=total, desc=event.stage, file=sys.stderr,
                                                    leave=False, dynamic_ncols=True)
            if bar is not None:
                bar.set_postfix_str(event.message[:60], refresh=False)
                bar.update(done - bar.n)
                if done >= total:
                    bar.close()
                    self.bars.pop(event.stage, None)
            if done >= total:
                self.started.pop(event.stage, None)
        elif event.kind in ("log", "warning", "error") and event.message:
            prefix = {"log": "", "warning": "warning: ", "error": "error: "}[event.kind]
            if not self.quiet or event.kind != "log":
                tqdm.write(f"[{event.stage}] {prefix}{event.message}", file=sys.stderr)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()
