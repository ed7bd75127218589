"""The full life of one issuance: a hospital owes its tier-1 supplier 1,000,000.00; the
voucher travels up to tier 3, part of it is discounted at the bank, and at maturity every
holder is paid exactly its value. Balances are asserted at every step."""

from __future__ import annotations

from math import ceil

from eth_utils import keccak

from scf.chain.devnet import set_next_timestamp
from scf.contracts import SlotStatus, label, token_id
from scf.typed_data import DiscountOffer
from tests.support import BANK_OPENING_CASH, CNY, DAY, FACE, HOSPITAL_OPENING_CASH

TO_TIER2 = 400_000 * CNY
TO_TIER3 = 150_000 * CNY
DISCOUNTED = 300_000 * CNY
RATE_BPS = 450  # 4.50 % a year


def test_a_voucher_travels_three_tiers_is_discounted_and_every_holder_is_paid_at_maturity(suite, cast, invoice, now):
    v, token, desk = suite.voucher, suite.token, suite.desk
    gas: dict[str, int] = {}

    # Information flow: the invoice, anchored by tier 1 and confirmed by the hospital.
    record = invoice(creditor=cast.tier1, debtor=cast.hospital, amount=FACE)
    assert suite.trade.record(record).available == FACE

    # Issue and accept: the root voucher holds the whole face value.
    maturity = now + 90 * DAY
    slot, tx = v.issue(cast.hospital, cast.tier1.address, FACE, maturity, record)
    gas["issue"] = tx.gas_used
    assert v.outstanding_of(cast.hospital.address) == FACE
    assert suite.trade.record(record).available == 0
    root, tx = v.accept(cast.tier1, slot)
    gas["accept"] = tx.gas_used
    assert root == token_id(slot, 1) and label(root) == f"{slot}.1"
    assert (v.owner_of(root), v.value_of(root)) == (cast.tier1.address, FACE)

    # Tier 1 pays tier 2 with 400,000.00 of it; tier 2 pays tier 3 with 150,000.00.
    t2, tx = v.split_transfer(cast.tier1, root, cast.tier2.address, TO_TIER2)
    gas["split_transfer"] = tx.gas_used
    t3, _ = v.split_transfer(cast.tier2, t2, cast.tier3.address, TO_TIER3)
    assert v.value_of(root) == FACE - TO_TIER2
    assert v.value_of(t2) == TO_TIER2 - TO_TIER3
    assert v.value_of(t3) == TO_TIER3
    assert v.call("parentOf", t3) == t2 and v.call("parentOf", t2) == root and v.call("parentOf", root) == 0

    # Tier 1 discounts 300,000.00 at the bank at 4.50 % with exactly 60 days to go.
    token.approve(cast.bank, desk.address, DISCOUNTED)
    discount_time = maturity - 60 * DAY
    offer = DiscountOffer(root, DISCOUNTED, RATE_BPS, discount_time + DAY, 1, cast.bank.address, cast.tier1.address)
    signature = desk.sign(cast.bank.key, offer)
    set_next_timestamp(suite.conn.w3, discount_time)  # anvil mines the discount at this same second
    bank_token, price, tx = desk.discount(cast.tier1, offer, signature)
    gas["discount"] = tx.gas_used
    expected_price = DISCOUNTED - ceil(DISCOUNTED * RATE_BPS * 60 * DAY / (360 * DAY * 10_000))
    assert price == expected_price == 29_775_000  # 297,750.00: 2,250.00 of interest for 60 days
    assert token.balance_of(cast.tier1.address) == price
    assert token.balance_of(cast.bank.address) == BANK_OPENING_CASH - price
    assert (v.owner_of(bank_token), v.value_of(bank_token)) == (cast.bank.address, DISCOUNTED)
    assert v.value_of(root) == FACE - TO_TIER2 - DISCOUNTED

    # Tier 3 merges its voucher back into nothing new: merge is measured on a fresh split.
    t3b, _ = v.split_transfer(cast.tier2, t2, cast.tier3.address, 50_000 * CNY)
    tx = v.merge(cast.tier3, t3b, t3, 50_000 * CNY)
    gas["merge"] = tx.gas_used
    assert v.value_of(t3) == TO_TIER3 + 50_000 * CNY and v.value_of(t3b) == 0

    # A whole transfer: tier 2 hands its remaining voucher to tier 3.
    tx = v.transfer_whole(cast.tier2, cast.tier2.address, cast.tier3.address, t2)
    gas["transfer_whole"] = tx.gas_used
    assert v.owner_of(t2) == cast.tier3.address

    # Funding: half early, half on the due date.
    token.approve(cast.hospital, v.address, FACE)
    tx = v.fund(cast.hospital, slot, FACE // 2)
    gas["fund"] = tx.gas_used
    set_next_timestamp(suite.conn.w3, maturity)
    v.fund(cast.hospital, slot, FACE // 2)
    assert token.balance_of(v.address) == FACE
    assert token.balance_of(cast.hospital.address) == HOSPITAL_OPENING_CASH - FACE

    # Redemption: anyone may trigger it; each holder is paid its value; the slot settles.
    holders = {
        root: (cast.tier1, FACE - TO_TIER2 - DISCOUNTED),
        bank_token: (cast.bank, DISCOUNTED),
        t2: (cast.tier3, TO_TIER2 - TO_TIER3 - 50_000 * CNY),
        t3: (cast.tier3, TO_TIER3 + 50_000 * CNY),
        t3b: (cast.tier3, 0),
    }
    assert sum(value for _, value in holders.values()) == FACE
    tier1_cash_before = token.balance_of(cast.tier1.address)
    tx = v.redeem(cast.auditor, root)
    gas["redeem_single"] = tx.gas_used
    assert token.balance_of(cast.tier1.address) == tier1_cash_before + holders[root][1]
    tx = suite.keeper.redeem_batch(cast.operator, [bank_token, t2, t3, t3b])
    gas["redeem_batch_of_4"] = tx.gas_used

    assert token.balance_of(cast.tier1.address) == price + (FACE - TO_TIER2 - DISCOUNTED)
    assert token.balance_of(cast.bank.address) == BANK_OPENING_CASH - price + DISCOUNTED
    assert token.balance_of(cast.tier3.address) == TO_TIER2
    assert token.balance_of(cast.tier2.address) == 0
    assert token.balance_of(v.address) == 0
    info = v.slot(slot)
    assert info.status == SlotStatus.SETTLED and info.redeemed == FACE
    assert v.outstanding_of(cast.hospital.address) == 0
    for t in holders:
        assert not v.voucher(t).exists

    print("\ngas per operation (lifecycle):", gas)
    # The targets the contracts are built to (README, Benchmarks), not figures of an earlier run.
    assert gas["split_transfer"] <= 100_000, "a split-transfer to a new holder stays under its 100,000 target"
    assert gas["issue"] + gas["accept"] <= 250_000
    assert gas["discount"] <= 200_000


def test_cancelling_an_unaccepted_issuance_releases_the_credit_line_and_the_invoice(suite, cast, invoice, now):
    record = invoice(amount=200_000 * CNY)
    slot, _ = suite.voucher.issue(cast.hospital, cast.tier1.address, 200_000 * CNY, now + 30 * DAY, record)
    assert suite.voucher.outstanding_of(cast.hospital.address) == 200_000 * CNY
    suite.voucher.cancel(cast.hospital, slot)
    assert suite.voucher.slot(slot).status == SlotStatus.CANCELLED
    assert suite.voucher.outstanding_of(cast.hospital.address) == 0
    assert suite.trade.record(record).available == 200_000 * CNY


def test_the_freeze_reason_is_kept_on_chain_until_the_freeze_is_lifted(suite, cast, accepted_voucher):
    _, root = accepted_voucher()
    reason = keccak(text="court order 2026-123")
    suite.voucher.freeze(cast.operator, root, reason)
    assert suite.voucher.voucher(root).frozen
    assert suite.voucher.call("freezeReasonOf", root) == reason
    suite.voucher.unfreeze(cast.operator, root)
    assert not suite.voucher.voucher(root).frozen
    assert suite.voucher.call("freezeReasonOf", root) == b"\0" * 32
