"""When a debtor fails: an overdue slot pays out what was funded, pro rata, and holders may
write off the rest (issue 16, items 1 and 6).

The rule under test, from the ledger's NatSpec: once a slot is marked overdue and is not fully
funded, ``redeem`` pays a voucher

    nominal x (funded - writtenOffPaid) / (face - writtenOff - writtenOffPaid), rounded down,

less what it was paid before (``paidOutOf``; nominal = value + paid out); the voucher stays
alive for the rest. ``writeOff`` pays that share first, then burns the voucher and records the
rest on the slot. A slot whose funding plus written-off value reaches its face value pays every
live voucher its whole remaining value.

Every figure a test expects is worked out by hand in the test, or by ``share`` below (the
rule's formula in Python), never read back from the ledger. Every refusal is mined as a failed
transaction and checked for its error, its arguments, and an unchanged ledger.

The conftest's cast: the hospital (core enterprise, 5,000,000.00 credit line, 3,000,000.00
cash), tier 1 / 2 / 3 suppliers (no cash), the bank (2,000,000.00 cash). This module adds the
hospital's parent group as a guarantor. CNY = 100 minor units (``tests.support``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector, keccak
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from scf.chain.devnet import revert, snapshot
from scf.contracts import Role, SlotStatus, token_id
from scf.contracts.base import ZERO_ADDRESS
from tests.support import (
    CNY,
    DAY,
    FACE,
    KYC,
    Refusals,
    check_revert,
    event_args,
    funded,
    mined_refusal,
    read_many,
    word,
)

GUARANTOR_CASH = 1_000_000 * CNY
REASON = keccak(text="dispute 2026-0316: tier 2's delivery contested")
WRITTEN_OFF_FLAG = 1  # the slot's flags bit set by the first write-off


def selector(signature: str) -> bytes:
    return function_signature_to_4byte_selector(signature)


def share(nominal: int, funded: int, face: int, written_off: int = 0, written_off_paid: int = 0) -> int:
    """What a voucher of ``nominal`` has earned in total from an overdue slot, as the rule says
    (rounded down). A voucher is paid this less what it was paid before."""
    return nominal * (funded - written_off_paid) // (face - written_off - written_off_paid)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def guarantor(suite, cast, w3) -> LocalAccount:
    """The hospital's parent group: an active member with cash of its own."""
    parent = funded(w3, "default payouts guarantor")
    suite.registry.admit(
        cast.operator, parent.address, "Provincial Health Holdings (guarantor)", Role.CORE_ENTERPRISE, KYC
    )
    suite.token.mint(cast.operator, parent.address, GUARANTOR_CASH)
    return parent


@pytest.fixture
def people(cast, guarantor, suite) -> dict[str, str]:
    named = {name: person.address for name, person in vars(cast).items()}
    return named | {"guarantor": guarantor.address, "keeper": suite.keeper.address, "credit desk": suite.credit.address}


@pytest.fixture
def ledger(suite, people) -> Callable[[], dict[str, bytes]]:
    """What a refused payout or write-off could have touched, read raw: every slot, every
    voucher ever minted (holder, value, parent, freeze, paid out), every party's cash and
    vouchers, the debtor lines, what the ledger owes and holds, its parameters."""
    w3 = suite.conn.w3
    v, cash = suite.voucher.address, suite.token.address

    def read() -> dict[str, bytes]:
        calls: dict[str, tuple[str, str, tuple[Any, ...]]] = {
            "slot count": (v, "slotCount()", ()),
            "ledger owes": (v, "settlementOwed()", ()),
            "ledger parameters": (v, "parameters()", ()),
            "ledger cash": (cash, "balanceOf(address)", (v,)),
            "cash in circulation": (cash, "totalSupply()", ()),
        }
        for name, address in people.items():
            calls[f"{name}: cash"] = (cash, "balanceOf(address)", (address,))
            calls[f"{name}: vouchers"] = (v, "balanceOf(address)", (address,))
            calls[f"{name}: outstanding"] = (v, "outstandingOf(address)", (address,))
        state = read_many(w3, calls)
        slots = range(1, word(state["slot count"]) + 1)
        state |= read_many(w3, {f"slot {slot}": (v, "slotInfo(uint256)", (slot,)) for slot in slots})
        calls = {}
        for slot in slots:
            for serial in range(1, word(state[f"slot {slot}"], 3) + 1):
                t = token_id(slot, serial)
                calls[f"voucher {slot}.{serial}"] = (v, "tokenInfo(uint256)", (t,))
                calls[f"voucher {slot}.{serial}: paid out"] = (v, "paidOutOf(uint256)", (t,))
                calls[f"voucher {slot}.{serial}: freeze reason"] = (v, "freezeReasonOf(uint256)", (t,))
        return state | read_many(w3, calls)

    return read


@pytest.fixture
def refused(suite, ledger) -> Refusals:
    """``refused(client, signer, "fn", *args, error="Name", **arguments)``: mined as a failed
    transaction with exactly that error and arguments, and the ledger as it was."""
    return Refusals(suite.conn.w3, ledger)


@dataclass(frozen=True)
class Holders:
    """The hospital's 1,000,000.00 voucher to tier 1, split: tier 1 keeps 600,000.00 (the
    root), tier 2 holds 300,000.00, tier 3 holds 100,000.00."""

    slot: int
    root: int
    tier2: int
    tier3: int


