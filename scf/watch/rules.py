"""The watch's rules: each a small frozen dataclass holding its settings from the policy file
and its check (``findings``) on the supervision read model, in the policy file's order
(``RULES``). A rule finds; the watch (``scf.watch.alerts``) decides what is new and keeps it."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from scf.contracts import MemberStatus, label
from scf.money import DAY, fmt, fmt_day
from scf.supervision import Book, Hop, member_label

SUBJECT_KINDS = ("slot", "voucher", "member", "debtor")
HOUR = 3_600


@dataclass(frozen=True)
class Finding:
    """What a rule found about one subject. ``scope`` tells apart findings about the same
    subject that are separate risks (a financier's concentration in each debtor, each
    suspension of a member, each return of value to a holder)."""

    kind: str  # slot | voucher | member | debtor
    key: str  # slot number, voucher label ``slot.serial``, or address
    message: str
    scope: str = ""


# Kinds of settings, as the policy file writes them (``field(metadata={"kind": ...})``).
WHOLE = "a whole number of at least 0"
POSITIVE = "a whole number of at least 1"
PERCENT = "a percentage from 0 to 100"
MONEY = "an amount in currency units, quoted"


def _setting(kind: str) -> Any:
    return field(metadata={"kind": kind})


@dataclass(frozen=True)
class Rule:
    """What every rule has: ``enabled`` (true unless the file says otherwise) and the
    ``severity`` of its alerts. Subclasses add their thresholds and ``findings``."""

    NAME: ClassVar[str] = ""
    severity: str
    enabled: bool = field(default=True, kw_only=True)

    def findings(self, book: Book, system: frozenset[str]) -> Iterator[Finding]:
        raise NotImplementedError


def _slot_text(book: Book, slot: int) -> str:
    s = book.slots[slot]
    return f"slot {slot} ({member_label(book)(s.debtor)} owes {fmt(s.face_value)}, due {fmt_day(s.maturity)})"


def _days(seconds: int) -> str:
    return f"{seconds / DAY:.1f} days"


@dataclass(frozen=True)
class UnfundedNearMaturity(Rule):
    NAME: ClassVar[str] = "unfunded_near_maturity"
    days: int = _setting(WHOLE)

    def findings(self, book: Book, system: frozenset[str]) -> Iterator[Finding]:
        for s in book.slots.values():
            left = s.maturity - book.now
            if s.state == "active" and s.unfunded > 0 and 0 < left <= self.days * DAY:
                yield Finding("slot", str(s.slot), f"{_slot_text(book, s.slot)}: {fmt(s.unfunded)} unfunded "
                              f"{_days(left)} before maturity")


@dataclass(frozen=True)
class Overdue(Rule):
    NAME: ClassVar[str] = "overdue"

    def findings(self, book: Book, system: frozenset[str]) -> Iterator[Finding]:
        for s in book.slots.values():
            if s.state == "overdue":
                yield Finding("slot", str(s.slot), f"{_slot_text(book, s.slot)}: marked overdue on "
                              f"{fmt_day(s.overdue_at)}, {fmt(s.unfunded)} unfunded")


@dataclass(frozen=True)
class ShortAtMaturity(Rule):
    NAME: ClassVar[str] = "short_at_maturity"

    def findings(self, book: Book, system: frozenset[str]) -> Iterator[Finding]:
        for s in book.slots.values():
            if s.state in ("active", "overdue") and book.now >= s.maturity and s.unfunded > 0:
                yield Finding("slot", str(s.slot), f"{_slot_text(book, s.slot)}: matured with {fmt(s.funded)} "
                              f"funded, {fmt(s.unfunded)} short of face value")


@dataclass(frozen=True)
class DebtorConcentration(Rule):
    NAME: ClassVar[str] = "debtor_concentration"
    percent_of_credit_line: Decimal = _setting(PERCENT)

    def findings(self, book: Book, system: frozenset[str]) -> Iterator[Finding]:
        name = member_label(book)
        for debtor in book.debtors():
            owed = book.outstanding(debtor)
            member = book.members.get(debtor)
            line = member.credit_limit if member else 0
            if owed == 0 or owed * 100 <= line * self.percent_of_credit_line:
                continue
            share = f"{Decimal(owed * 100) / line:.1f} % of its credit line of {fmt(line)}" if line else (
                "and has no credit line")
            yield Finding("debtor", debtor, f"{name(debtor)} owes {fmt(owed)} on its live slots, {share} "
                          f"(policy: {self.percent_of_credit_line} %)")


@dataclass(frozen=True)
class FinancierConcentration(Rule):
    NAME: ClassVar[str] = "financier_concentration"
    percent_of_book: Decimal = _setting(PERCENT)
    min_book: int = _setting(MONEY)  # minor units
    min_vouchers: int = _setting(WHOLE)

    def findings(self, book: Book, system: frozenset[str]) -> Iterator[Finding]:
        name = member_label(book)
        for financier in book.financiers():
            held = book.held_by(financier)
            total = sum(v.value for v in held)
            if financier in system or total == 0 or total < self.min_book or len(held) < self.min_vouchers:
                continue
            for debtor, amount in sorted(book.exposure_by_debtor(financier).items()):
                if amount * 100 > total * self.percent_of_book:
                    yield Finding("member", financier, (
                        f"{name(financier)} holds {fmt(amount)} owed by {name(debtor)}: "
                        f"{Decimal(amount * 100) / total:.1f} % of its book of {fmt(total)} in {len(held)} vouchers "
                        f"(policy: {self.percent_of_book} %)"
                    ), scope=debtor)


@dataclass(frozen=True)
class CircularTransfer(Rule):
    NAME: ClassVar[str] = "circular_transfer"
    max_hops: int = _setting(POSITIVE)

    def findings(self, book: Book, system: frozenset[str]) -> Iterator[Finding]:
        name = member_label(book)
        found: dict[tuple[int, int, int], Finding] = {}
        for route in _routes(book):
            holders = _trades(book, route, system)
            last_seen: dict[str, int] = {}
            for j, hop in enumerate(holders):
                i = last_seen.get(hop.holder)
                if i is not None and j - i <= self.max_hops and (hop.token, hop.block, hop.log_index) not in found:
                    trail = " -> ".join(name(h.holder) for h in holders[i : j + 1])
                    found[(hop.token, hop.block, hop.log_index)] = Finding("voucher", label(hop.token), (
                        f"value of slot {hop.token >> 32} came back to {name(hop.holder)} after {j - i} hops, "
                        f"in voucher {label(hop.token)} on {fmt_day(hop.timestamp)}: {trail}"
                    ), scope=f"{hop.block}:{hop.log_index}")
                last_seen[hop.holder] = j
        yield from found.values()


def _routes(book: Book) -> Iterator[list[Hop]]:
    """Every way value travelled: each voucher's holder path from its slot's root, and, for
    each merge, the path of the voucher merged from followed by the holder it merged into."""
    for token in book.vouchers:
        yield book.path(token)
    for m in book.merges:
        before = [h for h in book.path(m.src) if (h.block, h.log_index) < (m.block, m.log_index)]
        into = book.holder_at(m.dst, m.block, m.log_index)
        yield [*before, Hop(into, m.block, m.log_index, m.timestamp, m.dst, m.tx_hash)]


def _trades(book: Book, route: list[Hop], system: frozenset[str]) -> list[Hop]:
    """The route's holders that traded: without the suite's own accounts (custody, the desk),
    without moves by order, and without repeats of the same holder in a row (a split to
    oneself, custody and back)."""
    out: list[Hop] = []
    for hop in route:
        if hop.holder in system or book.by_order(hop):
            continue
        if out and out[-1].holder == hop.holder:
            continue
        out.append(hop)
    return out


@dataclass(frozen=True)
class Velocity(Rule):
    NAME: ClassVar[str] = "velocity"
    max_moves: int = _setting(WHOLE)
    window_hours: int = _setting(POSITIVE)

    def findings(self, book: Book, system: frozenset[str]) -> Iterator[Finding]:
        merged_out: dict[int, list[int]] = defaultdict(list)
        for m in book.merges:
            merged_out[m.src].append(m.timestamp)
        window = self.window_hours * HOUR
        for v in book.vouchers.values():
            times = sorted(v.moves + merged_out[v.token_id])
            start = 0
            for end, t in enumerate(times):
                while t - times[start] >= window:
                    start += 1
                moves = end - start + 1
                if moves > self.max_moves:
                    yield Finding("voucher", v.label, (
                        f"voucher {v.label} of {_slot_text(book, v.slot)} moved {moves} times within "
                        f"{self.window_hours} h, from {fmt_day(times[start])} (policy: at most {self.max_moves})"
                    ))
                    break


@dataclass(frozen=True)
class MemberNotActive(Rule):
    NAME: ClassVar[str] = "member_not_active"

    def findings(self, book: Book, system: frozenset[str]) -> Iterator[Finding]:
        name = member_label(book)
        for m in book.members.values():
            if m.status not in (MemberStatus.SUSPENDED, MemberStatus.REMOVED):
                continue
            held, owed = book.held_by(m.address), book.outstanding(m.address)
            if not held and not owed:
                continue
            what = []
            if held:
                what.append(f"holds {len(held)} live vouchers worth {fmt(sum(v.value for v in held))}")
            if owed:
                what.append(f"owes {fmt(owed)} on its live slots")
            yield Finding("member", m.address, (
                f"{name(m.address)} is {m.status.name.lower()} since {fmt_day(m.since)} and {' and '.join(what)}"
            ), scope=str(m.since))


@dataclass(frozen=True)
class FrozenNearMaturity(Rule):
    NAME: ClassVar[str] = "frozen_near_maturity"
    days: int = _setting(WHOLE)

    def findings(self, book: Book, system: frozenset[str]) -> Iterator[Finding]:
        for v in book.live_vouchers():
            left = book.slots[v.slot].maturity - book.now
            if v.frozen and left <= self.days * DAY:
                when = f"matures in {_days(left)}" if left > 0 else "has matured"
                yield Finding("voucher", v.label, (
                    f"voucher {v.label} ({fmt(v.value)}, held by {member_label(book)(v.holder)}) is frozen "
                    f"and its slot {when}"
                ))


@dataclass(frozen=True)
class DiscountRate(Rule):
    NAME: ClassVar[str] = "discount_rate"
    tenor_band_days: int = _setting(WHOLE)
    history: int = _setting(POSITIVE)
    min_history: int = _setting(POSITIVE)
    max_deviation_bps: int = _setting(WHOLE)

    def findings(self, book: Book, system: frozenset[str]) -> Iterator[Finding]:
        name = member_label(book)
        earlier: dict[str, list[tuple[int, int]]] = defaultdict(list)  # debtor -> (tenor days, rate), in order
        for d in book.discounts:
            peers = [rate for tenor, rate in earlier[d.debtor] if abs(tenor - d.tenor_days) <= self.tenor_band_days]
            peers = peers[-self.history :]
            earlier[d.debtor].append((d.tenor_days, d.rate_bps))
            if len(peers) < self.min_history:
                continue
            median = statistics.median(peers)
            if abs(d.rate_bps - median) > self.max_deviation_bps:
                yield Finding("voucher", label(d.token), (
                    f"{name(d.financier)} bought {fmt(d.value)} of {name(d.debtor)}'s slot {d.slot} from "
                    f"{name(d.holder)} at {d.rate_bps} bps a year, {d.tenor_days} days before maturity; the median "
                    f"of the last {len(peers)} discounts of that debtor within {self.tenor_band_days} days of that "
                    f"tenor is {median:g} bps (policy: at most {self.max_deviation_bps} bps away)"
                ), scope=f"{d.block}:{d.token}")


# The policy file's rules, in its order.
RULES: tuple[type[Rule], ...] = (
    UnfundedNearMaturity, Overdue, ShortAtMaturity, DebtorConcentration, FinancierConcentration,
    CircularTransfer, Velocity, MemberNotActive, FrozenNearMaturity, DiscountRate,
)
RULE_NAMES = tuple(r.NAME for r in RULES)
