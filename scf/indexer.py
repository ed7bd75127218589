"""Rebuilds the voucher ledger from events: holders, values and lineage, without any
on-chain enumeration. ``TransferValue(from, to, value)`` into a token that did not exist yet
names its parent; ``Transfer`` gives holders; burns end a voucher."""

from __future__ import annotations

from dataclasses import dataclass, field

from scf.contracts.voucher import SERIAL_BITS, ReceivableVoucher

ZERO = "0x0000000000000000000000000000000000000000"


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
            v for v in sorted(self.vouchers.values(), key=lambda v: v.token_id)
            if v.slot == slot and not (live_only and v.burned)
        ]


def index_vouchers(voucher: ReceivableVoucher, from_block: int = 0, to_block: int | str = "latest") -> LedgerView:
    """Replays the ledger's Transfer and TransferValue events in block order."""
    contract = voucher.contract
    conn = voucher.conn
    transfers = conn.read(lambda: contract.events.Transfer().get_logs(from_block=from_block, to_block=to_block))
    values = conn.read(lambda: contract.events.TransferValue().get_logs(from_block=from_block, to_block=to_block))
    events = sorted(
        [("t", e) for e in transfers] + [("v", e) for e in values],
        key=lambda item: (item[1]["blockNumber"], item[1]["logIndex"]),
    )
    vouchers: dict[int, IndexedVoucher] = {}
    awaiting_first_value: set[int] = set()
    for kind, event in events:
        args = event["args"]
        if kind == "t":
            tid = int(args["tokenId"])
            if args["from"] == ZERO:
                vouchers[tid] = IndexedVoucher(tid, tid >> SERIAL_BITS, 0, args["to"], 0, event["blockNumber"])
                awaiting_first_value.add(tid)
            elif args["to"] == ZERO:
                vouchers[tid].burned = True
            else:
                vouchers[tid].owner = args["to"]
            continue
        src, dst, amount = int(args["_fromTokenId"]), int(args["_toTokenId"]), int(args["_value"])
        if dst in awaiting_first_value:
            awaiting_first_value.discard(dst)
            if src:
                vouchers[dst].parent = src
                vouchers[src].children.append(dst)
        if src and dst:  # split or merge: value moves; a burn (dst 0) keeps the redeemed value on record
            vouchers[src].value -= amount
        if dst:
            vouchers[dst].value += amount
    return LedgerView(vouchers)