@pytest.fixture
def holders(suite, cast, accepted_voucher) -> Holders:
    slot, root = accepted_voucher(FACE, 90)
    to_tier2, _ = suite.voucher.split_transfer(cast.tier1, root, cast.tier2.address, 300_000 * CNY)
    to_tier3, _ = suite.voucher.split_transfer(cast.tier1, root, cast.tier3.address, 100_000 * CNY)
    return Holders(slot, root, to_tier2, to_tier3)


def pay(suite, payer, slot: int, amount: int):
    """``payer`` pays ``amount`` into the slot (the debtor, or a member on its behalf)."""
    suite.token.approve(payer, suite.voucher.address, amount)
    return suite.voucher.fund(payer, slot, amount)


def go_overdue(suite, travel, reporter, slot: int):
    """The clock moves past the slot's overdue time, and ``reporter`` marks it overdue."""
    travel(suite.voucher.overdue_from(slot) - suite.conn.block_timestamp() + 1)
    return suite.voucher.mark_overdue(reporter, slot)


def cash_of(suite, *accounts) -> dict[str, int]:
    return {a.address: suite.token.balance_of(a.address) for a in accounts}


def assert_books_balance(suite, owed_before: int, slot: int) -> None:
    """The ledger holds exactly what it owes (no excess sent), and this slot's part of it is
    what was funded and not yet paid out."""
    info = suite.voucher.slot(slot)
    owed = suite.voucher.call("settlementOwed")
    assert owed == owed_before + info.funded - info.redeemed
    assert suite.token.balance_of(suite.voucher.address) == owed


def live_values(suite, slot: int) -> dict[int, int]:
    v = suite.voucher
    values = {}
    for serial in range(1, v.slot(slot).last_serial + 1):
        info = v.voucher(token_id(slot, serial))
        if info.exists:
            values[info.token_id] = info.value
    return values


def decode_data_uri(uri: str) -> dict[str, Any]:
    prefix = "data:application/json;base64,"
    assert uri.startswith(prefix), uri[:60]
    return json.loads(base64.b64decode(uri[len(prefix) :]))


# ======================================================================= the issue's story


def test_a_removed_hospitals_90_percent_is_paid_out_pro_rata_and_its_guarantor_completes_the_rest(
    suite, cast, holders, guarantor, travel, refused
):
    """The issue's story. The hospital funds 900,000.00 of its 1,000,000.00 voucher, now held
    600,000.00 / 300,000.00 / 100,000.00 by tiers 1, 2 and 3, and is removed. Once overdue,
    each holder takes 90 % of its value and keeps a voucher for the last 10 %; the hospital's
    parent group pays the 100,000.00 left, and each holder is paid the rest."""
    v, token = suite.voucher, suite.token
    slot, root, t2, t3 = holders.slot, holders.root, holders.tier2, holders.tier3
    owed_before = v.call("settlementOwed")
    before = cash_of(suite, cast.hospital, cast.tier1, cast.tier2, cast.tier3, guarantor)

    pay(suite, cast.hospital, slot, 900_000 * CNY)
    suite.registry.remove(cast.operator, cast.hospital.address, REASON)
    marked = go_overdue(suite, travel, cast.tier2, slot)
    assert event_args(marked, v, "SlotOverdue") == [
        {"slot": slot, "debtor": cast.hospital.address, "unfunded": 100_000 * CNY, "reporter": cast.tier2.address}
    ]

    # Each holder is paid 90 % of its value, and its voucher lives on with the other 10 %.
    paid_out = {
        (root, cast.tier1): (540_000 * CNY, 60_000 * CNY),
        (t2, cast.tier2): (270_000 * CNY, 30_000 * CNY),
        (t3, cast.tier3): (90_000 * CNY, 10_000 * CNY),
    }
    for (voucher, holder), (amount, rest) in paid_out.items():
        result = v.redeem(holder, voucher)
        assert event_args(result, v, "VoucherPartlyPaid") == [
            {"tokenId": voucher, "slot": slot, "holder": holder.address, "amount": amount, "paidOut": amount,
             "value": rest}
        ]
        assert event_args(result, v, "VoucherRedeemed") == [] and event_args(result, v, "SlotSettled") == []
        assert token.balance_of(holder.address) == before[holder.address] + amount
        assert v.value_of(voucher) == rest
        assert v.paid_out_of(voucher) == amount
        assert v.owner_of(voucher) == holder.address
    info = v.slot(slot)
    assert (info.status, info.funded, info.redeemed) == (SlotStatus.ACCEPTED, 900_000 * CNY, 900_000 * CNY)
    assert (info.written_off, info.written_off_paid) == (0, 0)
    assert v.call("settlementOwed") == owed_before  # every funded cent is out: nothing left to pay
    assert_books_balance(suite, owed_before, slot)

    # Nothing more is due until someone pays more.
    for voucher, holder in paid_out:
        refused(v, holder, "redeem", voucher, error="NothingToPay", tokenId=voucher)

    # The guarantor completes the face value: the removed hospital's line is released.
    completed = pay(suite, guarantor, slot, 100_000 * CNY)
    assert event_args(completed, v, "SlotFunded") == [
        {"slot": slot, "payer": guarantor.address, "amount": 100_000 * CNY, "funded": FACE, "faceValue": FACE}
    ]
    assert event_args(completed, v, "CreditReleased") == [
        {"slot": slot, "debtor": cast.hospital.address, "faceValue": FACE}
    ]
    assert v.outstanding_of(cast.hospital.address) == 0

    # Each holder is paid the rest, and the vouchers burn; the last settles the slot.
    for i, ((voucher, holder), (amount, rest)) in enumerate(paid_out.items()):
        result = v.redeem(holder, voucher)
        assert event_args(result, v, "VoucherRedeemed") == [
            {"tokenId": voucher, "slot": slot, "holder": holder.address, "value": rest}
        ]
        assert event_args(result, v, "VoucherPartlyPaid") == []
        assert token.balance_of(holder.address) == before[holder.address] + amount + rest
        assert not v.voucher(voucher).exists
        last = i == len(paid_out) - 1
        assert event_args(result, v, "SlotSettled") == (
            [{"slot": slot, "debtor": cast.hospital.address, "wasOverdue": True}] if last else []
        )

    info = v.slot(slot)
    assert info.status == SlotStatus.SETTLED
    assert (info.funded, info.redeemed, info.written_off) == (FACE, FACE, 0)
    assert live_values(suite, slot) == {}
    assert v.call("settlementOwed") == owed_before
    assert_books_balance(suite, owed_before, slot)
    # Every cent accounted: 900,000.00 from the hospital, 100,000.00 from its guarantor, and the
    # holders paid exactly their values.
    after = cash_of(suite, cast.hospital, cast.tier1, cast.tier2, cast.tier3, guarantor)
    assert {a: after[a] - before[a] for a in after} == {
        cast.hospital.address: -900_000 * CNY,
        guarantor.address: -100_000 * CNY,
        cast.tier1.address: 600_000 * CNY,
        cast.tier2.address: 300_000 * CNY,
        cast.tier3.address: 100_000 * CNY,
    }


