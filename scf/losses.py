"""Who loses what when a debtor fails: a slot's position, read from the chain and its events.

For one slot, each member's share of what the debtor has not paid:

- ``unpaid``: the value of the slot's live vouchers it holds (a voucher in the credit desk's
  custody counts for its pledgor: the pledgee is owed by the pledgor, not by the debtor);
- ``written_off``: value it gave up (``writeOff``);
- ``insurer_claim``: what an insurer paid on a claim and has not recovered (subrogation);
- ``paid_for_debtor``: what it paid toward the slot on the debtor's behalf (a guarantor).

These add up, with the cash funded and not yet paid out, to the face value less what the
debtor itself paid (``DefaultPosition.balances``): nothing is lost from the account.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from scf.indexer import EventIndex
from scf.suite import Suite


@dataclass
class Loss:
    member: str
    unpaid: int = 0
    written_off: int = 0
    insurer_claim: int = 0
    paid_for_debtor: int = 0

    @property
    def total(self) -> int:
        return self.unpaid + self.written_off + self.insurer_claim + self.paid_for_debtor


@dataclass
class DefaultPosition:
    slot: int
    debtor: str
    face_value: int
    paid_by_debtor: int  # into the slot, and to the insurer through the credit desk
    held: int  # funded and not yet paid out: due to holders (or a rounding remainder)
    losses: list[Loss] = field(default_factory=list)

    @property
    def total_lost(self) -> int:
        return sum(loss.total for loss in self.losses)

    @property
    def balances(self) -> bool:
        """Every unit of the face value is accounted for."""
        return self.total_lost + self.held + self.paid_by_debtor == self.face_value


def default_position(suite: Suite, index: EventIndex, slot: int) -> DefaultPosition:
    """The slot's position now, from the chain (live values, policy) and the event index
    (who paid, who wrote off); ``index`` is refreshed first."""
    index.refresh()
    info = suite.voucher.slot(slot)
    desk = suite.credit.address
    by_member: dict[str, Loss] = defaultdict(lambda: Loss(""))

    def loss(member: str) -> Loss:
        entry = by_member[member]
        entry.member = member
        return entry

    paid_by_debtor = 0
    for e in index.trail("slot", slot):
        a = e.args
        if e.contract == "ReceivableVoucher" and e.event == "SlotFunded" and a["payer"] != desk:
            if a["payer"] == info.debtor:
                paid_by_debtor += int(a["amount"])
            else:
                loss(a["payer"]).paid_for_debtor += int(a["amount"])
        elif e.contract == "CreditDesk" and e.event == "PaidThroughDesk":
            amount = int(a["toSlot"]) + int(a["toInsurer"])
            if a["payer"] == info.debtor:
                paid_by_debtor += amount
            else:
                loss(a["payer"]).paid_for_debtor += amount
        elif e.contract == "ReceivableVoucher" and e.event == "VoucherWrittenOff":
            loss(a["holder"]).written_off += int(a["writtenOff"])

    for voucher in index.ledger().of_slot(slot, live_only=True):
        owner = voucher.owner
        if owner == desk:
            pledge = suite.credit.pledge_of(voucher.token_id)
            owner = pledge.pledgor if pledge.exists else owner
        if voucher.value:
            loss(owner).unpaid += voucher.value

    policy = suite.credit.policy_of(slot)
    if policy.insurer_owed:
        loss(policy.insurer).insurer_claim += policy.insurer_owed

    losses = sorted((x for x in by_member.values() if x.total), key=lambda x: (-x.total, x.member))
    return DefaultPosition(slot, info.debtor, info.face_value, paid_by_debtor, info.held, losses)

