"""Readable views of the ledger for people entitled to see them: lineage trees, holders,
audit trails and trade-document trails, decoded from the event index.

Names and other strings come from the chain, where an applicant chose them: every view shows
their control characters as escapes (``scf.text.printable``), so none can rewrite the terminal."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from eth_utils import is_hex_address, to_checksum_address

from scf.contracts import SlotStatus, label
from scf.contracts.credit import CoverState
from scf.contracts.trade import TradeRegistry
from scf.contracts.voucher import SERIAL_BITS
from scf.errors import ScfError
from scf.indexer import Event, EventIndex, LedgerView
from scf.losses import default_position
from scf.money import fmt, fmt_day
from scf.suite import Suite
from scf.supervision import describe_event
from scf.text import printable, printable_lines, tree_lines


class InspectError(ScfError, LookupError):
    """Nothing on the ledger matches what was asked for."""


def parse_number(text: str, what: str = "") -> int:
    """A slot or record number as people type it: digits only, below 2**256."""
    if not (text.isascii() and text.isdigit()) or int(text) >= 2**256:
        raise InspectError(f"{text!r} is not a {what + ' ' if what else ''}number (digits 0-9, below 2**256)")
    return int(text)


def parse_address(text: str) -> str:
    """A member's address in any case, checksummed."""
    if not is_hex_address(text):
        raise InspectError(f"{text!r} is not an address (0x followed by 40 hex digits)")
    return to_checksum_address(text)


def parse_voucher(text: str) -> int:
    """``"3.2"`` (slot.serial) or a raw token id."""
    try:
        if "." in text:
            slot, serial = text.split(".", 1)
            return (int(slot) << SERIAL_BITS) | int(serial)
        return int(text, 0)
    except ValueError:
        raise InspectError(f"{text!r} is not a voucher: give slot.serial (e.g. 1.2) or a token id") from None