# ============================================================================== rounding


def test_thirds_that_do_not_divide_leave_a_cent_in_the_slot_until_full_funding_pays_it_out(
    suite, cast, accepted_voucher, travel, refused
):
    """A 1,000.00 voucher held 333.34 / 333.33 / 333.33, funded 666.67. Each share rounds down
    to 222.22 (333.34 x 666.67 / 1,000 = 222.2277..., 333.33 x 666.67 / 1,000 = 222.2211...),
    so 0.01 of the funding stays in the slot. One more cent funded: tier 1 is due 0.01 more
    (333.34 x 666.68 / 1,000 = 222.2311...), the others nothing. The rest of the face value
    pays every voucher exactly what it still holds, the spare cent included."""
    v, token = suite.voucher, suite.token
    slot, root = accepted_voucher(1_000 * CNY, 30)
    t2, _ = v.split_transfer(cast.tier1, root, cast.tier2.address, 33_333)
    t3, _ = v.split_transfer(cast.tier1, root, cast.tier3.address, 33_333)
    assert v.value_of(root) == 33_334
    owed_before = v.call("settlementOwed")
    before = cash_of(suite, cast.tier1, cast.tier2, cast.tier3)
    hospital_before = token.balance_of(cast.hospital.address)

    pay(suite, cast.hospital, slot, 66_667)
    go_overdue(suite, travel, cast.tier3, slot)
    for voucher, holder in ((root, cast.tier1), (t2, cast.tier2), (t3, cast.tier3)):
        v.redeem(holder, voucher)
        assert v.paid_out_of(voucher) == 22_222
    assert [v.value_of(t) for t in (root, t2, t3)] == [11_112, 11_111, 11_111]
    info = v.slot(slot)
    assert (info.funded, info.redeemed) == (66_667, 66_666)
    assert info.held == 1  # the rounding remainder, owed to the holders, still in the ledger
    assert v.call("settlementOwed") == owed_before + 1
    assert_books_balance(suite, owed_before, slot)
    for voucher, holder in ((root, cast.tier1), (t2, cast.tier2), (t3, cast.tier3)):
        refused(v, holder, "redeem", voucher, error="NothingToPay", tokenId=voucher)

    pay(suite, cast.hospital, slot, 1)
    result = v.redeem(cast.tier1, root)
    assert event_args(result, v, "VoucherPartlyPaid")[0]["amount"] == 1
    assert v.paid_out_of(root) == 22_223
    for voucher, holder in ((t2, cast.tier2), (t3, cast.tier3)):
        refused(v, holder, "redeem", voucher, error="NothingToPay", tokenId=voucher)
    assert v.slot(slot).held == 1

    pay(suite, cast.hospital, slot, 33_332)  # 100,000 - 66,668: the face value is complete
    for voucher, holder, rest in ((root, cast.tier1, 11_111), (t2, cast.tier2, 11_111), (t3, cast.tier3, 11_111)):
        result = v.redeem(holder, voucher)
        assert event_args(result, v, "VoucherRedeemed")[0]["value"] == rest
    after = cash_of(suite, cast.tier1, cast.tier2, cast.tier3)
    assert {a: after[a] - before[a] for a in after} == {
        cast.tier1.address: 33_334, cast.tier2.address: 33_333, cast.tier3.address: 33_333,
    }
    assert token.balance_of(cast.hospital.address) == hospital_before - 1_000 * CNY
    info = v.slot(slot)
    assert (info.status, info.funded, info.redeemed, info.held) == (SlotStatus.SETTLED, 100_000, 100_000, 0)
    assert_books_balance(suite, owed_before, slot)


@dataclass
class Model:
    """The slot as the rule says it should be: each live voucher's holder, value and payouts."""

    face: int
    vouchers: dict[int, list[Any]] = field(default_factory=dict)  # token -> [holder, value, paid out]
    funded: int = 0
    redeemed: int = 0
    written_off: int = 0
    written_off_paid: int = 0

    @property
    def whole(self) -> bool:
        return self.funded + self.written_off >= self.face

    def earned(self, token: int) -> int:
        _, value, paid = self.vouchers[token]
        return share(value + paid, self.funded, self.face, self.written_off, self.written_off_paid)

    def due(self, token: int) -> int:
        _, value, paid = self.vouchers[token]
        return value if self.whole else self.earned(token) - paid


