"""The ledger rebuilt from events: an embedded SQLite cache of every event of the suite,
refreshed incrementally from the last indexed block, and the views built on it (voucher
lineage and holders, audit trails of a voucher, a slot, a member or a trade record).

No on-chain enumeration is needed: ``Transfer`` gives holders, a ``TransferValue`` into a
voucher minted in the same transaction names its parent, burns end a voucher.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from eth_typing import HexStr
from eth_utils import filter_abi_by_type
from hexbytes import HexBytes
from web3.contract import Contract
from web3.exceptions import BlockNotFound

from scf.chain.connection import Connection
from scf.contracts import LEDGERS, ConsortiumRegistry
from scf.contracts.base import ZERO_ADDRESS
from scf.contracts.registry import PROFILE_EVENTS
from scf.contracts.voucher import SERIAL_BITS
from scf.manifest import Deployment

TOKEN_ARGS = {"tokenId", "_tokenId", "_fromTokenId", "_toTokenId", "fromTokenId", "financierTokenId", "pledgeeTokenId"}
SLOT_ARGS = {"slot", "_oldSlot", "_newSlot"}
RECORD_ARGS = {"recordId", "tradeRecordId", "parentId"}
CHUNK = 5_000
EVENT_COLUMNS = "block, log_index, tx_hash, timestamp, actor, contract, event, args"  # Event's fields, in order
# Contracts whose events name vouchers by token id (each also names the voucher's slot).
VOUCHER_AWARE = ("ReceivableVoucher", "DiscountDesk", "PayoutKeeper", "CreditDesk")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    block INTEGER NOT NULL, log_index INTEGER NOT NULL, tx_hash TEXT NOT NULL,
    timestamp INTEGER NOT NULL, actor TEXT NOT NULL,
    contract TEXT NOT NULL, event TEXT NOT NULL, args TEXT NOT NULL,
    UNIQUE (block, log_index)
);
CREATE TABLE IF NOT EXISTS entities (
    event_id INTEGER NOT NULL REFERENCES events(id), kind TEXT NOT NULL, key TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entities_by_key ON entities (kind, key);
CREATE TABLE IF NOT EXISTS txs (tx_hash TEXT PRIMARY KEY, sender TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Event:
    block: int
    log_index: int
    tx_hash: str
    timestamp: int
    actor: str
    contract: str
    event: str
    args: dict[str, Any]


@dataclass
class IndexedVoucher:
    token_id: int
    slot: int
    parent: int
    owner: str
    value: int
    created_block: int
    burned: bool = False
    children: list[int] = field(default_factory=list)


@dataclass
class LedgerView:
    vouchers: dict[int, IndexedVoucher]

    def of_slot(self, slot: int, *, live_only: bool = False) -> list[IndexedVoucher]:
        return [
            v
            for v in sorted(self.vouchers.values(), key=lambda v: v.token_id)
            if v.slot == slot and not (live_only and v.burned)
        ]

    def held_by(self, account: str) -> list[IndexedVoucher]:
        return [v for v in self.vouchers.values() if v.owner == account and not v.burned]

    def descendants(self, slots: Iterable[int]) -> Iterator[tuple[IndexedVoucher, int]]:
        """Every voucher of ``slots``, depth first from each slot's root, with its depth (0 for
        a root): the one lineage walk behind the inspector's trees and the scenario report."""
        wanted = set(slots)

        def walk(token: int, depth: int) -> Iterator[tuple[IndexedVoucher, int]]:
            voucher = self.vouchers[token]
            yield voucher, depth
            for child in voucher.children:
                yield from walk(child, depth + 1)

        for token, voucher in sorted(self.vouchers.items()):
            if voucher.parent == 0 and voucher.slot in wanted:
                yield from walk(token, 0)

    def lineage(self, token: int) -> list[int]:
        """``token`` and its ancestors up to the slot's root."""
        chain = [token]
        while self.vouchers[chain[-1]].parent:
            chain.append(self.vouchers[chain[-1]].parent)
        return chain