class Inspector:
    def __init__(self, suite: Suite, index: EventIndex) -> None:
        self.suite = suite
        self.index = index
        self.name_of = cache(self._name_of)

    def _name_of(self, address: str) -> str:
        if address == self.suite.voucher.address:
            return "voucher ledger"
        if address == self.suite.desk.address:
            return "discount desk"
        if address == self.suite.keeper.address:
            return "payout keeper"
        if address == self.suite.credit.address:
            return "credit desk (custody)"
        name = self.profile_name(address)
        return f"{printable(name)} ({address[:8]}…)" if name else address

    def profile_name(self, address: str) -> str:
        """The name the member applied or was admitted with (in the registry's events only)."""
        profile = self.index.profile(address)
        return profile[0] if profile else ""

    # ---------------------------------------------------------------- formats

    def event_line(self, e: Event) -> str:
        when = datetime.fromtimestamp(e.timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M")
        return printable(f"  #{e.block:<6} {when}  {describe_event(e, self.name_of)}  by {self.name_of(e.actor)}")

    def tree(self, ledger: LedgerView, slot: int, mark: int | None = None) -> list[str]:
        rows = [
            (depth, label(v.token_id),
             f"{self.name_of(v.owner):<44} {fmt(v.value):>20}  {'redeemed' if v.burned else 'live'}"
             + ("  <==" if v.token_id == mark else ""))
            for v, depth in ledger.descendants([slot])
        ]
        return tree_lines(rows) or ["  (no voucher accepted yet)"]

    # ------------------------------------------------------------------ views

    def voucher(self, token: int) -> str:
        ledger = self.index.ledger()
        if token not in ledger.vouchers:
            raise InspectError(f"voucher {label(token)} does not exist on this ledger")
        v = ledger.vouchers[token]
        path = " <- ".join(label(t) for t in ledger.lineage(token))
        out = [
            f"Voucher {label(token)} (token id {token}) of slot {v.slot}",
            f"  holder   {self.name_of(v.owner)}",
            f"  value    {fmt(v.value)}{' (redeemed)' if v.burned else ''}",
            f"  lineage  {path}",
        ]
        if not v.burned and self.suite.voucher.voucher(token).frozen:
            out.append("  FROZEN   reason hash 0x" + self.suite.voucher.call("freezeReasonOf", token).hex())
        if not v.burned and (paid := self.suite.voucher.paid_out_of(token)):
            out.append(f"  paid out {fmt(paid)} pro rata so far (value is what it still claims)")
        pledge = self.suite.credit.pledge_of(token)
        if pledge.exists:
            out.append(
                f"  PLEDGED  by {self.name_of(pledge.pledgor)} to {self.name_of(pledge.pledgee)}, securing "
                f"{fmt(pledge.secured)} (paid to it {fmt(pledge.pledgee_paid)}), due {fmt_day(pledge.due_date)}"
            )
        debt = self.suite.desk.recourse_debt_of(token)
        if debt.exists:
            out.append(
                f"  RECOURSE {self.name_of(debt.seller)} owes {self.name_of(debt.financier)} {fmt(debt.remaining)}"
            )
        out += ["", f"Lineage tree of slot {v.slot}:", *self.tree(ledger, v.slot, token)]
        out += ["", "Audit trail:", *[self.event_line(e) for e in self.index.trail("token", token)]]
        return printable_lines(out)

    def slot(self, slot: int) -> str:
        info = self.suite.voucher.slot(slot)
        if info.status == SlotStatus.NONE:
            raise InspectError(f"slot {slot} does not exist on this ledger")
        out = [
            f"Slot {slot}: {info.status.name.lower()}",
            f"  debtor      {self.name_of(info.debtor)}",
            f"  creditor    {self.name_of(info.creditor)}",
            f"  face value  {fmt(info.face_value)}   funded {fmt(info.funded)}   paid out {fmt(info.redeemed)}"
            + (f"   written off {fmt(info.written_off)}" if info.written_off else ""),
            f"  issued      {fmt_day(info.issued_at)}   maturity {fmt_day(info.maturity)}"
            + (f"   OVERDUE since {fmt_day(info.overdue_at)}" if info.overdue_at else ""),
            f"  trade record {info.trade_record_id}",
            *self._policy_lines(slot),
            *self._loss_lines(slot, bool(info.overdue_at)),
            "",
            "Lineage tree:",
            *self.tree(self.index.ledger(), slot),
            "",
            "Audit trail:",
            *[self.event_line(e) for e in self.index.trail("slot", slot)],
        ]
        return printable_lines(out)

    def _policy_lines(self, slot: int) -> list[str]:
        p = self.suite.credit.policy_of(slot)
        if p.state == CoverState.NONE:
            return []
        line = (f"  insurance   {self.name_of(p.insurer)} covers {fmt(p.cover)} for {fmt(p.premium)}, "
                f"{p.state.name.lower()}, recovery {p.order.name.lower().replace('_', ' ')}")
        if p.state == CoverState.CLAIMED:
            line += f"; claim paid {fmt(p.claim_paid)}, recovered {fmt(p.recovered)}, owed {fmt(p.insurer_owed)}"
        return [line]

    def _loss_lines(self, slot: int, overdue: bool) -> list[str]:
        if not overdue:
            return []
        position = default_position(self.suite, self.index, slot)
        out = ["", "Who loses what (unpaid vouchers, written off, insurer's claim, paid for the debtor):"]
        for x in position.losses:
            out.append(
                f"  {self.name_of(x.member):<44} {fmt(x.unpaid):>18} {fmt(x.written_off):>16} "
                f"{fmt(x.insurer_claim):>18} {fmt(x.paid_for_debtor):>18}  total {fmt(x.total)}"
            )
        out.append(
            f"  lost {fmt(position.total_lost)}; the debtor paid {fmt(position.paid_by_debtor)}; "
            f"{fmt(position.held)} funded is still due to holders"
        )
        return out

    def member(self, address: str) -> str:
        m = self.suite.registry.member(address)
        ledger = self.index.ledger()
        held = sorted(ledger.held_by(address), key=lambda v: v.token_id)
        outstanding = self.suite.voucher.outstanding_of(address)
        out = [
            f"Member {printable(self.profile_name(address)) or '(unknown)'} {address}",
            f"  status {m.status.name.lower()}   roles {', '.join(m.roles.names()) or 'none'}",
            f"  credit limit {fmt(m.credit_limit)}   outstanding issuance {fmt(outstanding)}",
            f"  cash {fmt(self.suite.token.balance_of(address))}",
            "",
            f"Vouchers held ({len(held)}):",
            *[f"  {label(v.token_id):<7} {fmt(v.value):>20}  slot {v.slot}" for v in held],
            "",
            "Audit trail:",
            *[self.event_line(e) for e in self.index.trail("account", address)],
        ]
        return printable_lines(out)

    def record(self, record_id: int) -> str:
        r = self.suite.trade.record(record_id)
        if r.status.value == 0:
            raise InspectError(f"trade record {record_id} does not exist")
        trail = []
        current = r
        while True:
            trail.append(
                f"  #{current.record_id:<4} {current.doc_type.name.lower():<14} {fmt(current.amount):>20}  "
                f"{current.status.name.lower():<10} "
                f"{self.name_of(current.registrant)} -> {self.name_of(current.counterparty)}"
            )
            if not current.parent_id:
                break
            current = self.suite.trade.record(current.parent_id)
        events = self.index.trail("record", record_id)
        # The chain keeps the document hash in the registration event only.
        registered = (TradeRegistry.NAME, "DocumentRegistered")
        anchored = [e.args["docHash"] for e in events if (e.contract, e.event) == registered]
        out = [
            f"Trade record {record_id}: {r.doc_type.name.lower()} {fmt(r.amount)}, "
            f"reserved by vouchers {fmt(r.reserved)}",
            f"  document hash {anchored[0] if anchored else '(registration not indexed yet)'}",
            "",
            "Document trail (this record, then its parents):",
            *trail,
            "",
            "Audit trail:",
            *[self.event_line(e) for e in events],
        ]
        return printable_lines(out)