def check_against_model(suite, model: Model, slot: int, owed_before: int) -> None:
    v = suite.voucher
    info = v.slot(slot)
    assert (info.face_value, info.funded, info.redeemed, info.written_off, info.written_off_paid) == (
        model.face, model.funded, model.redeemed, model.written_off, model.written_off_paid
    )
    live = live_values(suite, slot)
    assert live == {t: value for t, (_, value, _) in model.vouchers.items()}
    assert {t: v.paid_out_of(t) for t in live} == {t: paid for t, (_, _, paid) in model.vouchers.items()}
    # The invariants: no value created or lost; no more paid out than was funded; the ledger
    # holds exactly what it owes.
    assert sum(live.values()) + info.redeemed + info.written_off == info.face_value
    assert info.redeemed <= info.funded
    assert v.call("settlementOwed") == owed_before + info.funded - info.redeemed
    assert suite.token.balance_of(v.address) == v.call("settlementOwed")


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_pro_rata_payouts_never_pay_more_than_was_funded_and_full_funding_pays_every_voucher_the_rest(
    suite, cast, invoice, w3, travel, data
):
    """For any face value, any three-way split, up to three payments and at most one
    write-off: each payout is floor(nominal x funded' / face') less what the voucher was paid
    before, and never negative; live values + paid out + written off == face value; what was
    paid out never exceeds what was funded, the rest stays owed in the ledger, which holds
    exactly what it owes; paying the remaining cap pays every live voucher its whole value."""
    v = suite.voucher
    face = data.draw(st.integers(min_value=3, max_value=10_000_000), label="face value (minor units)")
    to_tier2 = data.draw(st.integers(min_value=1, max_value=face - 2), label="tier 2's value")
    to_tier3 = data.draw(st.integers(min_value=1, max_value=face - to_tier2 - 1), label="tier 3's value")
    payments = data.draw(st.lists(st.integers(min_value=0, max_value=face), min_size=1, max_size=3), label="payments")
    quitter = data.draw(st.sampled_from([None, "tier1", "tier2", "tier3"]), label="who writes off")
    quit_round = data.draw(st.integers(min_value=0, max_value=len(payments) - 1), label="in which round")
    holder_of = {"tier1": cast.tier1, "tier2": cast.tier2, "tier3": cast.tier3}

    start = snapshot(w3)
    try:
        owed_before = v.call("settlementOwed")
        slot, _ = v.issue(
            cast.hospital, cast.tier1.address, face, suite.conn.block_timestamp() + DAY, invoice(amount=face)
        )
        root, _ = v.accept(cast.tier1, slot)
        t2, _ = v.split_transfer(cast.tier1, root, cast.tier2.address, to_tier2)
        t3, _ = v.split_transfer(cast.tier1, root, cast.tier3.address, to_tier3)
        model = Model(face, {
            root: ["tier1", face - to_tier2 - to_tier3, 0], t2: ["tier2", to_tier2, 0], t3: ["tier3", to_tier3, 0],
        })
        suite.token.approve(cast.hospital, v.address, face)
        earned_before: dict[int, int] = {}

        for round_, wanted in enumerate(payments):
            amount = min(wanted, model.face - model.funded - model.written_off - 1)  # full funding comes last
            if amount > 0 and model.vouchers:
                v.fund(cast.hospital, slot, amount)
                model.funded += amount
            if round_ == 0:
                go_overdue(suite, travel, cast.tier1, slot)
            for token in list(model.vouchers):
                holder_name, value, paid = model.vouchers[token]
                holder = holder_of[holder_name]
                due = model.due(token)
                assert 0 <= due <= value
                if not model.whole:
                    earned = model.earned(token)
                    assert earned >= earned_before.get(token, 0), "a voucher's share went down"
                    earned_before[token] = earned
                cash = suite.token.balance_of(holder.address)
                if holder_name == quitter and round_ == quit_round and not model.whole:
                    result = v.write_off(holder, token)
                    assert event_args(result, v, "VoucherWrittenOff") == [{
                        "tokenId": token, "slot": slot, "holder": holder.address,
                        "writtenOff": value - due, "paid": due,
                    }]
                    del model.vouchers[token]
                    model.written_off += value - due
                    model.written_off_paid += paid + due
                    event("a write-off" + (" after a payout" if paid else ""))
                elif due == 0:
                    check_revert(mined_refusal(v, holder, "redeem", token), "NothingToPay", {"tokenId": token})
                    result = None
                    event("nothing to pay")
                elif model.whole:  # a write-off can complete the slot: funded + written off == face
                    result = v.redeem(holder, token)
                    assert event_args(result, v, "VoucherRedeemed") == [
                        {"tokenId": token, "slot": slot, "holder": holder.address, "value": value}
                    ]
                    del model.vouchers[token]
                    event("a write-off completed the slot")
                else:
                    result = v.redeem(holder, token)
                    assert event_args(result, v, "VoucherPartlyPaid") == [{
                        "tokenId": token, "slot": slot, "holder": holder.address,
                        "amount": due, "paidOut": paid + due, "value": value - due,
                    }]
                    model.vouchers[token] = [holder_name, value - due, paid + due]
                model.redeemed += due
                assert suite.token.balance_of(holder.address) == cash + due
                if result is not None:
                    assert bool(event_args(result, v, "SlotSettled")) == (not model.vouchers)
            check_against_model(suite, model, slot, owed_before)
            if model.funded > model.redeemed and not model.whole:
                event("a rounding remainder stays in the slot")

        cap = model.face - model.funded - model.written_off
        if cap > 0:
            v.fund(cast.hospital, slot, cap)
            model.funded += cap
        for token in list(model.vouchers):
            holder_name, value, _ = model.vouchers.pop(token)
            holder = holder_of[holder_name]
            cash = suite.token.balance_of(holder.address)
            result = v.redeem(holder, token)
            assert event_args(result, v, "VoucherRedeemed") == [
                {"tokenId": token, "slot": slot, "holder": holder.address, "value": value}
            ]
            assert suite.token.balance_of(holder.address) == cash + value
            model.redeemed += value
            assert bool(event_args(result, v, "SlotSettled")) == (not model.vouchers)  # the last settles
        check_against_model(suite, model, slot, owed_before)
        assert v.slot(slot).status == SlotStatus.SETTLED
        assert model.redeemed == model.funded  # every cent funded was paid out
    finally:
        revert(w3, start)