def _jsonable(value: Any) -> Any:
    if isinstance(value, (bytes, HexBytes)):
        return "0x" + bytes(value).hex()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if abs(value) > 2**53 else value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class EventIndex:
    """Every event of the deployed suite, in an SQLite file (or ``:memory:``)."""

    def __init__(self, conn: Connection, deployment: Deployment, path: Path | str = ":memory:") -> None:
        self.conn = conn
        self.deployment = deployment
        self.db = sqlite3.connect(str(path), check_same_thread=False)  # the read API shares it, under a lock
        self.db.executescript(SCHEMA)
        self._contracts: dict[str, tuple[str, Contract, dict[bytes, str]]] = {}
        for name in LEDGERS:
            if name not in deployment.contracts:
                continue
            contract = conn.contract(name, deployment.address(name))
            topics = {}
            for item in filter_abi_by_type("event", contract.abi):
                signature = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
                topics[bytes(conn.w3.keccak(text=signature))] = item["name"]
            self._contracts[contract.address.lower()] = (name, contract, topics)
        self._check_identity()

    # ---------------------------------------------------------------- refresh

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def _check_identity(self) -> None:
        """A cache for another chain or another deployment is discarded."""
        identity = f"{self.conn.chain_id}:{self.deployment.address('ReceivableVoucher')}"
        if self._meta("identity") != identity:
            self._wipe()
            self._set_meta("identity", identity)
            self.db.commit()

    def _wipe(self) -> None:
        for table in ("entities", "events", "txs", "meta"):
            self.db.execute(f"DELETE FROM {table}")

    @property
    def last_block(self) -> int:
        return int(self._meta("last_block") or -1)

    @property
    def last_block_time(self) -> int:
        """The timestamp of the last indexed block (0 before the first refresh)."""
        return int(self._meta("last_block_time") or 0)

    def refresh(self, *, progress: Callable[[int, int], None] | None = None) -> int:
        """Indexes blocks after the last indexed one; returns how many events were added. If
        the chain no longer has the last indexed block (reorg, restarted devnet), re-indexes."""
        w3 = self.conn.w3
        last = self.last_block
        if last >= 0:
            known_hash = self._meta("last_block_hash")
            try:
                current = self.conn.read(lambda: w3.eth.get_block(last)["hash"]).hex()
            except BlockNotFound:  # the chain no longer has it: it changed
                current = None
            if current != known_hash:
                identity = self._meta("identity") or ""
                self._wipe()
                self._set_meta("identity", identity)
                last = -1
        start = max(last + 1, min(int(c["block"]) for c in self.deployment.contracts.values()))
        head = int(self.conn.read(lambda: w3.eth.block_number))
        added = 0
        addresses = [c.address for _, c, _ in self._contracts.values()]
        for lo in range(start, head + 1, CHUNK):
            hi = min(lo + CHUNK - 1, head)
            logs = self.conn.read(partial(w3.eth.get_logs, {"fromBlock": lo, "toBlock": hi, "address": addresses}))
            for log in logs:
                added += self._store(log)
            if progress is not None:
                progress(hi - start + 1, head - start + 1)
        if head >= start or last < 0:
            self._set_meta("last_block", str(head))
            block = self.conn.read(lambda: w3.eth.get_block(head))
            self._set_meta("last_block_hash", block["hash"].hex())
            self._set_meta("last_block_time", str(int(block["timestamp"])))
        self.db.commit()
        return added

    def _store(self, log: Any) -> int:
        entry = self._contracts.get(log["address"].lower())
        if entry is None or not log["topics"]:
            return 0
        contract_name, contract, topics = entry
        event_name = topics.get(bytes(log["topics"][0]))
        if event_name is None:
            return 0
        decoded = getattr(contract.events, event_name)().process_log(log)
        args = {k: _jsonable(v) for k, v in decoded["args"].items()}
        tx_hash = "0x" + bytes(log["transactionHash"]).hex()
        timestamp = log.get("blockTimestamp")
        if timestamp is None:
            timestamp = self.conn.read(lambda: self.conn.w3.eth.get_block(log["blockNumber"])["timestamp"])
        timestamp = int(timestamp, 16) if isinstance(timestamp, str) else int(timestamp)
        actor = self._sender(tx_hash)
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO events (block, log_index, tx_hash, timestamp, actor, contract, event, args)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                log["blockNumber"], log["logIndex"], tx_hash, timestamp, actor,
                contract_name, event_name, json.dumps(args),
            ),
        )
        if cursor.rowcount == 0:
            return 0
        event_id = cursor.lastrowid
        keys = set(self._entities(contract_name, decoded["args"], decoded["event"], contract))
        keys.add(("account", actor))
        self.db.executemany(
            "INSERT INTO entities (event_id, kind, key) VALUES (?, ?, ?)", [(event_id, k, v) for k, v in keys]
        )
        return 1

    def _sender(self, tx_hash: str) -> str:
        row = self.db.execute("SELECT sender FROM txs WHERE tx_hash = ?", (tx_hash,)).fetchone()
        if row:
            return row[0]
        sender = self.conn.read(lambda: self.conn.w3.eth.get_transaction(HexStr(tx_hash))["from"])
        self.db.execute("INSERT OR IGNORE INTO txs (tx_hash, sender) VALUES (?, ?)", (tx_hash, sender))
        return sender

    @staticmethod
    def _entities(
        contract_name: str, args: dict[str, Any], event: str, contract: Contract
    ) -> Iterator[tuple[str, str]]:
        abi = next(i for i in filter_abi_by_type("event", contract.abi) if i["name"] == event)
        types = {i["name"]: i["type"] for i in abi["inputs"]}
        for name, value in args.items():
            if types.get(name) == "address" and value != ZERO_ADDRESS:
                yield "account", value
            elif name in TOKEN_ARGS and contract_name in VOUCHER_AWARE and int(value):
                yield "token", str(int(value))
                yield "slot", str(int(value) >> SERIAL_BITS)
            elif name in SLOT_ARGS and contract_name in ("ReceivableVoucher", "CreditDesk") and int(value):
                yield "slot", str(int(value))
            elif name in RECORD_ARGS and int(value):
                yield "record", str(int(value))

    # ------------------------------------------------------------------ views

    def _events(self, sql: str, params: Sequence[Any]) -> list[Event]:
        """The events a query selects (its columns in ``Event``'s order)."""
        return [Event(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]))
                for r in self.db.execute(sql, params).fetchall()]

    def trail(self, kind: str, key: str | int) -> list[Event]:
        """Every event about a ``token``, ``slot``, ``account`` or trade ``record``, in order."""
        return self._events(
            "SELECT DISTINCT e.block, e.log_index, e.tx_hash, e.timestamp, e.actor, e.contract, e.event, e.args"
            " FROM events e JOIN entities n ON n.event_id = e.id WHERE n.kind = ? AND n.key = ?"
            " ORDER BY e.block, e.log_index",
            (kind, str(key)),
        )

    def profile(self, account: str) -> tuple[str, bytes] | None:
        """The name and KYC evidence hash ``account`` last applied or was admitted with, or None
        for an account that never did. The registry keeps them in these events only."""
        for e in reversed(self.trail("account", account)):
            subject = PROFILE_EVENTS.get(e.event) if e.contract == ConsortiumRegistry.NAME else None
            if subject is not None and e.args[subject] == account:
                return str(e.args["name"]), bytes(HexBytes(e.args["kycHash"]))
        return None

    def all_events(self, contract: str, names: tuple[str, ...]) -> list[Event]:
        return self.events_of([(contract, name) for name in names])

    @staticmethod
    def _of_kinds(kinds: list[tuple[str, str]] | None) -> tuple[str, list[str]]:
        """The WHERE clause (and its parameters) keeping events of ``(contract, event)`` kinds."""
        if kinds is None:
            return "", []
        marks = ",".join("(?, ?)" for _ in kinds)
        return f" WHERE (contract, event) IN (VALUES {marks})", [x for kind in kinds for x in kind]

    def events_of(self, kinds: list[tuple[str, str]]) -> list[Event]:
        """Every event of the given ``(contract, event)`` kinds, in chain order."""
        where, params = self._of_kinds(kinds)
        return self._events(f"SELECT {EVENT_COLUMNS} FROM events{where} ORDER BY block, log_index", params)

    def recent(self, kinds: list[tuple[str, str]] | None, offset: int, limit: int) -> tuple[int, list[Event]]:
        """A page of events (of ``kinds``, or all), newest first, and how many there are."""
        where, params = self._of_kinds(kinds)
        total = int(self.db.execute(f"SELECT COUNT(*) FROM events{where}", params).fetchone()[0])
        page = self._events(
            f"SELECT {EVENT_COLUMNS} FROM events{where} ORDER BY block DESC, log_index DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return total, page

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def ledger(self) -> LedgerView:
        """Holders, values and lineage of every voucher, replayed from Transfer/TransferValue."""
        vouchers: dict[int, IndexedVoucher] = {}
        awaiting_first_value: set[int] = set()
        for e in self.all_events("ReceivableVoucher", ("Transfer", "TransferValue")):
            a = e.args
            if e.event == "Transfer":
                tid = int(a["tokenId"])
                if a["from"] == ZERO_ADDRESS:
                    vouchers[tid] = IndexedVoucher(tid, tid >> SERIAL_BITS, 0, a["to"], 0, e.block)
                    awaiting_first_value.add(tid)
                elif a["to"] == ZERO_ADDRESS:
                    vouchers[tid].burned = True
                else:
                    vouchers[tid].owner = a["to"]
                continue
            src, dst, amount = int(a["_fromTokenId"]), int(a["_toTokenId"]), int(a["_value"])
            if dst in awaiting_first_value:
                awaiting_first_value.discard(dst)
                if src:
                    vouchers[dst].parent = src
                    vouchers[src].children.append(dst)
            if src and (dst or not vouchers[src].burned):
                # A split, a merge, or a pro-rata payout (value out of a voucher that lives on);
                # a burn (Transfer to nobody first) keeps the value it was redeemed for on record.
                vouchers[src].value -= amount
            if dst:
                vouchers[dst].value += amount
        return LedgerView(vouchers)


def index_vouchers(conn: Connection, deployment: Deployment) -> LedgerView:
    """A fresh in-memory index of ``deployment``'s ledger."""
    index = EventIndex(conn, deployment)
    index.refresh()
    return index.ledger()
