"""A write-ahead journal of signed transactions, so that work killed half-way can be finished
without sending anything twice.

Every transaction sent while a journal task is open is written to disk (and fsynced) *before*
it is broadcast. On a re-run, ``Connection`` settles each recorded transaction instead of
building a new one:

- its receipt is on chain: it counts as done (its result is returned again);
- it is not, and its sender's nonce has not moved past it: the *identical* signed bytes are
  broadcast again. A nonce can be used once, so this can never execute twice;
- it is not, and the nonce has moved on: something else used that nonce. Nothing is sent and
  ``JournalConflict`` says which transaction to look at.

The journal holds what the task has decided and sent, never keys.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from scf.errors import ScfError


class JournalConflict(ScfError, RuntimeError):
    """A recorded transaction can neither be found nor safely sent again."""


@dataclass(frozen=True)
class Sent:
    """One signed transaction, as recorded before it was broadcast."""

    hash: str
    raw: str
    sender: str
    nonce: int
    to: str
    data: str
    gas: int

    @property
    def selector(self) -> str:
        return self.data[:10]


class Journal:
    """A JSON document on disk: free-form ``meta`` and ``state`` that the owner keeps, plus the
    transactions of the one task in progress (``pending``). Each change is written atomically."""

    def __init__(self, path: Path, document: dict[str, Any]) -> None:
        self.path = Path(path)
        self.doc = document
        self._cursor = 0

    @classmethod
    def open(cls, path: Path) -> Journal | None:
        """The journal at ``path``, or None when there is none."""
        try:
            return cls(path, json.loads(Path(path).read_text()))
        except FileNotFoundError:
            return None

    @classmethod
    def create(
        cls, path: Path, meta: dict[str, Any], head: tuple[int, str], state: dict[str, Any] | None = None
    ) -> Journal:
        """A new journal, in one write, for work on the chain whose latest block is ``head``
        (number, hash), starting from the owner's ``state``."""
        anchored = {**meta, "block": {"number": head[0], "hash": head[1]}}
        journal = cls(path, {"meta": anchored, "state": _copy(state or {}), "pending": None})
        journal.save()
        return journal

    def on_same_chain(self, block_hash: Callable[[int], str | None]) -> bool:
        """Whether the chain still has the block this journal was started at: a restarted
        local chain (or another chain) does not, and its journal must not be resumed there."""
        anchor = self.meta["block"]
        return block_hash(int(anchor["number"])) == anchor["hash"]

    @property
    def meta(self) -> dict[str, Any]:
        return self.doc["meta"]

    @property
    def state(self) -> dict[str, Any]:
        return self.doc["state"]

    def save(self) -> None:
        """Atomic and durable: a crash leaves either the old or the new file, whole."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        with tmp.open("w") as out:
            json.dump(self.doc, out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)  # the rename itself survives a power cut
        finally:
            os.close(folder)

    def retire(self, reason: str) -> Path:
        """Moves the file aside (kept for the record); returns where it went."""
        target = self.path.with_name(f"{self.path.stem}.{reason}{self.path.suffix}")
        os.replace(self.path, target)
        return target

    # ------------------------------------------------------------------- tasks

    def begin(self, task: str) -> list[Sent]:
        """Opens ``task`` (a task left open by a crash is resumed); returns what it sent so far."""
        pending = self.doc.get("pending")
        if pending is None or pending["task"] != task:
            self.doc["pending"] = {"task": task, "sent": [], "values": {}}
            self.save()
        self._cursor = 0
        return self.recorded()

    def recorded(self) -> list[Sent]:
        pending = self.doc.get("pending")
        return [Sent(**s) for s in pending["sent"]] if pending else []

    def next_recorded(self) -> Sent | None:
        """The recorded transaction the open task's next send stands for, if any."""
        sent = self.recorded()
        return sent[self._cursor] if self._cursor < len(sent) else None

    def consume(self) -> None:
        self._cursor += 1

    def record(self, sent: Sent) -> None:
        """Written before the transaction is broadcast."""
        if self.doc.get("pending") is None:
            raise RuntimeError("no journal task is open")
        self.doc["pending"]["sent"].append(asdict(sent))
        self._cursor += 1
        self.save()

    def discard_rest(self) -> None:
        """Forgets the open task's transactions from the cursor on: the one there was mined and
        failed (its nonce is spent, nothing moved), so the task sends afresh from here."""
        del self.doc["pending"]["sent"][self._cursor :]
        self.save()

    def value(self, name: str, compute: Any) -> Any:
        """A value the open task decides once (a target time, say): the first run's decision
        is kept for every re-run. ``compute`` is called only the first time."""
        values = self.doc["pending"]["values"]
        if name not in values:
            values[name] = compute()
            self.save()
        return values[name]

    def finish(self, state: dict[str, Any]) -> None:
        """Closes the open task and stores the owner's state as of its end, in one write."""
        self.doc["state"] = _copy(state)
        self.doc["pending"] = None
        self._cursor = 0
        self.save()

    @property
    def is_open(self) -> bool:
        return self.doc.get("pending") is not None


def _copy(state: dict[str, Any]) -> dict[str, Any]:
    """A snapshot: later changes to the owner's objects must not leak into what was saved."""
    return json.loads(json.dumps(state))