# ============================================================================== write-off


def test_a_write_off_pays_the_due_share_first_and_lifts_the_others_shares_by_its_rounding(
    suite, cast, holders, guarantor, travel, refused
):
    """Funded 333,333.33 of 1,000,000.00. Tier 1 (600,000.00) is paid 199,999.99 and tier 2
    (300,000.00) 99,999.99 (one third, rounded down). Tier 3 writes off its 100,000.00: it is
    paid 33,333.33 and gives up 66,666.67. The others' share is now (333,333.33 - 33,333.33) /
    (1,000,000.00 - 66,666.67 - 33,333.33) = exactly one third: each is due one more cent.
    The hospital pays 300,000.00 more (two thirds: tier 1 takes 200,000.00). The slot can now
    take at most 300,000.00 (face - funded - written off); the guarantor pays it, and each
    live voucher is paid whole. The hospital's line stays used: its debt was never paid in
    full."""
    v, token = suite.voucher, suite.token
    slot, root, t2, t3 = holders.slot, holders.root, holders.tier2, holders.tier3
    owed_before = v.call("settlementOwed")
    before = cash_of(suite, cast.tier1, cast.tier2, cast.tier3)

    pay(suite, cast.hospital, slot, 33_333_333)
    go_overdue(suite, travel, cast.bank, slot)
    assert event_args(v.redeem(cast.tier1, root), v, "VoucherPartlyPaid")[0]["amount"] == 19_999_999
    assert event_args(v.redeem(cast.tier2, t2), v, "VoucherPartlyPaid")[0]["amount"] == 9_999_999
    assert share(60_000_000, 33_333_333, FACE) == 19_999_999  # the figures above, by the rule

    result = v.write_off(cast.tier3, t3)
    assert event_args(result, v, "VoucherWrittenOff") == [
        {"tokenId": t3, "slot": slot, "holder": cast.tier3.address, "writtenOff": 6_666_667, "paid": 3_333_333}
    ]
    assert event_args(result, v, "SlotSettled") == []
    assert token.balance_of(cast.tier3.address) == before[cast.tier3.address] + 3_333_333
    assert not v.voucher(t3).exists
    info = v.slot(slot)
    assert (info.written_off, info.written_off_paid, info.redeemed) == (6_666_667, 3_333_333, 33_333_331)
    assert info.flags & WRITTEN_OFF_FLAG
    assert_books_balance(suite, owed_before, slot)

    # The write-off took 0.3 cent less than its exact share: the others' shares rise by it.
    assert share(60_000_000, 33_333_333, FACE, 6_666_667, 3_333_333) == 20_000_000
    for voucher, holder in ((root, cast.tier1), (t2, cast.tier2)):
        assert event_args(v.redeem(holder, voucher), v, "VoucherPartlyPaid")[0]["amount"] == 1
        refused(v, holder, "redeem", voucher, error="NothingToPay", tokenId=voucher)
    assert v.slot(slot).held == 0  # every cent of the 333,333.33 is out

    pay(suite, cast.hospital, slot, 300_000 * CNY)
    assert share(60_000_000, 63_333_333, FACE, 6_666_667, 3_333_333) == 40_000_000
    result = v.redeem(cast.tier1, root)
    assert event_args(result, v, "VoucherPartlyPaid") == [{
        "tokenId": root, "slot": slot, "holder": cast.tier1.address,
        "amount": 20_000_000, "paidOut": 40_000_000, "value": 20_000_000,
    }]

    # What the holders wrote off is never funded: at most face - funded - written off.
    refused(
        v, guarantor, "fund", slot, 30_000_001,
        error="OverFunding", slot=slot, unfunded=30_000_000, amount=30_000_001,
    )
    completed = pay(suite, guarantor, slot, 30_000_000)
    assert event_args(completed, v, "SlotFunded")[0]["funded"] == 93_333_333
    # Funded + written off is the face value: nothing more can be funded, so the slot leaves the
    # hospital's credit line; the 66,666.67 written off stays on the slot, unpaid.
    assert event_args(completed, v, "CreditReleased") == [
        {"slot": slot, "debtor": cast.hospital.address, "faceValue": FACE}
    ]
    assert v.outstanding_of(cast.hospital.address) == 0

    first = v.redeem(cast.tier1, root)  # whole: 600,000.00 - 400,000.00 paid before
    assert event_args(first, v, "VoucherRedeemed") == [
        {"tokenId": root, "slot": slot, "holder": cast.tier1.address, "value": 20_000_000}
    ]
    assert event_args(first, v, "SlotSettled") == []
    last = v.redeem(cast.tier2, t2)  # whole: 300,000.00 - 100,000.00 paid before
    assert event_args(last, v, "VoucherRedeemed") == [
        {"tokenId": t2, "slot": slot, "holder": cast.tier2.address, "value": 20_000_000}
    ]
    assert event_args(last, v, "SlotSettled") == [{"slot": slot, "debtor": cast.hospital.address, "wasOverdue": True}]

    after = cash_of(suite, cast.tier1, cast.tier2, cast.tier3)
    assert {a: after[a] - before[a] for a in after} == {
        cast.tier1.address: 60_000_000, cast.tier2.address: 30_000_000, cast.tier3.address: 3_333_333,
    }
    info = v.slot(slot)
    assert (info.status, info.funded, info.redeemed) == (SlotStatus.SETTLED, 93_333_333, 93_333_333)
    assert (info.written_off, info.written_off_paid) == (6_666_667, 3_333_333)
    assert info.redeemed + info.written_off == FACE
    assert v.outstanding_of(cast.hospital.address) == 0  # released when the slot was complete
    assert_books_balance(suite, owed_before, slot)


