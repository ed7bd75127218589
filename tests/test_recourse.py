"""Discounting with recourse: when the hospital defaults, the bank puts the voucher back to the
supplier that sold it, and the supplier repays what the bank paid plus interest, less what the
voucher already paid the bank.

The story: the hospital issues its 1,000,000.00 voucher to tier 1, due in 90 days. Eighty days
before maturity the bank buys half of it (500,000.00) at 6 % a year with recourse, ACT/360:
the discount is ceil(500,000.00 x 6 % x 80 / 360) = 6,666.67, so tier 1 receives 493,333.33.
The hospital pays only 400,000.00 (40 %) and the slot is marked overdue after maturity and the
3-day grace period. The bank takes its pro-rata share at the ledger, 500,000.00 x 40 % =
200,000.00, and 95 days after the sale puts the voucher back: tier 1 owes the price plus
interest for 95 whole days, floor(493,333.33 x 6 % x 95 / 360) = 7,811.11, less the 200,000.00
the bank already received: 301,144.44.

Every figure is worked out here from the rule (``recourse_debt``), never read back from the
desk. Every refusal is mined as a failed transaction and checked for its error, its arguments,
and that cash, vouchers, sales and debts read the same before and after (``Refusals``).
The conftest's cast: tier 1 and tier 2 start with no cash, the bank with 2,000,000.00.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from scf.chain.devnet import next_block_at, set_next_timestamp
from scf.chain.sending import TxResult
from scf.contracts import token_id
from scf.contracts.base import ZERO_ADDRESS
from scf.typed_data import DiscountOffer
from tests.support import CNY, DAY, FACE, GRACE, YEAR_BASIS, Refusals, event_args, read_many

HALF = 500_000 * CNY
RATE_BPS = 600  # 6 % a year
SOLD_BEFORE_MATURITY = 80 * DAY
DISCOUNT_LINE = 2_000_000 * CNY  # the bank's allowance to the desk
HOSPITAL_PAID = 400_000 * CNY  # 40 % of the face value, then the hospital defaults
HOUR = 3_600

# The story's figures, by hand (the docstring's), checked against the formulas in the tests.
PRICE = 49_333_333  # 500,000.00 - ceil(6,666.666...)
BANK_SHARE = 20_000_000  # 500,000.00 x 400,000.00 / 1,000,000.00
INTEREST_95_DAYS = 781_111  # floor(49,333,333 x 600 x 95 / 3,600,000) = floor(781,111.105...)
OWED = 30_114_444  # 49,333,333 + 781,111 - 20,000,000


def act360_price(value: int, rate_bps: int, seconds_to_maturity: int) -> int:
    """The desk's price: value - ceil(value x rate x seconds / (360 days x 10 000))."""
    return value - -(-(value * rate_bps * seconds_to_maturity) // YEAR_BASIS)


def recourse_interest(price: int, rate_bps: int, seconds_since_sale: int) -> int:
    """price x rate x whole days since the sale / (360 x 10 000), rounded down."""
    return price * rate_bps * (seconds_since_sale // DAY) // 3_600_000


def recourse_debt(price: int, rate_bps: int, seconds_since_sale: int, paid_out: int) -> int:
    return price + recourse_interest(price, rate_bps, seconds_since_sale) - paid_out


def test_the_story_figures_follow_from_the_rules():
    assert act360_price(HALF, RATE_BPS, SOLD_BEFORE_MATURITY) == PRICE
    assert HALF * HOSPITAL_PAID // FACE == BANK_SHARE
    assert recourse_interest(PRICE, RATE_BPS, 95 * DAY + 3 * HOUR) == INTEREST_95_DAYS
    assert recourse_debt(PRICE, RATE_BPS, 95 * DAY + 3 * HOUR, BANK_SHARE) == OWED
    # Both roundings matter for these numbers.
    assert (HALF * RATE_BPS * SOLD_BEFORE_MATURITY) % YEAR_BASIS != 0
    assert (PRICE * RATE_BPS * 95) % 3_600_000 != 0


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Sold:
    slot: int
    root: int  # what tier 1 kept
    token: int  # the bank's voucher, bought with recourse
    price: int
    sold_at: int
    maturity: int
    offer: DiscountOffer
    result: TxResult


@pytest.fixture
def sell(suite, cast, accepted_voucher, w3) -> Callable[..., Sold]:
    """Tier 1 sells ``value`` of the hospital's voucher (due in ``days``) to the bank,
    ``before_maturity`` seconds before it falls due, under an offer with or without recourse."""

    def make(
        value: int = HALF,
        rate_bps: int = RATE_BPS,
        before_maturity: int = SOLD_BEFORE_MATURITY,
        *,
        days: int = 90,
        recourse: bool = True,
        nonce: int = 1,
    ) -> Sold:
        suite.token.approve(cast.bank, suite.desk.address, DISCOUNT_LINE)
        slot, root = accepted_voucher(FACE, days)
        maturity = suite.voucher.slot(slot).maturity
        offer = DiscountOffer(
            root, value, rate_bps, maturity, nonce, cast.bank.address, cast.tier1.address, recourse=recourse
        )
        signature = suite.desk.sign(cast.bank.key, offer)
        sold_at = maturity - before_maturity
        next_block_at(w3, sold_at)
        token, price, result = suite.desk.discount(cast.tier1, offer, signature)
        assert suite.conn.block_timestamp(result.block_number) == sold_at
        return Sold(slot, root, token, price, sold_at, maturity, offer, result)

    return make


@pytest.fixture
def default(suite, cast, w3) -> Callable[..., None]:
    """The hospital pays ``paid`` into the slot and no more; tier 2 reports the slot overdue
    once maturity and the grace period are over."""

    def make(sold: Sold, paid: int = HOSPITAL_PAID) -> None:
        if paid:
            pay(suite, cast, sold.slot, paid)
        set_next_timestamp(w3, sold.maturity + GRACE + 1)  # a block strictly after the grace period
        suite.voucher.mark_overdue(cast.tier2, sold.slot)
        assert sold.maturity + GRACE < suite.voucher.slot(sold.slot).overdue_at < sold.maturity + GRACE + DAY

    return make


def pay(suite, cast, slot: int, amount: int) -> None:
    suite.token.approve(cast.hospital, suite.voucher.address, amount)
    suite.voucher.fund(cast.hospital, slot, amount)


def put_back(suite, cast, w3, sold: Sold, since_sale: int) -> tuple[int, TxResult]:
    """The bank puts its voucher back exactly ``since_sale`` seconds after the sale (a block a
    second before it first, so the client's gas estimate sees the same whole days)."""
    set_next_timestamp(w3, sold.sold_at + since_sale - 1)
    next_block_at(w3, sold.sold_at + since_sale)
    owed, result = suite.desk.put_back(cast.bank, sold.token)
    assert suite.conn.block_timestamp(result.block_number) == sold.sold_at + since_sale
    return owed, result


def sale_of(suite, token: int) -> tuple:
    return tuple(suite.desk.call("saleOf", token))


NO_SALE = (ZERO_ADDRESS, 0, 0, ZERO_ADDRESS, 0, 0)


@pytest.fixture
def story_state(suite, cast) -> Callable[[], dict[str, bytes]]:
    """What a refusal could touch: everyone's cash and line at the desk, the first slots and
    their vouchers (holder, value, what they were paid), sales and debts, the bank's nonces."""
    cash, ledger, desk = suite.token.address, suite.voucher.address, suite.desk.address
    people = {name: person.address for name, person in vars(cast).items()} | {"ledger": ledger, "desk": desk}

    def read() -> dict[str, bytes]:
        calls: dict[str, tuple[str, str, tuple[Any, ...]]] = {
            "cash in circulation": (cash, "totalSupply()", ()),
            "ledger owes": (ledger, "settlementOwed()", ()),
        }
        for name, address in people.items():
            calls[f"{name}: cash"] = (cash, "balanceOf(address)", (address,))
            calls[f"{name}: line at the desk"] = (cash, "allowance(address,address)", (address, desk))
            calls[f"{name}: vouchers"] = (ledger, "balanceOf(address)", (address,))
        for slot in (1, 2):
            calls[f"slot {slot}"] = (ledger, "slotInfo(uint256)", (slot,))
            for serial in range(1, 5):
                token = token_id(slot, serial)
                calls[f"voucher {slot}.{serial}"] = (ledger, "tokenInfo(uint256)", (token,))
                calls[f"voucher {slot}.{serial} paid out"] = (ledger, "paidOutOf(uint256)", (token,))
                calls[f"voucher {slot}.{serial} sale"] = (desk, "saleOf(uint256)", (token,))
                calls[f"voucher {slot}.{serial} debt"] = (desk, "recourseDebtOf(uint256)", (token,))
        for nonce in range(1, 4):
            calls[f"bank's nonce {nonce}"] = (desk, "isNonceUsed(address,uint256)", (people["bank"], nonce))
        return read_many(suite.conn.w3, calls)

    return read


@pytest.fixture
def refused(suite, story_state) -> Refusals:
    return Refusals(suite.conn.w3, story_state)


# ------------------------------------------------------------------------ the sale


def test_a_sale_with_recourse_records_seller_date_rate_financier_value_and_price(suite, cast, sell):
    cash_before = suite.token.balance_of(cast.tier1.address)
    sold = sell()

    assert sold.price == PRICE
    assert sold.token == token_id(sold.slot, 2)
    assert suite.voucher.owner_of(sold.token) == cast.bank.address
    assert suite.voucher.value_of(sold.token) == HALF
    assert suite.token.balance_of(cast.tier1.address) == cash_before + PRICE
    assert event_args(sold.result, suite.desk, "SoldWithRecourse") == [
        {
            "financierTokenId": sold.token,
            "seller": cast.tier1.address,
            "financier": cast.bank.address,
            "price": PRICE,
            "rateBps": RATE_BPS,
        }
    ]
    # Sale(seller, soldAt, rateBps, financier, value, price)
    assert sale_of(suite, sold.token) == (cast.tier1.address, sold.sold_at, RATE_BPS, cast.bank.address, HALF, PRICE)
    assert sale_of(suite, sold.root) == NO_SALE  # what tier 1 kept was not sold


def test_a_sale_without_recourse_records_nothing(suite, sell):
    sold = sell(recourse=False)
    assert sold.price == PRICE
    assert event_args(sold.result, suite.desk, "SoldWithRecourse") == []
    assert sale_of(suite, sold.token) == NO_SALE


# ------------------------------------------------------------------ the put-back


def test_the_hospital_pays_40_percent_the_bank_takes_its_share_puts_back_and_tier1_repays_at_once(
    suite, cast, sell, default, w3, refused
):
    supply = suite.token.total_supply()
    sold = sell()
    default(sold)
    bank_cash = suite.token.balance_of(cast.bank.address)

    # The bank takes its pro-rata share at the ledger; its voucher stays alive for the rest.
    result = suite.voucher.redeem(cast.bank, sold.token)
    assert event_args(result, suite.voucher, "VoucherPartlyPaid") == [
        {
            "tokenId": sold.token,
            "slot": sold.slot,
            "holder": cast.bank.address,
            "amount": BANK_SHARE,
            "paidOut": BANK_SHARE,
            "value": HALF - BANK_SHARE,
        }
    ]
    assert suite.token.balance_of(cast.bank.address) == bank_cash + BANK_SHARE

    # Tier 1 allows the desk what it will owe and has it (it received 493,333.33).
    suite.token.approve(cast.tier1, suite.desk.address, OWED)
    tier1_cash = suite.token.balance_of(cast.tier1.address)
    assert tier1_cash == PRICE
    since_sale = 95 * DAY + 3 * HOUR
    owed, result = put_back(suite, cast, w3, sold, since_sale)

    assert owed == OWED == recourse_debt(PRICE, RATE_BPS, since_sale, BANK_SHARE)
    assert event_args(result, suite.desk, "RecourseExercised") == [
        {
            "tokenId": sold.token,
            "financier": cast.bank.address,
            "seller": cast.tier1.address,
            "owed": OWED,
            "interest": INTEREST_95_DAYS,
            "receivedMeanwhile": BANK_SHARE,
        }
    ]
    assert event_args(result, suite.desk, "RecoursePaid") == [
        {"tokenId": sold.token, "payer": cast.tier1.address, "amount": OWED, "remaining": 0}
    ]
    # The voucher is tier 1's again, with what it still claims and what it was paid.
    assert suite.voucher.owner_of(sold.token) == cast.tier1.address
    assert suite.voucher.value_of(sold.token) == HALF - BANK_SHARE
    assert suite.voucher.paid_out_of(sold.token) == BANK_SHARE
    assert event_args(result, suite.voucher, "Transfer") == [
        {"from": cast.bank.address, "to": cast.tier1.address, "tokenId": sold.token}
    ]
    # Settled at once: no debt on record, no sale left to exercise.
    assert not suite.desk.recourse_debt_of(sold.token).exists
    assert tuple(suite.desk.call("recourseDebtOf", sold.token)) == (ZERO_ADDRESS, ZERO_ADDRESS, 0, 0)
    assert sale_of(suite, sold.token) == NO_SALE
    assert suite.token.balance_of(cast.tier1.address) == PRICE - OWED
    assert suite.token.balance_of(cast.bank.address) == bank_cash + BANK_SHARE + OWED
    assert suite.token.allowance(cast.tier1.address, suite.desk.address) == 0
    assert suite.token.balance_of(suite.desk.address) == 0
    assert suite.token.total_supply() == supply

    # Once put back, the bank has no recourse left on it.
    refused(
        suite.desk, cast.bank, "putBack", sold.token, error="NoRecourse", tokenId=sold.token, caller=cast.bank.address
    )


@pytest.mark.parametrize("short_of", ["cash", "allowance"])
def test_a_seller_short_of_cash_or_allowance_pays_what_it_can_and_the_rest_stays_on_record_until_paid(
    suite, cast, sell, default, w3, refused, short_of
):
    """The desk takes the least of the debt, the seller's cash and its allowance to the desk;
    the rest is shown by recourseDebtOf until tier 1 (or tier 2 on its behalf) pays it."""
    supply = suite.token.total_supply()
    sold = sell()
    default(sold)
    suite.voucher.redeem(cast.tier2, sold.token)  # anyone triggers the bank's payout
    if short_of == "cash":
        parked = 40_000_000  # tier 1 parks 400,000.00 with tier 2 and keeps 93,333.33
        suite.token.transfer(cast.tier1, cast.tier2.address, parked)
        suite.token.approve(cast.tier1, suite.desk.address, DISCOUNT_LINE)
        first = PRICE - parked
    else:
        first = 10_000_000  # it allows the desk only 100,000.00
        suite.token.approve(cast.tier1, suite.desk.address, first)
    assert first < OWED
    bank_cash = suite.token.balance_of(cast.bank.address)
    tier1_cash = suite.token.balance_of(cast.tier1.address)

    owed, result = put_back(suite, cast, w3, sold, 95 * DAY + 3 * HOUR)

    assert owed == OWED
    remaining = OWED - first
    assert event_args(result, suite.desk, "RecoursePaid") == [
        {"tokenId": sold.token, "payer": cast.tier1.address, "amount": first, "remaining": remaining}
    ]
    debt = suite.desk.recourse_debt_of(sold.token)
    assert (debt.seller, debt.financier, debt.owed, debt.paid) == (cast.tier1.address, cast.bank.address, OWED, first)
    assert debt.remaining == remaining
    assert suite.voucher.owner_of(sold.token) == cast.tier1.address
    assert suite.token.balance_of(cast.tier1.address) == tier1_cash - first
    assert suite.token.balance_of(cast.bank.address) == bank_cash + first

    # Nothing more can be collected now: the seller has no cash it allows the desk.
    refused(
        suite.desk, cast.outsider, "collectRecourse", sold.token,
        error="RecoursePaymentTooLarge", tokenId=sold.token, remaining=remaining, amount=0,
    )
    # Nobody pays more than is owed, or nothing.
    refused(
        suite.desk, cast.tier2, "payRecourse", sold.token, remaining + 1,
        error="RecoursePaymentTooLarge", tokenId=sold.token, remaining=remaining, amount=remaining + 1,
    )
    refused(suite.desk, cast.tier2, "payRecourse", sold.token, 0, error="ZeroAmount")

    # Tier 2 pays 50,000.00 on tier 1's behalf, from its own cash.
    if short_of == "allowance":
        parked = 20_000_000  # tier 2's cash is 200,000.00 from tier 1
        suite.token.transfer(cast.tier1, cast.tier2.address, parked)
    suite.token.approve(cast.tier2, suite.desk.address, 5_000_000)
    result = suite.desk.pay_recourse(cast.tier2, sold.token, 5_000_000)
    remaining -= 5_000_000
    assert event_args(result, suite.desk, "RecoursePaid") == [
        {"tokenId": sold.token, "payer": cast.tier2.address, "amount": 5_000_000, "remaining": remaining}
    ]
    assert suite.desk.recourse_debt_of(sold.token).paid == first + 5_000_000

    # Tier 2 hands the parked cash back; tier 1 allows the desk enough; anyone collects the rest.
    suite.token.transfer(cast.tier2, cast.tier1.address, parked - 5_000_000)
    suite.token.approve(cast.tier1, suite.desk.address, remaining)
    result = suite.desk.collect_recourse(cast.outsider, sold.token)
    assert event_args(result, suite.desk, "RecoursePaid") == [
        {"tokenId": sold.token, "payer": cast.tier1.address, "amount": remaining, "remaining": 0}
    ]
    assert not suite.desk.recourse_debt_of(sold.token).exists
    assert suite.token.balance_of(cast.bank.address) == bank_cash + OWED  # in three payments
    assert suite.token.total_supply() == supply

    # Settled: no debt to pay or collect any more.
    refused(suite.desk, cast.tier1, "payRecourse", sold.token, 1, error="NoRecourseDebt", tokenId=sold.token)
    refused(suite.desk, cast.outsider, "collectRecourse", sold.token, error="NoRecourseDebt", tokenId=sold.token)


def test_the_seller_holds_the_put_back_voucher_and_receives_its_later_payouts(suite, cast, sell, default, w3):
    supply = suite.token.total_supply()
    sold = sell()
    default(sold)
    suite.voucher.redeem(cast.bank, sold.token)
    suite.token.approve(cast.tier1, suite.desk.address, OWED)
    put_back(suite, cast, w3, sold, 95 * DAY + 3 * HOUR)
    bank_cash = suite.token.balance_of(cast.bank.address)
    tier1_cash = suite.token.balance_of(cast.tier1.address)

    # The hospital pays another 200,000.00 (60 % in all): the voucher's nominal 500,000.00 is
    # due 300,000.00, of which the bank received 200,000.00; tier 1 now receives 100,000.00.
    pay(suite, cast, sold.slot, 200_000 * CNY)
    result = suite.voucher.redeem(cast.tier2, sold.token)
    assert event_args(result, suite.voucher, "VoucherPartlyPaid") == [
        {
            "tokenId": sold.token,
            "slot": sold.slot,
            "holder": cast.tier1.address,
            "amount": 10_000_000,
            "paidOut": 30_000_000,
            "value": 20_000_000,
        }
    ]
    assert suite.token.balance_of(cast.tier1.address) == tier1_cash + 10_000_000

    # The hospital pays the rest: the voucher's last 200,000.00 goes to tier 1 and it is burned.
    pay(suite, cast, sold.slot, 400_000 * CNY)
    result = suite.voucher.redeem(cast.tier2, sold.token)
    assert event_args(result, suite.voucher, "VoucherRedeemed") == [
        {"tokenId": sold.token, "slot": sold.slot, "holder": cast.tier1.address, "value": 20_000_000}
    ]
    assert suite.token.balance_of(cast.tier1.address) == tier1_cash + 30_000_000
    assert suite.token.balance_of(cast.bank.address) == bank_cash  # nothing more for the bank
    assert suite.token.total_supply() == supply


# --------------------------------------------------------------------- refusals


def test_a_voucher_bought_without_recourse_cannot_be_put_back(suite, cast, sell, default, refused):
    sold = sell(recourse=False)
    default(sold)
    refused(
        suite.desk, cast.bank, "putBack", sold.token,
        error="NoRecourse", tokenId=sold.token, caller=cast.bank.address,
    )


@pytest.mark.parametrize("caller", ["tier1", "tier2", "hospital", "auditor", "outsider", "operator"])
def test_only_the_financier_that_bought_with_recourse_puts_the_voucher_back(
    suite, cast, sell, default, refused, caller
):
    sold = sell()
    default(sold)
    who = getattr(cast, caller)
    refused(suite.desk, who, "putBack", sold.token, error="NoRecourse", tokenId=sold.token, caller=who.address)


def test_a_voucher_cannot_be_put_back_before_its_slot_is_marked_overdue(suite, cast, sell, w3, refused):
    sold = sell()
    # Before maturity.
    refusal = refused(suite.desk, cast.bank, "putBack", sold.token, error="SlotNotOverdue", slot=sold.slot)
    assert refusal.contract == "ReceivableVoucher"  # the ledger's rule, met through the desk
    # After maturity and the grace period, unfunded, but nobody has marked it overdue yet.
    next_block_at(w3, sold.maturity + GRACE + DAY)
    refusal = refused(suite.desk, cast.bank, "putBack", sold.token, error="SlotNotOverdue", slot=sold.slot)
    assert refusal.contract == "ReceivableVoucher"
    assert sale_of(suite, sold.token)[0] == cast.tier1.address  # the recourse is still there


def test_a_voucher_the_bank_split_since_the_sale_cannot_be_put_back(suite, cast, sell, default, refused):
    sold = sell()
    suite.voucher.split(cast.bank, sold.token, [10_000_000])  # 100,000.00 off, before maturity
    default(sold)
    suite.voucher.redeem(cast.bank, sold.token)  # 400,000.00 x 40 %: value + paid out = 400,000.00
    refused(
        suite.desk, cast.bank, "putBack", sold.token,
        error="VoucherChangedSinceSale", tokenId=sold.token, sold=HALF, now_=40_000_000,
    )


def test_value_merged_into_the_sold_voucher_goes_back_with_it_and_the_debt_stays_as_sold(
    suite, cast, sell, default, w3
):
    """Anyone may merge value into a voucher (ERC-3525 asks no consent): one fen merged in by
    the seller must not void the recourse, so the whole voucher goes back and the debt is the
    sale's (price + interest - what it paid the bank), whatever was added."""
    sold = sell()
    suite.voucher.merge(cast.tier1, sold.root, sold.token, 1)  # tier 1 kept the rest of the root
    default(sold)
    since_sale = SOLD_BEFORE_MATURITY + GRACE + 2 * HOUR
    owed, _ = put_back(suite, cast, w3, sold, since_sale)
    assert owed == recourse_debt(PRICE, RATE_BPS, since_sale, 0)
    assert suite.voucher.owner_of(sold.token) == cast.tier1.address
    assert suite.voucher.value_of(sold.token) == HALF + 1


@pytest.fixture
def distressed(sell, default) -> Callable[[int], Sold]:
    """The bank bought 500,000.00 at 100 % a year 144 days before maturity: the discount is
    ceil(500,000.00 x 144 / 360) = 200,000.00, the price 300,000.00. Put back 148 days after
    the sale it would be owed 300,000.00 + floor(300,000.00 x 148 / 360) = 423,333.33 less what
    the voucher paid it: its share of what the hospital paid, 500,000.00 x paid / 1,000,000.00."""

    def make(hospital_paid: int) -> Sold:
        sold = sell(HALF, 10_000, 144 * DAY, days=150)
        assert sold.price == 30_000_000 == act360_price(HALF, 10_000, 144 * DAY)
        default(sold, hospital_paid)
        return sold

    return make


def test_when_the_voucher_already_paid_price_and_interest_nothing_is_owed(suite, cast, distressed, w3, refused):
    sold = distressed(84_666_666)  # the bank's share: exactly 423,333.33
    suite.voucher.redeem(cast.bank, sold.token)
    since_sale = 148 * DAY + HOUR
    assert recourse_debt(30_000_000, 10_000, since_sale, 42_333_333) == 0
    next_block_at(w3, sold.sold_at + since_sale)
    refused(suite.desk, cast.bank, "putBack", sold.token, error="NothingOwed", tokenId=sold.token)


def test_one_fen_short_of_price_and_interest_the_seller_owes_one_fen(suite, cast, distressed, w3):
    sold = distressed(84_666_664)  # the bank's share: 423,333.32
    suite.voucher.redeem(cast.bank, sold.token)
    since_sale = 148 * DAY + HOUR
    assert recourse_debt(30_000_000, 10_000, since_sale, 42_333_332) == 1
    owed, result = put_back(suite, cast, w3, sold, since_sale)  # tier 1 allows the desk nothing
    assert owed == 1
    assert event_args(result, suite.desk, "RecourseExercised")[0]["interest"] == 12_333_333
    assert event_args(result, suite.desk, "RecoursePaid") == []
    assert suite.desk.recourse_debt_of(sold.token).remaining == 1
    assert suite.voucher.owner_of(sold.token) == cast.tier1.address


def test_no_debt_is_paid_or_collected_on_a_voucher_never_put_back(suite, cast, sell, default, refused):
    sold = sell()
    default(sold)
    suite.token.approve(cast.tier1, suite.desk.address, OWED)
    for token in (sold.token, sold.root):
        refused(suite.desk, cast.tier1, "payRecourse", token, 1, error="NoRecourseDebt", tokenId=token)
        refused(suite.desk, cast.outsider, "collectRecourse", token, error="NoRecourseDebt", tokenId=token)


def test_the_recourse_flag_is_part_of_what_the_bank_signs(suite, cast, accepted_voucher, now, refused):
    """Tier 1 cannot add recourse to an offer the bank signed without it, nor strip it from an
    offer signed with it: either way the signature is not the bank's over that offer."""
    suite.token.approve(cast.bank, suite.desk.address, DISCOUNT_LINE)
    _, root = accepted_voucher(FACE, 90)
    for signed_with in (False, True):
        signed = DiscountOffer(
            root, HALF, RATE_BPS, now + DAY, 1, cast.bank.address, cast.tier1.address, recourse=signed_with
        )
        replayed = dataclasses.replace(signed, recourse=not signed_with)
        refused(
            suite.desk, cast.tier1, "discount", replayed.as_tuple(), suite.desk.sign(cast.bank.key, signed),
            error="InvalidOfferSignature", financier=cast.bank.address,
        )
