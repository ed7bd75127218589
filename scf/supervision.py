"""The ledger as a supervisor sees it, built from the event index alone: members, slots,
vouchers with their lineage and holder paths, trade documents, discounts, exposures and the
maturity calendar.

This is the one read model behind the read API (``scf.api``) and the risk watch
(``scf.watch``): both read the index, never the chain, so a regulator's view needs nothing but
the events. ``Book.build(index)`` replays every event once (a few milliseconds per thousand);
callers rebuild when the index has advanced (``Book.block``).

Names and other strings are the members' own choice and untrusted: they are kept as they are
here, and each reader renders them safely (text in the page, escapes in a terminal).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from scf.contracts import DocType, MemberStatus, RecordStatus, Role, SlotStatus, label
from scf.contracts.base import ZERO_ADDRESS
from scf.contracts.voucher import SERIAL_BITS
from scf.indexer import TOKEN_ARGS, Event, EventIndex
from scf.money import DAY, fmt

# Event arguments that are amounts in minor units (shown as money in one-line summaries).
MONEY_ARGS = frozenset({
    "_value", "value", "faceValue", "amount", "funded", "unfunded", "price", "reservedTotal", "paidOut",
    "writtenOff", "paid", "secured", "cover", "premium", "refunded", "toSlot", "toInsurer", "insurerOwed",
    "toPledgee", "toPledgor", "owed", "interest", "receivedMeanwhile", "remaining",
})
WEEK = 7 * DAY


def slot_status_name(status: SlotStatus, overdue: bool) -> str:
    """What a supervisor calls a slot's state: ``issued`` (awaiting acceptance), ``active``,
    ``overdue`` (marked so after its grace period), ``settled`` or ``cancelled``."""
    if status == SlotStatus.ACCEPTED:
        return "overdue" if overdue else "active"
    return status.name.lower()


SLOT_STATES = ("issued", "active", "overdue", "settled", "cancelled")
LIVE_SLOT_STATES = frozenset({"issued", "active", "overdue"})


@dataclass
class MemberView:
    address: str
    name: str = ""
    roles: Role = Role(0)
    status: MemberStatus = MemberStatus.NONE
    credit_limit: int = 0
    kyc_hash: str = ""
    since: int = 0  # timestamp of the last status change


@dataclass
class SlotView:
    slot: int
    debtor: str
    creditor: str
    face_value: int
    maturity: int
    issued_at: int
    trade_record_id: int
    status: SlotStatus = SlotStatus.ISSUED
    overdue_at: int = 0
    funded: int = 0
    paid_out: int = 0
    written_off: int = 0
    credit_released: bool = False

    @property
    def state(self) -> str:
        return slot_status_name(self.status, bool(self.overdue_at))

    @property
    def live(self) -> bool:
        return self.state in LIVE_SLOT_STATES

    @property
    def unfunded(self) -> int:
        """What the debtor still owes into the slot (what a write-off gave up is not owed)."""
        return max(self.face_value - self.funded - self.written_off, 0)


@dataclass(frozen=True)
class Hop:
    """A voucher's value arriving at ``holder`` (a mint, a whole transfer or a split)."""

    holder: str
    block: int
    log_index: int
    timestamp: int
    token: int
    tx_hash: str = ""


@dataclass(frozen=True)
class Merge:
    """Value of ``src`` merged into ``dst``, an existing voucher of the same slot (ERC-3525
    ``transferFrom(fromTokenId, toTokenId, value)``): it reaches ``dst``'s holder without a hop."""

    src: int
    dst: int
    value: int
    block: int
    log_index: int
    timestamp: int
    tx_hash: str


@dataclass
class VoucherView:
    token_id: int
    slot: int
    parent: int
    holder: str
    value: int = 0
    created: tuple[int, int] = (0, 0)  # (block, log index) of its mint
    state: str = "live"  # live | redeemed | written off
    frozen: bool = False
    paid_out: int = 0  # pro-rata payouts so far (its value is what it still claims)
    children: list[int] = field(default_factory=list)
    hops: list[Hop] = field(default_factory=list)  # its own holders, from its mint
    moves: list[int] = field(default_factory=list)  # timestamps of transfers and splits out of it

    @property
    def label(self) -> str:
        return label(self.token_id)

    @property
    def live(self) -> bool:
        return self.state == "live"