def test_writing_off_the_last_live_voucher_settles_the_slot_and_pays_out_every_funded_cent(
    suite, cast, accepted_voucher, travel, refused
):
    """Tier 1 keeps 600,000.00, tier 2 holds 400,000.00; the hospital funds 250,000.00. Both are
    paid a quarter (150,000.00 and 100,000.00). Tier 2 writes off, paid nothing more: it gives
    up 300,000.00, having been paid 100,000.00. The hospital pays 50,000.00: tier 1's share is
    600,000.00 x (300,000.00 - 100,000.00) / (1,000,000.00 - 300,000.00 - 100,000.00) =
    200,000.00, 50,000.00 more, paid when it writes off the rest (400,000.00): the slot has no
    live value left and settles, still owed 700,000.00 by the hospital, whose line stays used."""
    v = suite.voucher
    slot, root = accepted_voucher(FACE, 60)
    t2, _ = v.split_transfer(cast.tier1, root, cast.tier2.address, 400_000 * CNY)
    owed_before = v.call("settlementOwed")
    before = cash_of(suite, cast.tier1, cast.tier2)

    pay(suite, cast.hospital, slot, 250_000 * CNY)
    go_overdue(suite, travel, cast.tier2, slot)
    v.redeem(cast.tier1, root)
    v.redeem(cast.tier2, t2)
    assert (v.paid_out_of(root), v.paid_out_of(t2)) == (150_000 * CNY, 100_000 * CNY)

    quit_first = v.write_off(cast.tier2, t2)
    assert event_args(quit_first, v, "VoucherWrittenOff") == [
        {"tokenId": t2, "slot": slot, "holder": cast.tier2.address, "writtenOff": 300_000 * CNY, "paid": 0}
    ]
    assert event_args(quit_first, v, "SlotSettled") == []
    info = v.slot(slot)
    assert (info.written_off, info.written_off_paid) == (300_000 * CNY, 100_000 * CNY)

    pay(suite, cast.hospital, slot, 50_000 * CNY)
    quit_last = v.write_off(cast.tier1, root)
    assert event_args(quit_last, v, "VoucherWrittenOff") == [
        {"tokenId": root, "slot": slot, "holder": cast.tier1.address, "writtenOff": 400_000 * CNY,
         "paid": 50_000 * CNY}
    ]
    assert event_args(quit_last, v, "SlotSettled") == [
        {"slot": slot, "debtor": cast.hospital.address, "wasOverdue": True}
    ]
    # The last write-off completes the slot (funded + written off = face): the line is released.
    assert event_args(quit_last, v, "CreditReleased") == [
        {"slot": slot, "debtor": cast.hospital.address, "faceValue": FACE}
    ]
    info = v.slot(slot)
    assert info.status == SlotStatus.SETTLED
    assert (info.funded, info.redeemed) == (300_000 * CNY, 300_000 * CNY)
    assert (info.written_off, info.written_off_paid) == (700_000 * CNY, 300_000 * CNY)
    assert live_values(suite, slot) == {}
    after = cash_of(suite, cast.tier1, cast.tier2)
    assert {a: after[a] - before[a] for a in after} == {
        cast.tier1.address: 200_000 * CNY, cast.tier2.address: 100_000 * CNY,
    }
    assert v.outstanding_of(cast.hospital.address) == 0  # the slot is complete: its face value left the line
    assert_books_balance(suite, owed_before, slot)
    # A settled slot takes no more money.
    refused(
        v, cast.hospital, "fund", slot, 1 * CNY,
        error="UnexpectedSlotStatus", slot=slot, status=int(SlotStatus.SETTLED),
    )


