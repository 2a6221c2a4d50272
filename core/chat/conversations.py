"""Chat conversations saved per project: ``<project>/chats/<started>.jsonl``, one line per turn.

A turn is what the user asked and what each side answered — ``base``, ``tuned``, ``lookup`` (the
tuned model with passages of the user's books before the question) — plus the passages it was
given, the run that answered and when. Each finished turn is appended and flushed at once (a
crash loses at most the answer being written), so the Chat page can reopen any earlier
conversation exactly as it was, and a user can read them without the app (plain JSON lines).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.project import Project, append_jsonl

SIDES = ("base", "tuned", "lookup")


@dataclass
class Turn:
    prompt: str
    answers: dict[str, str]                              # side → reply, in the order asked
    sources: list[dict] = field(default_factory=list)    # passages given (title, heading, text)
    run: str = ""
    engine: str = ""
    time: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))

    @classmethod
    def from_dict(cls, row: dict) -> "Turn":
        answers = {k: str(v) for k, v in (row.get("answers") or {}).items() if k in SIDES}
        sources = [s for s in row.get("sources") or [] if isinstance(s, dict)]
        return cls(str(row.get("prompt", "")), answers, sources, str(row.get("run", "")),
                   str(row.get("engine", "")), str(row.get("time", "")))


@dataclass
class Conversation:
    path: Path
    turns: list[Turn]

    @property
    def name(self) -> str:
        return self.path.stem

    def title(self, width: int = 48) -> str:
        """The conversation's start and first question, short enough for a list."""
        first = self.turns[0].prompt.replace("\n", " ") if self.turns else ""
        first = first if len(first) <= width else first[:width - 1] + "…"
        started = self.turns[0].time[:16] if self.turns else self.name
        return f"{started} · {first}" if first else started

    def history(self) -> list[dict]:
        """The chat messages the model sees when the conversation goes on: each question and the
        tuned side's answer (the only side when one was asked)."""
        messages: list[dict] = []
        for turn in self.turns:
            reply = turn.answers.get("tuned", turn.answers.get("lookup", turn.answers.get("base", "")))
            messages += [{"role": "user", "content": turn.prompt}, {"role": "assistant", "content": reply}]
        return messages


def chats_dir(project: Project) -> Path:
    return project.root / "chats"


def new_conversation(project: Project) -> Conversation:
    """A conversation not yet on disk: its file appears with the first turn."""
    now = time.time()
    stamp, ms = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)), int(now * 1000) % 1000
    path = chats_dir(project) / f"{stamp}-{ms:03d}.jsonl"   # names sort by start: newest first in the list
    while path.exists():
        ms += 1
        path = chats_dir(project) / f"{stamp}-{ms:03d}.jsonl"
    return Conversation(path, [])


def append_turn(conversation: Conversation, turn: Turn) -> None:
    conversation.turns.append(turn)
    append_jsonl(conversation.path, asdict(turn))


def load_conversation(path: Path) -> Conversation:
    """A saved conversation; a damaged line (a crash mid-write) is skipped, not fatal."""
    turns = []
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and row.get("prompt"):
            turns.append(Turn.from_dict(row))
    return Conversation(Path(path), turns)


def list_conversations(project: Project) -> list[Conversation]:
    """Saved conversations with at least one turn, newest first."""
    folder = chats_dir(project)
    if not folder.is_dir():
        return []
    found = [load_conversation(p) for p in sorted(folder.glob("*.jsonl"), reverse=True)]
    return [c for c in found if c.turns]
