"""Discounting at the bank: a financier's EIP-712 offer, one transaction, delivery versus
payment, priced ACT/360 with the discount rounded up.

Tier 1 holds the hospital's 1,000,000.00 voucher, due in 90 days. The bank signs offers with
its own key; tier 1 submits them. Every rejected offer is checked for its own error, the
numbers in it, and that neither cash nor vouchers nor offer nonces moved.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_keys import keys
from eth_utils import keccak

from scf.chain.devnet import next_block_at
from scf.contracts import token_id
from scf.typed_data import DiscountOffer, offer_digest, sign_offer, type_hash
from tests.support import CNY, DAY, FACE, YEAR_BASIS, Refusals, read_many

HALF = 500_000 * CNY
RATE_BPS = 317  # 3.17 % a year
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
DISCOUNT_LINE = 2_000_000 * CNY


def act360_price(value: int, rate_bps: int, seconds_to_maturity: int) -> int:
    """value - ceil(value * rate * seconds / (360 days * 10 000)), in integers."""
    discount = -(-(value * rate_bps * seconds_to_maturity) // YEAR_BASIS)
    return value - discount


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def ledger(suite, cast) -> Callable[[], dict[str, bytes]]:
    """Cash, desk lines, the first slots' vouchers and the bank's first nonces, read raw."""
    v, cash, desk = suite.voucher.address, suite.token.address, suite.desk.address
    people = {name: account.address for name, account in vars(cast).items()} | {"desk": desk, "ledger": v}

    def read() -> dict[str, bytes]:
        calls: dict[str, tuple[str, str, tuple[Any, ...]]] = {"cash in circulation": (cash, "totalSupply()", ())}
        for name, address in people.items():
            calls[f"{name}: cash"] = (cash, "balanceOf(address)", (address,))
            calls[f"{name}: line at the desk"] = (cash, "allowance(address,address)", (address, desk))
            calls[f"{name}: vouchers"] = (v, "balanceOf(address)", (address,))
            calls[f"{name}: member"] = (suite.registry.address, "memberOf(address)", (address,))
            for nonce in range(8):
                calls[f"{name}: nonce {nonce} used"] = (desk, "isNonceUsed(address,uint256)", (address, nonce))
        for slot in (1, 2):
            calls[f"slot {slot}"] = (v, "slotInfo(uint256)", (slot,))
            for serial in range(1, 5):
                calls[f"voucher {slot}.{serial}"] = (v, "tokenInfo(uint256)", (token_id(slot, serial),))
        return read_many(suite.conn.w3, calls)

    return read


@pytest.fixture
def refused(suite, ledger) -> Refusals:
    """``refused(client, signer, "fn", *args, error="ErrorName", arg=value, ...)``: mined as a
    failed transaction with exactly that error and exactly those arguments (a callable is a
    predicate), and nothing changed (``tests.support.Refusals``)."""
    return Refusals(suite.conn.w3, ledger)


@pytest.fixture
def voucher(suite, cast, accepted_voucher) -> tuple[int, int]:
    """Tier 1's 1,000,000.00 voucher due in 90 days, and the bank's discounting line at the
    desk (its settlement-token allowance): (slot, root)."""
    suite.token.approve(cast.bank, suite.desk.address, DISCOUNT_LINE)
    return accepted_voucher(FACE, 90)


@pytest.fixture
def make_offer(cast, now) -> Callable[..., DiscountOffer]:
    def make(
        token: int,
        value: int = HALF,
        rate_bps: int = RATE_BPS,
        *,
        nonce: int = 1,
        deadline: int | None = None,
        financier: str | None = None,
        seller: str | None = None,
    ) -> DiscountOffer:
        return DiscountOffer(
            token_id=token,
            value=value,
            rate_bps=rate_bps,
            deadline=now + DAY if deadline is None else deadline,
            nonce=nonce,
            financier=financier or cast.bank.address,
            seller=seller or cast.tier1.address,
        )

    return make


def possible_prices(suite, slot: int, value: int, rate_bps: int) -> set[int]:
    """The price of a call simulated now: the node prices it at the latest block's timestamp
    or a little after (the pending block), so one of these."""
    maturity, latest = suite.voucher.slot(slot).maturity, suite.conn.block_timestamp()
    return {act360_price(value, rate_bps, maturity - t) for t in range(latest, latest + 61)}


# ------------------------------------------------------------------ the happy paths


def test_a_tier1_supplier_discounts_half_its_voucher_at_the_bank_at_the_act360_price(
    suite, cast, voucher, make_offer, w3
):
    slot, root = voucher
    v, cash, desk = suite.voucher, suite.token, suite.desk
    maturity = v.slot(slot).maturity
    seconds_to_maturity = 89 * DAY + 12_345
    # 500,000.00 at 3.17 % for 89 days 3 h 25 min 45 s, ACT/360, discount rounded up:
    numerator = HALF * RATE_BPS * seconds_to_maturity
    assert numerator % YEAR_BASIS != 0  # the rounding matters for these numbers
    expected_price = HALF - (numerator // YEAR_BASIS + 1)
    assert expected_price == act360_price(HALF, RATE_BPS, seconds_to_maturity) == 49_607_523
    offer = make_offer(root, HALF, RATE_BPS, nonce=1)
    signature = desk.sign(cast.bank.key, offer)
    tier1_cash, bank_cash = cash.balance_of(cast.tier1.address), cash.balance_of(cast.bank.address)

    next_block_at(w3, maturity - seconds_to_maturity)
    bank_token, price, result = desk.discount(cast.tier1, offer, signature)

    assert suite.conn.block_timestamp(result.block_number) == maturity - seconds_to_maturity
    assert price == expected_price
    assert desk.call("quote", root, HALF, RATE_BPS, block=result.block_number) == [price, seconds_to_maturity]
    assert cash.balance_of(cast.tier1.address) == tier1_cash + expected_price
    assert cash.balance_of(cast.bank.address) == bank_cash - expected_price
    assert cash.allowance(cast.bank.address, desk.address) == DISCOUNT_LINE - expected_price
    assert cash.balance_of(desk.address) == 0
    assert bank_token == token_id(slot, 2)
    assert v.voucher(root).owner == cast.tier1.address and v.voucher(root).value == HALF
    assert v.voucher(bank_token).owner == cast.bank.address and v.voucher(bank_token).value == HALF
    assert v.call("parentOf", bank_token) == root
    assert desk.is_nonce_used(cast.bank.address, 1)
    (event,) = result.events(desk.contract, "OfferExecuted")
    assert dict(event["args"]) == {
        "offerHash": offer_digest(offer, suite.conn.chain_id, desk.address),
        "financier": cast.bank.address,
        "holder": cast.tier1.address,
        "fromTokenId": root,
        "financierTokenId": bank_token,
        "value": HALF,
        "rateBps": RATE_BPS,
        "price": expected_price,
    }
    print(f"\ngas: discount (split) {result.gas_used}")


def test_discounting_the_whole_voucher_moves_the_token_itself(suite, cast, voucher, make_offer):
    slot, root = voucher
    v, cash, desk = suite.voucher, suite.token, suite.desk
    offer = make_offer(root, FACE, RATE_BPS, nonce=2)
    tier1_cash = cash.balance_of(cast.tier1.address)

    bank_token, price, result = desk.discount(cast.tier1, offer, desk.sign(cast.bank.key, offer))

    seconds = v.slot(slot).maturity - suite.conn.block_timestamp(result.block_number)
    assert price == act360_price(FACE, RATE_BPS, seconds)
    assert bank_token == root
    assert v.owner_of(root) == cast.bank.address and v.value_of(root) == FACE
    assert v.slot(slot).last_serial == 1  # nothing was split
    assert v.call("balanceOf(address)", cast.tier1.address) == 0
    assert cash.balance_of(cast.tier1.address) == tier1_cash + price
    print(f"\ngas: discount (whole) {result.gas_used}")


def test_an_offer_is_still_good_in_the_very_second_of_its_deadline(suite, cast, voucher, make_offer, now, w3):
    _, root = voucher
    deadline = now + 600
    offer = make_offer(root, deadline=deadline)
    next_block_at(w3, deadline)
    _, _, result = suite.desk.discount(cast.tier1, offer, suite.desk.sign(cast.bank.key, offer))
    assert suite.conn.block_timestamp(result.block_number) == deadline


# --------------------------------------------------------------------- typed data


def test_the_desk_hashes_offers_exactly_as_the_shared_typed_data_definition(suite, cast, voucher, make_offer):
    _, root = voucher
    desk = suite.desk
    assert desk.call("OFFER_TYPEHASH") == type_hash("DiscountOffer")
    offer = make_offer(root, 123_456_78, 999, nonce=2**200)
    assert desk.call("hashOffer", offer.as_tuple()) == offer_digest(offer, suite.conn.chain_id, desk.address)
    domain_type = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    expected_domain = keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                domain_type,
                keccak(text="ReceivableVoucher DiscountDesk"),
                keccak(text="1"),
                suite.conn.chain_id,
                desk.address,
            ],
        )
    )
    assert desk.call("domainSeparator") == expected_domain


# ------------------------------------------------------------------ rejected offers


def test_a_used_offer_cannot_be_replayed(suite, cast, voucher, make_offer, refused):
    _, root = voucher
    offer = make_offer(root, 250_000 * CNY, nonce=3)
    signature = suite.desk.sign(cast.bank.key, offer)
    suite.desk.discount(cast.tier1, offer, signature)
    refused(
        suite.desk, cast.tier1, "discount", offer.as_tuple(), signature,
        error="OfferAlreadyUsed", financier=cast.bank.address, nonce=3,
    )


def test_an_expired_offer_is_refused(suite, cast, voucher, make_offer, now, refused):
    _, root = voucher
    offer = make_offer(root, deadline=now - 1)
    refused(
        suite.desk, cast.tier1, "discount", offer.as_tuple(), suite.desk.sign(cast.bank.key, offer),
        error="OfferExpired", deadline=now - 1, now_=lambda t: now <= t <= now + 60,
    )


def test_an_offer_the_financier_cancelled_cannot_be_used(suite, cast, voucher, make_offer, refused):
    _, root = voucher
    offer = make_offer(root, nonce=4)
    signature = suite.desk.sign(cast.bank.key, offer)
    result = suite.desk.cancel_offer(cast.bank, 4)
    (event,) = result.events(suite.desk.contract, "OfferCancelled")
    assert event["args"]["financier"] == cast.bank.address and event["args"]["nonce"] == 4
    refused(
        suite.desk, cast.tier1, "discount", offer.as_tuple(), signature,
        error="OfferAlreadyUsed", financier=cast.bank.address, nonce=4,
    )
    refused(suite.desk, cast.bank, "cancelOffer", 4, error="OfferAlreadyUsed", financier=cast.bank.address, nonce=4)


def test_an_offer_signed_for_another_chain_is_refused(suite, cast, voucher, make_offer, refused):
    _, root = voucher
    offer = make_offer(root)
    signature = sign_offer(cast.bank.key, offer, suite.conn.chain_id + 1, suite.desk.address)
    refused(
        suite.desk, cast.tier1, "discount", offer.as_tuple(), signature,
        error="InvalidOfferSignature", financier=cast.bank.address,
    )


def test_an_offer_signed_for_another_desk_is_refused(suite, cast, conn, voucher, make_offer, refused):
    _, root = voucher
    sister = conn.deploy(cast.governance, "DiscountDesk", suite.registry.address, suite.voucher.address).result
    offer = make_offer(root)
    signature = sign_offer(cast.bank.key, offer, suite.conn.chain_id, sister)
    refused(
        suite.desk, cast.tier1, "discount", offer.as_tuple(), signature,
        error="InvalidOfferSignature", financier=cast.bank.address,
    )


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda o, other: dataclasses.replace(o, value=900_000 * CNY), id="value"),
        pytest.param(lambda o, other: dataclasses.replace(o, rate_bps=1), id="rate"),
        pytest.param(lambda o, other: dataclasses.replace(o, token_id=other), id="tokenId"),
        pytest.param(lambda o, other: dataclasses.replace(o, deadline=o.deadline + 30 * DAY), id="deadline"),
    ],
)
def test_an_offer_tampered_with_after_signing_is_refused(suite, cast, voucher, make_offer, refused, tamper):
    _, root = voucher
    (small,), _ = suite.voucher.split(cast.tier1, root, [10_000 * CNY])
    offer = make_offer(small, 10_000 * CNY)  # the bank agreed to buy the small voucher
    signature = suite.desk.sign(cast.bank.key, offer)
    tampered = tamper(offer, root)
    assert tampered != offer
    refused(
        suite.desk, cast.tier1, "discount", tampered.as_tuple(), signature,
        error="InvalidOfferSignature", financier=cast.bank.address,
    )


def test_a_malleable_high_s_twin_of_a_valid_signature_is_refused(suite, cast, voucher, make_offer, refused):
    _, root = voucher
    offer = make_offer(root)
    signature = suite.desk.sign(cast.bank.key, offer)
    r, s, v = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big"), signature[64]
    assert s <= SECP256K1_N // 2
    twin_s, twin_v = SECP256K1_N - s, 55 - v  # 27 <-> 28
    twin = r.to_bytes(32, "big") + twin_s.to_bytes(32, "big") + bytes([twin_v])
    # The twin is a mathematically valid signature by the bank of the same digest...
    digest = offer_digest(offer, suite.conn.chain_id, suite.desk.address)
    recovered = keys.Signature(vrs=(twin_v - 27, r, twin_s)).recover_public_key_from_msg_hash(digest)
    assert recovered.to_checksum_address() == cast.bank.address
    # ...that the desk must not accept.
    refused(
        suite.desk, cast.tier1, "discount", offer.as_tuple(), twin,
        error="InvalidOfferSignature", financier=cast.bank.address,
    )


def test_an_offer_signed_by_someone_other_than_the_named_financier_is_refused(
    suite, cast, voucher, make_offer, refused
):
    _, root = voucher
    offer = make_offer(root)  # names the bank...
    signature = suite.desk.sign(cast.tier2.key, offer)  # ...signed by tier 2
    refused(
        suite.desk, cast.tier1, "discount", offer.as_tuple(), signature,
        error="InvalidOfferSignature", financier=cast.bank.address,
    )


def test_a_member_without_the_financier_role_cannot_buy_vouchers(suite, cast, voucher, make_offer, refused):
    _, root = voucher
    suite.token.approve(cast.hospital, suite.desk.address, DISCOUNT_LINE)
    offer = make_offer(root, financier=cast.hospital.address)
    signature = suite.desk.sign(cast.hospital.key, offer)
    refused(
        suite.desk, cast.tier1, "discount", offer.as_tuple(), signature,
        error="NotFinancier", account=cast.hospital.address,
    )


def test_an_offer_from_a_financier_suspended_after_signing_is_refused(suite, cast, voucher, make_offer, refused):
    _, root = voucher
    offer = make_offer(root)
    signature = suite.desk.sign(cast.bank.key, offer)
    suite.registry.suspend(cast.operator, cast.bank.address)
    refused(
        suite.desk, cast.tier1, "discount", offer.as_tuple(), signature,
        error="NotFinancier", account=cast.bank.address,
    )


def test_an_offer_above_one_hundred_percent_a_year_is_refused(suite, cast, voucher, make_offer, refused):
    _, root = voucher
    offer = make_offer(root, rate_bps=10_001)
    refused(
        suite.desk, cast.tier1, "discount", offer.as_tuple(), suite.desk.sign(cast.bank.key, offer),
        error="RateTooHigh", rateBps=10_001, max=10_000,
    )


def test_a_member_cannot_discount_someone_elses_voucher(suite, cast, voucher, make_offer, refused):
    _, root = voucher
    # Tier 2 holds a voucher of its own, and tries the bank's offer on tier 1's.
    suite.voucher.split_transfer(cast.tier1, root, cast.tier2.address, 100_000 * CNY)
    # The bank's offer to tier 1 is tier 1's alone to submit...
    offer = make_offer(root)
    refused(
        suite.desk, cast.tier2, "discount", offer.as_tuple(), suite.desk.sign(cast.bank.key, offer),
        error="NotOfferSeller", seller=cast.tier1.address, caller=cast.tier2.address,
    )
    # ...and an offer naming tier 2 as seller of tier 1's voucher buys nothing either.
    offer = make_offer(root, seller=cast.tier2.address, nonce=2)
    refused(
        suite.desk, cast.tier2, "discount", offer.as_tuple(), suite.desk.sign(cast.bank.key, offer),
        error="NotHolder", tokenId=root, account=cast.tier2.address,
    )


def test_a_financier_cannot_buy_beyond_its_discounting_line(suite, cast, voucher, make_offer, refused):
    slot, root = voucher
    suite.token.approve(cast.bank, suite.desk.address, 1_000 * CNY)
    offer = make_offer(root)
    signature = suite.desk.sign(cast.bank.key, offer)
    prices = possible_prices(suite, slot, HALF, RATE_BPS)
    refused(
        suite.desk, cast.tier1, "discount", offer.as_tuple(), signature,
        error="ERC20InsufficientAllowance",
        spender=suite.desk.address,
        allowance=1_000 * CNY,
        needed=lambda needed: needed in prices,
    )


def test_a_financier_cannot_pay_more_cash_than_it_holds(suite, cast, voucher, make_offer, refused):
    slot, root = voucher
    suite.token.transfer(cast.bank, cast.hospital.address, suite.token.balance_of(cast.bank.address) - 1_000 * CNY)
    offer = make_offer(root)
    signature = suite.desk.sign(cast.bank.key, offer)
    prices = possible_prices(suite, slot, HALF, RATE_BPS)
    refused(
        suite.desk, cast.tier1, "discount", offer.as_tuple(), signature,
        error="ERC20InsufficientBalance",
        sender=cast.bank.address,
        balance=1_000 * CNY,
        needed=lambda needed: needed in prices,
    )


def test_a_frozen_voucher_cannot_be_discounted(suite, cast, voucher, make_offer, refused):
    _, root = voucher
    suite.voucher.freeze(cast.operator, root, keccak(text="dispute"))
    offer = make_offer(root)
    refused(
        suite.desk, cast.tier1, "discount", offer.as_tuple(), suite.desk.sign(cast.bank.key, offer),
        error="VoucherFrozen", tokenId=root,
    )


def test_a_matured_voucher_cannot_be_discounted(suite, cast, voucher, make_offer, travel, refused):
    slot, root = voucher
    maturity = suite.voucher.slot(slot).maturity
    travel(90 * DAY)
    offer = make_offer(root, deadline=maturity + DAY)
    refused(
        suite.desk, cast.tier1, "discount", offer.as_tuple(), suite.desk.sign(cast.bank.key, offer),
        error="VoucherMatured", tokenId=root, maturity=maturity,
    )


def test_an_offer_for_no_value_is_refused(suite, cast, voucher, make_offer, refused):
    _, root = voucher
    offer = make_offer(root, value=0)
    refused(
        suite.desk, cast.tier1, "discount", offer.as_tuple(), suite.desk.sign(cast.bank.key, offer),
        error="ZeroAmount",
    )


def test_an_offer_whose_discount_would_exceed_the_value_is_refused_by_name_not_by_arithmetic_panic(
    suite, cast, invoice, now, make_offer, refused
):
    """Rates up to 10,000 bps and tenors up to 365 days are both allowed, so more than 360 days
    at 100 % a year prices the voucher below zero: the desk must say so with its own error."""
    suite.voucher.send(cast.governance, "setMaxTenor", 365 * DAY)
    suite.token.approve(cast.bank, suite.desk.address, DISCOUNT_LINE)
    record = invoice(amount=FACE)
    slot, _ = suite.voucher.issue(cast.hospital, cast.tier1.address, FACE, now + 365 * DAY, record)
    root, _ = suite.voucher.accept(cast.tier1, slot)
    offer = make_offer(root, FACE, 10_000)
    refusal = refused(suite.desk, cast.tier1, "discount", offer.as_tuple(), suite.desk.sign(cast.bank.key, offer))
    assert refusal.error != "Panic", f"the desk's quote underflowed: {refusal}"
    assert refusal.contract == "DiscountDesk", refusal
