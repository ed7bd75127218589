"""TradeRegistry: anchored trade documents and invoice reservations."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from scf.chain.sending import Signer, TxResult
from scf.contracts.base import ContractClient


class DocType(IntEnum):
    CONTRACT = 0
    ORDER = 1
    INVOICE = 2
    DELIVERY_NOTE = 3
    RECEIPT = 4
    OTHER = 5

    @classmethod
    def parse(cls, name: str) -> DocType:
        key = name.strip().upper().replace("-", "_").replace(" ", "_")
        if key not in cls.__members__:
            known = ", ".join(m.lower() for m in cls.__members__)
            raise ValueError(f"unknown document type {name!r} (known: {known})")
        return cls[key]


class RecordStatus(IntEnum):
    NONE = 0
    REGISTERED = 1
    CONFIRMED = 2
    REJECTED = 3


@dataclass(frozen=True)
class TradeRecord:
    """What the chain keeps of a record: what its checks read. The document hash and the
    times are in its events (``DocumentRegistered``, ``DocumentConfirmed``, ``DocumentRejected``)."""

    record_id: int
    registrant: str
    doc_type: DocType
    status: RecordStatus
    reserved: int
    ledger_id: int  # the ledger holding the invoice's reservations (0: none yet)
    counterparty: str
    amount: int
    parent_id: int

    @property
    def available(self) -> int:
        return self.amount - self.reserved


class TradeRegistry(ContractClient):
    NAME = "TradeRegistry"

    def register(
        self, signer: Signer, doc_type: DocType, doc_hash: bytes, counterparty: str, amount: int, parent_id: int = 0
    ) -> tuple[int, TxResult]:
        result = self.send(signer, "register", int(doc_type), doc_hash, counterparty, amount, parent_id)
        (event,) = result.events(self.contract, "DocumentRegistered")
        return int(event["args"]["recordId"]), result

    def confirm(self, signer: Signer, record_id: int) -> TxResult:
        return self.send(signer, "confirm", record_id)

    def reject(self, signer: Signer, record_id: int) -> TxResult:
        return self.send(signer, "reject", record_id)

    def record(self, record_id: int) -> TradeRecord:
        r = self.call("recordOf", record_id)
        return TradeRecord(record_id, r[0], DocType(r[1]), RecordStatus(r[2]), *r[3:])

    def doc_hash(self, record_id: int, from_block: int = 0) -> bytes | None:
        """What record ``record_id`` anchored (its ``DocumentRegistered`` event, looked for from
        ``from_block``: give the registry's deployment block on a long chain; the record keeps
        no copy), or None for a record that does not exist. ``record_id_of`` answers for a
        live record in one call."""
        event = self.contract.events.DocumentRegistered
        logs = self.conn.read(lambda: event.get_logs(from_block=from_block, argument_filters={"recordId": record_id}))
        return bytes(logs[0]["args"]["docHash"]) if logs else None

    def record_id_of(self, doc_hash: bytes, party_a: str, party_b: str) -> int:
        """The record anchoring ``doc_hash`` between the two parties (either order), or 0."""
        return int(self.call("recordIdOf", doc_hash, party_a, party_b))

    def set_ledger(self, governance: Signer, ledger: str, authorised: bool = True) -> TxResult:
        """Governance (the registry's admin) authorises a voucher ledger to reserve invoices."""
        return self.send(governance, "setLedger", ledger, authorised)