def test_a_cent_given_up_by_a_write_off_completes_a_slot_funded_a_cent_short_and_the_others_are_paid_whole(
    suite, cast, holders, travel, refused
):
    """The hospital funds 999,999.99. Tier 3 writes off its 100,000.00 and is paid 99,999.99
    (100,000.00 x 999,999.99 / 1,000,000.00 = 99,999.999, rounded down): it gives up 0.01, and
    funded + written off is the face value. Nothing more can be funded; tier 1 and tier 2 are
    paid their whole values. The hospital's line stays used: it never paid the face value."""
    v = suite.voucher
    slot, root, t2, t3 = holders.slot, holders.root, holders.tier2, holders.tier3
    owed_before = v.call("settlementOwed")
    pay(suite, cast.hospital, slot, 99_999_999)
    go_overdue(suite, travel, cast.tier3, slot)

    quit_ = v.write_off(cast.tier3, t3)
    # Its cent completes the slot: the face value leaves the hospital's credit line.
    assert event_args(quit_, v, "CreditReleased") == [
        {"slot": slot, "debtor": cast.hospital.address, "faceValue": FACE}
    ]
    assert event_args(quit_, v, "VoucherWrittenOff") == [
        {"tokenId": t3, "slot": slot, "holder": cast.tier3.address, "writtenOff": 1, "paid": 9_999_999}
    ]
    refused(v, cast.hospital, "fund", slot, 1, error="OverFunding", slot=slot, unfunded=0, amount=1)

    before = cash_of(suite, cast.tier1, cast.tier2)
    first = v.redeem(cast.tier1, root)
    assert event_args(first, v, "VoucherRedeemed") == [
        {"tokenId": root, "slot": slot, "holder": cast.tier1.address, "value": 600_000 * CNY}
    ]
    last = v.redeem(cast.tier2, t2)
    assert event_args(last, v, "VoucherRedeemed") == [
        {"tokenId": t2, "slot": slot, "holder": cast.tier2.address, "value": 300_000 * CNY}
    ]
    assert event_args(last, v, "SlotSettled") == [{"slot": slot, "debtor": cast.hospital.address, "wasOverdue": True}]
    after = cash_of(suite, cast.tier1, cast.tier2)
    assert {a: after[a] - before[a] for a in after} == {
        cast.tier1.address: 600_000 * CNY, cast.tier2.address: 300_000 * CNY,
    }
    info = v.slot(slot)
    assert (info.funded, info.redeemed, info.written_off, info.written_off_paid) == (
        99_999_999, 99_999_999, 1, 9_999_999
    )
    assert v.outstanding_of(cast.hospital.address) == 0  # the slot is complete: its face value left the line
    assert_books_balance(suite, owed_before, slot)


def test_the_only_holder_of_an_unfunded_overdue_slot_writes_it_all_off_for_nothing(
    suite, cast, accepted_voucher, travel
):
    v = suite.voucher
    slot, root = accepted_voucher(FACE, 30)
    go_overdue(suite, travel, cast.tier1, slot)
    cash = suite.token.balance_of(cast.tier1.address)
    result = v.write_off(cast.tier1, root)
    assert event_args(result, v, "VoucherWrittenOff") == [
        {"tokenId": root, "slot": slot, "holder": cast.tier1.address, "writtenOff": FACE, "paid": 0}
    ]
    assert event_args(result, v, "SlotSettled") == [{"slot": slot, "debtor": cast.hospital.address, "wasOverdue": True}]
    assert suite.token.balance_of(cast.tier1.address) == cash
    info = v.slot(slot)
    assert (info.status, info.redeemed, info.written_off, info.written_off_paid) == (SlotStatus.SETTLED, 0, FACE, 0)
    assert v.call("balanceOf(address)", cast.tier1.address) == 0


# ============================================================================== refusals


def test_a_voucher_cannot_be_written_off_before_its_maturity(suite, cast, holders, refused):
    pay(suite, cast.hospital, holders.slot, 400_000 * CNY)
    maturity = suite.voucher.slot(holders.slot).maturity
    refused(
        suite.voucher, cast.tier1, "writeOff", holders.root,
        error="SlotNotMatured", tokenId=holders.root, slot=holders.slot, maturity=maturity,
    )


def test_before_a_slot_is_marked_overdue_its_vouchers_are_neither_written_off_nor_paid_pro_rata(
    suite, cast, holders, travel, refused
):
    """Past maturity and past the grace period, 40 % funded, but nobody marked the slot
    overdue: no write-off, no partial payout."""
    v = suite.voucher
    pay(suite, cast.hospital, holders.slot, 400_000 * CNY)
    travel(v.overdue_from(holders.slot) - suite.conn.block_timestamp() + 1)
    refused(v, cast.tier2, "writeOff", holders.tier2, error="SlotNotOverdue", slot=holders.slot)
    refused(
        v, cast.tier2, "redeem", holders.tier2,
        error="SlotNotFullyFunded", tokenId=holders.tier2, slot=holders.slot, funded=400_000 * CNY, faceValue=FACE,
    )


def test_a_voucher_of_a_slot_funded_in_full_after_it_went_overdue_is_redeemed_not_written_off(
    suite, cast, holders, travel, refused
):
    v = suite.voucher
    go_overdue(suite, travel, cast.tier3, holders.slot)
    pay(suite, cast.hospital, holders.slot, FACE)
    refused(v, cast.tier3, "writeOff", holders.tier3, error="SlotFullyFunded", slot=holders.slot)
    cash = suite.token.balance_of(cast.tier3.address)
    v.redeem(cast.tier3, holders.tier3)
    assert suite.token.balance_of(cast.tier3.address) == cash + 100_000 * CNY


def test_only_the_holder_writes_off_its_voucher(suite, cast, holders, travel, refused):
    v = suite.voucher
    pay(suite, cast.hospital, holders.slot, 400_000 * CNY)
    go_overdue(suite, travel, cast.tier2, holders.slot)
    for someone in (cast.tier1, cast.operator, cast.hospital, cast.outsider):
        refused(
            v, someone, "writeOff", holders.tier2,
            error="NotHolder", tokenId=holders.tier2, account=someone.address,
        )


def test_a_frozen_voucher_cannot_be_written_off(suite, cast, holders, travel, refused):
    v = suite.voucher
    pay(suite, cast.hospital, holders.slot, 400_000 * CNY)
    go_overdue(suite, travel, cast.tier2, holders.slot)
    v.freeze(cast.operator, holders.tier2, REASON)
    refused(v, cast.tier2, "writeOff", holders.tier2, error="VoucherFrozen", tokenId=holders.tier2)
    refused(v, cast.tier2, "redeem", holders.tier2, error="VoucherFrozen", tokenId=holders.tier2)