@dataclass
class RecordView:
    record_id: int
    doc_type: DocType
    registrant: str
    counterparty: str
    amount: int
    doc_hash: str
    parent_id: int
    status: RecordStatus = RecordStatus.REGISTERED
    reserved: int = 0


@dataclass(frozen=True)
class Discount:
    timestamp: int
    block: int
    financier: str
    holder: str
    token: int  # the financier's new voucher
    slot: int
    debtor: str
    value: int
    price: int
    rate_bps: int
    tenor_days: int  # whole days from the sale to the slot's maturity


@dataclass
class Book:
    """The read model at one block (``block``, ``now`` its timestamp)."""

    block: int
    now: int
    members: dict[str, MemberView]
    slots: dict[int, SlotView]
    vouchers: dict[int, VoucherView]
    records: dict[int, RecordView]
    discounts: list[Discount]
    event_count: int
    merges: list[Merge] = field(default_factory=list)
    # Transactions that moved a voucher by order, not by trade: court orders
    # (VoucherForceTransferred) and recourse put-backs (RecourseExercised).
    ordered_txs: set[str] = field(default_factory=set)

    # ------------------------------------------------------------------ build

    @classmethod
    def build(cls, index: EventIndex) -> Book:
        """Replays every indexed event (the index is not refreshed here)."""
        return _Replay(index).book()

    # ----------------------------------------------------------------- lookup

    def name(self, address: str) -> str:
        m = self.members.get(address)
        return m.name if m else ""

    def path(self, token: int) -> list[Hop]:
        """Every holder the value of ``token`` passed through, from its slot's root voucher:
        the parent's holders up to the split that made it, then its own."""
        voucher = self.vouchers[token]
        own = list(voucher.hops)
        if not voucher.parent:
            return own
        before = [h for h in self.path(voucher.parent) if (h.block, h.log_index) < voucher.created]
        return before + own

    def lineage(self, token: int) -> list[int]:
        """``token`` and its ancestors up to the slot's root."""
        chain = [token]
        while self.vouchers[chain[-1]].parent:
            chain.append(self.vouchers[chain[-1]].parent)
        return chain

    def tree(self, slot: int) -> Iterator[tuple[VoucherView, int]]:
        """The slot's vouchers depth first from its root, each with its depth."""

        def walk(token: int, depth: int) -> Iterator[tuple[VoucherView, int]]:
            yield self.vouchers[token], depth
            for child in self.vouchers[token].children:
                yield from walk(child, depth + 1)

        root = slot << SERIAL_BITS | 1
        if root in self.vouchers:
            yield from walk(root, 0)

    def live_vouchers(self) -> Iterator[VoucherView]:
        return (v for v in self.vouchers.values() if v.live)

    def held_by(self, account: str) -> list[VoucherView]:
        return sorted((v for v in self.live_vouchers() if v.holder == account), key=lambda v: v.token_id)

    def holder_at(self, token: int, block: int, log_index: int) -> str:
        """Who held ``token`` just before the event at ``(block, log_index)``."""
        before = [h for h in self.vouchers[token].hops if (h.block, h.log_index) < (block, log_index)]
        return before[-1].holder if before else ""

    def by_order(self, hop: Hop) -> bool:
        """Whether ``hop`` was made by a court order or a recourse put-back, not by a trade."""
        return bool(hop.tx_hash) and hop.tx_hash in self.ordered_txs

    def documents(self, record_id: int) -> list[RecordView]:
        """The record, then its parents up to the trail's root (missing links end the trail)."""
        trail: list[RecordView] = []
        seen: set[int] = set()
        while record_id and record_id in self.records and record_id not in seen:
            seen.add(record_id)
            trail.append(self.records[record_id])
            record_id = self.records[record_id].parent_id
        return trail

    # -------------------------------------------------------------- analysis

    def outstanding(self, debtor: str) -> int:
        """What ``debtor`` owes into its live slots."""
        return sum(s.unfunded for s in self.slots.values() if s.debtor == debtor and s.live)

    def holdings(self, account: str) -> int:
        return sum(v.value for v in self.held_by(account))

    def exposure_by_debtor(self, holder: str) -> dict[str, int]:
        """The value of ``holder``'s live vouchers, by the debtor who owes it."""
        out: dict[str, int] = defaultdict(int)
        for v in self.held_by(holder):
            out[self.slots[v.slot].debtor] += v.value
        return dict(out)

    def debtors(self) -> list[str]:
        """Every account that issued a voucher, and every member with the core-enterprise role."""
        seen = {s.debtor for s in self.slots.values()}
        seen |= {a for a, m in self.members.items() if m.roles & Role.CORE_ENTERPRISE}
        return sorted(seen)

    def financiers(self) -> list[str]:
        return sorted(a for a, m in self.members.items() if m.roles & Role.FINANCIER)

    def calendar(self) -> list[tuple[int, int, int, int]]:
        """Live slots by the week of their maturity (Monday 00:00 UTC): ``(week start, face
        value, funded, number of slots)``, in order."""
        weeks: dict[int, list[int]] = {}
        for s in self.slots.values():
            if not s.live:
                continue
            start = week_start(s.maturity)
            row = weeks.setdefault(start, [0, 0, 0])
            row[0] += s.face_value
            row[1] += s.funded
            row[2] += 1
        return [(start, face, funded, n) for start, (face, funded, n) in sorted(weeks.items())]

    def slots_held_by(self, holder: str) -> set[int]:
        return {v.slot for v in self.held_by(holder)}


