"""The watch itself: runs a policy's rules on each ``Book`` it is given and keeps what they find
in the event index's own SQLite file (table ``alerts``). A finding already on record is not
raised again, so a watch that runs on every block reports each risk once. Alerts belong to the
chain the index holds: when the index discards its events (another chain, another deployment, a
reorg or a restarted devnet empties its ``meta`` table, and with it the watch's mark there), the
alerts go too. ``alerts_page`` reads them back, newest first, in the read API's JSON shape;
``json_line`` and ``alerts_table`` print them."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from scf.indexer import SCHEMA as INDEX_SCHEMA
from scf.manifest import Deployment
from scf.money import fmt_day
from scf.supervision import Book
from scf.text import printable
from scf.watch.policy import Policy

ALERTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule TEXT NOT NULL, severity TEXT NOT NULL,
    subject_kind TEXT NOT NULL, subject_key TEXT NOT NULL,
    scope TEXT NOT NULL,  -- what makes one subject's findings distinct (a debtor, an episode, an event)
    message TEXT NOT NULL, block INTEGER NOT NULL, timestamp INTEGER NOT NULL,
    UNIQUE (rule, subject_kind, subject_key, scope)
);
CREATE INDEX IF NOT EXISTS alerts_by_rule ON alerts (rule, id);
"""
# The watch's mark in the index's ``meta`` table: present while the alerts on record belong to
# the events the index holds. The index deletes every ``meta`` row when it discards its events.
EPOCH_KEY = "watch.epoch"


def system_accounts(deployment: Deployment) -> frozenset[str]:
    """The suite's own contracts (the discount desk, the payout keeper, the credit desk that
    holds pledges in custody...): accounts value passes through without trading."""
    return frozenset(str(c["address"]) for c in deployment.contracts.values())


class Watch:
    """Runs ``policy`` on each ``Book`` it is given and keeps its alerts in ``db`` (the event
    index's SQLite connection, whose ``meta`` table tells when the index discarded its events)."""

    def __init__(self, policy: Policy, db: sqlite3.Connection, system: Iterable[str] = ()) -> None:
        self.policy = policy
        self.db = db
        self.system = frozenset(system)
        db.executescript(INDEX_SCHEMA + ALERTS_SCHEMA)

    def evaluate(self, book: Book) -> list[dict[str, Any]]:
        """Runs the enabled rules on ``book``; stores and returns the alerts not raised before."""
        self._forget_a_discarded_chain()
        new = []
        for rule in self.policy.rules:
            if not rule.enabled:
                continue
            for f in rule.findings(book, self.system):
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO alerts (rule, severity, subject_kind, subject_key, scope, message, block,"
                    " timestamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (rule.NAME, rule.severity, f.kind, f.key, f.scope, f.message, book.block, book.now),
                )
                if cursor.rowcount:
                    row = (cursor.lastrowid, rule.NAME, rule.severity, f.kind, f.key, f.message, book.block, book.now)
                    new.append(_alert(row))
        self.db.commit()
        return new

    def page(self, rule: str | None = None, offset: int = 0, limit: int = 50) -> tuple[int, list[dict[str, Any]]]:
        return alerts_page(self.db, rule, offset, limit)

    def _forget_a_discarded_chain(self) -> None:
        if self.db.execute("SELECT 1 FROM meta WHERE key = ?", (EPOCH_KEY,)).fetchone() is None:
            self.db.execute("DELETE FROM alerts")
            self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (EPOCH_KEY, "alerts of these events"))


_COLUMNS = "id, rule, severity, subject_kind, subject_key, message, block, timestamp"


def _alert(row: tuple[Any, ...]) -> dict[str, Any]:
    """``{"id", "rule", "severity", "subject": {"kind", "key"}, "message", "block", "timestamp"}``."""
    alert_id, rule, severity, kind, key, message, block, timestamp = row
    return {"id": int(alert_id), "rule": rule, "severity": severity, "subject": {"kind": kind, "key": key},
            "message": message, "block": int(block), "timestamp": int(timestamp)}


def alerts_page(
    db: sqlite3.Connection, rule: str | None = None, offset: int = 0, limit: int = 50
) -> tuple[int, list[dict[str, Any]]]:
    """A page of the alerts on record (of ``rule``, or all), newest first, and how many there
    are. Nothing on record (no watch has run on this index) is an empty page."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alerts'").fetchone() is None:
        return 0, []
    where, params = ("WHERE rule = ?", [rule]) if rule is not None else ("", [])
    total = int(db.execute(f"SELECT COUNT(*) FROM alerts {where}", params).fetchone()[0])
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM alerts {where} ORDER BY id DESC LIMIT ? OFFSET ?", [*params, limit, offset]
    ).fetchall()
    return total, [_alert(r) for r in rows]


# ------------------------------------------------------------------------ for people


def json_line(alert: dict[str, Any]) -> str:
    """One alert as one line of JSON (non-ASCII and control characters escaped)."""
    return json.dumps(alert, ensure_ascii=True, separators=(",", ":"))


def alerts_table(alerts: list[dict[str, Any]], width: int = 120) -> str:
    """Alerts as a table for a terminal. Messages carry members' names, chosen by them: each
    text is made printable and taken literally (no rich markup)."""
    table = Table(show_lines=False, expand=False)
    for column in ("id", "severity", "rule", "subject", "message", "block", "time"):
        table.add_column(column, overflow="fold")
    for a in alerts:
        subject = f"{a['subject']['kind']} {a['subject']['key']}"
        table.add_row(*(Text(printable(x)) for x in (
            a["id"], a["severity"], a["rule"], subject, a["message"], a["block"], fmt_day(a["timestamp"]),
        )))
    out = io.StringIO()
    Console(file=out, width=width, color_system=None, highlight=False, emoji=False).print(table)
    return out.getvalue()