def test_nothing_is_written_off_while_the_ledger_is_paused(suite, cast, holders, travel, refused):
    v = suite.voucher
    pay(suite, cast.hospital, holders.slot, 400_000 * CNY)
    go_overdue(suite, travel, cast.tier2, holders.slot)
    v.send(cast.operator, "pause")
    refused(v, cast.tier2, "writeOff", holders.tier2, error="SystemPaused")
    refused(v, cast.tier2, "redeem", holders.tier2, error="SystemPaused")


def test_an_overdue_voucher_with_nothing_funded_or_nothing_new_funded_is_not_paid(
    suite, cast, holders, travel, refused
):
    v = suite.voucher
    go_overdue(suite, travel, cast.tier1, holders.slot)
    refused(v, cast.tier1, "redeem", holders.root, error="NothingToPay", tokenId=holders.root)
    pay(suite, cast.hospital, holders.slot, 100_000 * CNY)
    v.redeem(cast.tier1, holders.root)
    assert v.paid_out_of(holders.root) == 60_000 * CNY
    refused(v, cast.tier1, "redeem", holders.root, error="NothingToPay", tokenId=holders.root)


# ======================================================================== payout keeper


def test_a_keepers_batch_pays_each_overdue_voucher_its_share_and_skips_the_one_already_paid(
    suite, cast, holders, travel, refused
):
    """Funded 500,000.00: tier 2 takes its half (150,000.00) alone; the bank's keeper batch then
    pays tier 1 300,000.00 and tier 3 50,000.00, and skips tier 2 (nothing new). After
    100,000.00 more, a second batch pays each another tenth of its value."""
    v, keeper, token = suite.voucher, suite.keeper, suite.token
    slot, root, t2, t3 = holders.slot, holders.root, holders.tier2, holders.tier3
    pay(suite, cast.hospital, slot, 500_000 * CNY)
    go_overdue(suite, travel, cast.bank, slot)
    v.redeem(cast.tier2, t2)
    before = cash_of(suite, cast.tier1, cast.tier2, cast.tier3)

    first = keeper.redeem_batch(cast.bank, [root, t2, t3])

    assert keeper.skipped(first) == [(t2, selector("NothingToPay(uint256)"))]
    assert [(e["tokenId"], e["amount"], e["value"]) for e in event_args(first, v, "VoucherPartlyPaid")] == [
        (root, 300_000 * CNY, 300_000 * CNY), (t3, 50_000 * CNY, 50_000 * CNY),
    ]
    after = cash_of(suite, cast.tier1, cast.tier2, cast.tier3)
    assert {a: after[a] - before[a] for a in after} == {
        cast.tier1.address: 300_000 * CNY, cast.tier2.address: 0, cast.tier3.address: 50_000 * CNY,
    }

    pay(suite, cast.hospital, slot, 100_000 * CNY)
    second = keeper.redeem_batch(cast.bank, [root, t2, t3])
    assert keeper.skipped(second) == []
    assert [(e["tokenId"], e["amount"], e["paidOut"]) for e in event_args(second, v, "VoucherPartlyPaid")] == [
        (root, 60_000 * CNY, 360_000 * CNY), (t2, 30_000 * CNY, 180_000 * CNY), (t3, 10_000 * CNY, 60_000 * CNY),
    ]
    assert v.slot(slot).held == 0
    assert token.balance_of(keeper.address) == 0  # the keeper holds no cash

    v.send(cast.operator, "pause")
    refused(keeper, cast.bank, "redeemBatch", [root, t2, t3], error="LedgerPaused")


# ============================================================================== metadata


def test_metadata_shows_what_an_overdue_slot_and_its_vouchers_were_paid_and_wrote_off(
    suite, cast, holders, travel
):
    """Funded 400,000.00; tier 1 is paid 240,000.00 (40 % of 600,000.00); tier 3 writes off
    its 100,000.00, paid 40,000.00. The slot shows 280,000.00 paid out, 60,000.00 written off,
    660,000.00 outstanding (tier 1's 360,000.00 and tier 2's 300,000.00)."""
    v = suite.voucher
    slot, root, t2, t3 = holders.slot, holders.root, holders.tier2, holders.tier3
    pay(suite, cast.hospital, slot, 400_000 * CNY)
    go_overdue(suite, travel, cast.tier1, slot)
    v.redeem(cast.tier1, root)
    v.write_off(cast.tier3, t3)

    properties = {p["name"]: p["value"] for p in decode_data_uri(v.call("slotURI", slot))["properties"]}
    assert properties["status"] == "Accepted"
    assert properties["face_value"] == FACE
    assert properties["funded"] == 400_000 * CNY
    assert properties["paid_out"] == 280_000 * CNY
    assert properties["written_off"] == 60_000 * CNY
    assert properties["outstanding"] == 660_000 * CNY

    tier1_meta = decode_data_uri(v.call("tokenURI", root))
    assert tier1_meta["balance"] == 360_000 * CNY
    assert tier1_meta["properties"]["paid_out"] == 240_000 * CNY
    assert tier1_meta["properties"]["outstanding"] == 360_000 * CNY
    assert tier1_meta["properties"]["holder"].lower() == cast.tier1.address.lower()
    tier2_meta = decode_data_uri(v.call("tokenURI", t2))
    assert tier2_meta["balance"] == 300_000 * CNY
    assert tier2_meta["properties"]["paid_out"] == 0
    assert tier2_meta["properties"]["outstanding"] == 300_000 * CNY
    assert v.voucher(t3).owner == ZERO_ADDRESS