def week_start(ts: int) -> int:
    """The Monday 00:00 UTC at or before ``ts``."""
    day = datetime.fromtimestamp(ts, tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return int((day - timedelta(days=day.weekday())).timestamp())


def week_label(ts: int) -> str:
    year, week, _ = datetime.fromtimestamp(ts, tz=UTC).isocalendar()
    return f"{year}-W{week:02d}"


class _Replay:
    """One pass over the index's events, in chain order."""

    def __init__(self, index: EventIndex) -> None:
        self.index = index
        self.members: dict[str, MemberView] = {}
        self.slots: dict[int, SlotView] = {}
        self.vouchers: dict[int, VoucherView] = {}
        self.records: dict[int, RecordView] = {}
        self.discounts: list[Discount] = []
        self.merges: list[Merge] = []
        self.ordered_txs: set[str] = set()
        self.minted_in: dict[int, str] = {}  # token -> tx of its mint, until its first value arrives
        self.handlers: dict[tuple[str, str], Callable[[Event], None]] = {
            ("ConsortiumRegistry", "MembershipApplied"): self._applied,
            ("ConsortiumRegistry", "MemberAdmitted"): self._admitted,
            ("ConsortiumRegistry", "MemberStatusChanged"): self._status,
            ("ConsortiumRegistry", "MemberRolesChanged"): self._roles,
            ("ConsortiumRegistry", "CreditLimitSet"): self._credit,
            ("TradeRegistry", "DocumentRegistered"): self._document,
            ("TradeRegistry", "DocumentConfirmed"): self._record_status(RecordStatus.CONFIRMED),
            ("TradeRegistry", "DocumentRejected"): self._record_status(RecordStatus.REJECTED),
            ("TradeRegistry", "AmountReserved"): self._reserved,
            ("TradeRegistry", "AmountReleased"): self._reserved,
            ("ReceivableVoucher", "VoucherIssued"): self._issued,
            ("ReceivableVoucher", "VoucherAccepted"): self._slot_status(SlotStatus.ACCEPTED),
            ("ReceivableVoucher", "VoucherCancelled"): self._slot_status(SlotStatus.CANCELLED),
            ("ReceivableVoucher", "SlotSettled"): self._slot_status(SlotStatus.SETTLED),
            ("ReceivableVoucher", "SlotFunded"): self._funded,
            ("ReceivableVoucher", "SlotOverdue"): self._overdue,
            ("ReceivableVoucher", "CreditReleased"): self._released,
            ("ReceivableVoucher", "Transfer"): self._transfer,
            ("ReceivableVoucher", "TransferValue"): self._transfer_value,
            ("ReceivableVoucher", "VoucherRedeemed"): self._redeemed,
            ("ReceivableVoucher", "VoucherPartlyPaid"): self._partly_paid,
            ("ReceivableVoucher", "VoucherWrittenOff"): self._written_off,
            ("ReceivableVoucher", "FreezeApplied"): self._freeze(True),
            ("ReceivableVoucher", "FreezeLifted"): self._freeze(False),
            ("DiscountDesk", "OfferExecuted"): self._discounted,
            ("ReceivableVoucher", "VoucherForceTransferred"): self._ordered,
            ("DiscountDesk", "RecourseExercised"): self._ordered,
        }

    def book(self) -> Book:
        index = self.index
        for e in index.events_of(list(self.handlers)):
            self.handlers[(e.contract, e.event)](e)
        return Book(
            block=index.last_block, now=index.last_block_time, members=self.members, slots=self.slots,
            vouchers=self.vouchers, records=self.records, discounts=self.discounts, event_count=index.count(),
            merges=self.merges, ordered_txs=self.ordered_txs,
        )

    # ---------------------------------------------------------------- members

    def _member(self, address: str) -> MemberView:
        return self.members.setdefault(address, MemberView(address))

    def _applied(self, e: Event) -> None:
        m = self._member(e.args["applicant"])
        m.name, m.roles, m.kyc_hash = e.args["name"], Role(int(e.args["roles"])), e.args["kycHash"]
        m.status, m.since = MemberStatus.PENDING, e.timestamp

    def _admitted(self, e: Event) -> None:
        m = self._member(e.args["account"])
        m.name, m.roles, m.kyc_hash = e.args["name"], Role(int(e.args["roles"])), e.args["kycHash"]
        m.status, m.since = MemberStatus.ACTIVE, e.timestamp

    def _status(self, e: Event) -> None:
        m = self._member(e.args["account"])
        m.status, m.since = MemberStatus(int(e.args["to"])), e.timestamp

    def _roles(self, e: Event) -> None:
        self._member(e.args["account"]).roles = Role(int(e.args["to"]))

    def _credit(self, e: Event) -> None:
        self._member(e.args["account"]).credit_limit = int(e.args["to"])

    # -------------------------------------------------------------- documents

    def _document(self, e: Event) -> None:
        a = e.args
        rid = int(a["recordId"])
        self.records[rid] = RecordView(
            rid, DocType(int(a["docType"])), a["registrant"], a["counterparty"], int(a["amount"]), a["docHash"],
            int(a["parentId"]),
        )

    def _record_status(self, status: RecordStatus) -> Callable[[Event], None]:
        def apply(e: Event) -> None:
            if (r := self.records.get(int(e.args["recordId"]))) is not None:
                r.status = status

        return apply

    def _reserved(self, e: Event) -> None:
        if (r := self.records.get(int(e.args["recordId"]))) is not None:
            r.reserved = int(e.args["reservedTotal"])

    # ------------------------------------------------------------------ slots

    def _issued(self, e: Event) -> None:
        a = e.args
        slot = int(a["slot"])
        self.slots[slot] = SlotView(
            slot, a["debtor"], a["creditor"], int(a["faceValue"]), int(a["maturity"]), e.timestamp,
            int(a["tradeRecordId"]),
        )

    def _slot_status(self, status: SlotStatus) -> Callable[[Event], None]:
        def apply(e: Event) -> None:
            self.slots[int(e.args["slot"])].status = status

        return apply

    def _funded(self, e: Event) -> None:
        self.slots[int(e.args["slot"])].funded = int(e.args["funded"])

    def _overdue(self, e: Event) -> None:
        self.slots[int(e.args["slot"])].overdue_at = e.timestamp

    def _released(self, e: Event) -> None:
        self.slots[int(e.args["slot"])].credit_released = True

    # --------------------------------------------------------------- vouchers

    def _transfer(self, e: Event) -> None:
        a = e.args
        tid = int(a["tokenId"])
        if a["from"] == ZERO_ADDRESS:
            self.vouchers[tid] = VoucherView(tid, tid >> SERIAL_BITS, 0, a["to"], created=(e.block, e.log_index))
            self.vouchers[tid].hops.append(Hop(a["to"], e.block, e.log_index, e.timestamp, tid, e.tx_hash))
            self.minted_in[tid] = e.tx_hash
            return
        v = self.vouchers[tid]
        if a["to"] == ZERO_ADDRESS:
            if v.state == "live":
                v.state = "redeemed"  # a write-off says so in its own event, after the burn
            return
        v.holder = a["to"]
        v.hops.append(Hop(a["to"], e.block, e.log_index, e.timestamp, tid, e.tx_hash))
        v.moves.append(e.timestamp)

    def _transfer_value(self, e: Event) -> None:
        a = e.args
        src, dst, amount = int(a["_fromTokenId"]), int(a["_toTokenId"]), int(a["_value"])
        if dst and self.minted_in.pop(dst, None) == e.tx_hash and src:
            self.vouchers[dst].parent = src
            self.vouchers[src].children.append(dst)
            self.vouchers[src].moves.append(e.timestamp)
        elif src and dst:
            self.merges.append(Merge(src, dst, amount, e.block, e.log_index, e.timestamp, e.tx_hash))
        if src and (dst or self.vouchers[src].state == "live"):
            # A split, a merge, or a pro-rata payout (value out of a voucher that lives on); a
            # burn (Transfer to nobody first) keeps the value it was redeemed for on record.
            self.vouchers[src].value -= amount
        if dst:
            self.vouchers[dst].value += amount

    def _redeemed(self, e: Event) -> None:
        self.slots[int(e.args["slot"])].paid_out += int(e.args["value"])

    def _partly_paid(self, e: Event) -> None:
        self.slots[int(e.args["slot"])].paid_out += int(e.args["amount"])
        self.vouchers[int(e.args["tokenId"])].paid_out = int(e.args["paidOut"])

    def _written_off(self, e: Event) -> None:
        slot = self.slots[int(e.args["slot"])]
        slot.written_off += int(e.args["writtenOff"])
        slot.paid_out += int(e.args["paid"])
        self.vouchers[int(e.args["tokenId"])].state = "written off"

    def _freeze(self, frozen: bool) -> Callable[[Event], None]:
        def apply(e: Event) -> None:
            self.vouchers[int(e.args["tokenId"])].frozen = frozen

        return apply

    def _ordered(self, e: Event) -> None:
        self.ordered_txs.add(e.tx_hash)

    def _discounted(self, e: Event) -> None:
        a = e.args
        token = int(a["financierTokenId"])
        slot = self.slots[token >> SERIAL_BITS]
        self.discounts.append(Discount(
            e.timestamp, e.block, a["financier"], a["holder"], token, slot.slot, slot.debtor, int(a["value"]),
            int(a["price"]), int(a["rateBps"]), max(slot.maturity - e.timestamp, 0) // DAY,
        ))


# ------------------------------------------------------------------- one-line event text


def describe_arg(key: str, value: Any, name_of: Callable[[str], str]) -> str:
    """One event argument in people's terms: money, voucher labels, document types, names."""
    if value == ZERO_ADDRESS:
        return "nobody"
    if key == "docType":
        return DocType(int(value)).name.lower()
    if key in ("from", "to") and isinstance(value, int):  # enum status changes
        return str(value)
    if key in TOKEN_ARGS:
        return label(int(value)) if int(value) else "none"
    if key in MONEY_ARGS:
        return fmt(int(value))
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return name_of(value)
    return str(value)


def describe_event(e: Event, name_of: Callable[[str], str]) -> str:
    """``ReceivableVoucher.SlotFunded(slot=3, payer=…, amount=CNY 10.00, …)``."""
    args = ", ".join(f"{k}={describe_arg(k, v, name_of)}" for k, v in e.args.items())
    return f"{e.contract}.{e.event}({args})"


def member_label(book: Book) -> Callable[[str], str]:
    """``address -> "Name (0x1234ab…)"`` from the book's members (the address alone if unknown)."""

    def name_of(address: str) -> str:
        name = book.name(address)
        return f"{name} ({address[:8]}…)" if name else address

    return name_of

