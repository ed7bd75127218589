"""The offer board behind ``/api/offers``: a financier publishes a signed discount offer, the
holder finds it with the price it would receive now and the effective annual cost, takes it
on chain, and the board drops it. Forged, foreign, tampered, expired, spent and unexecutable
offers are refused with a message that says why, and nothing is kept. Prices and costs are
computed here from the desk's published formula, not read from the board."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import pytest
import requests
from eth_account import Account
from eth_utils import keccak

from scf.api import ReadService, create_app, running
from scf.contracts import label
from scf.indexer import EventIndex
from scf.offers import OfferBoard
from scf.typed_data import DiscountOffer, sign_offer
from tests.support import CNY, DAY

YEAR_BASIS = 360 * DAY * 10_000  # the desk's rate basis: ACT/360, in basis points
FACE = 1_000_000 * CNY


@pytest.fixture
def voucher(suite, cast, invoice, now):
    """Tier 1 holds the root of a 1,000,000.00 slot due in 90 days; the bank's discounting
    line (its allowance to the desk) is 500,000.00."""
    record = invoice(amount=FACE)
    slot, _ = suite.voucher.issue(cast.hospital, cast.tier1.address, FACE, now + 90 * DAY, record)
    root, _ = suite.voucher.accept(cast.tier1, slot)
    suite.token.approve(cast.bank, suite.desk.address, 500_000 * CNY)
    return root


@pytest.fixture
def board(suite, tmp_path):
    return OfferBoard(suite, tmp_path / "offers.sqlite")


@pytest.fixture
def api(suite, board, tmp_path):
    index = EventIndex(suite.conn, suite.deployment, tmp_path / "index.sqlite")
    service = ReadService(index, None, board)
    with running(service, create_app(service), interval=0.1) as url:

        class Client:
            base = url

            @staticmethod
            def get(path: str = "/api/offers", expect: int = 200, **params):
                response = requests.get(url + path, params=params, timeout=30)
                assert response.status_code == expect, response.text
                return response.json()

            @staticmethod
            def post(body, expect: int, **kwargs):
                response = requests.post(url + "/api/offers", json=body, timeout=30, **kwargs)
                assert response.status_code == expect, response.text
                return response.json()

            @staticmethod
            def settle(service=service):
                """One refresh, as the background thread does when the chain moves."""
                service.refresh()

        yield Client


def offer_for(root, cast, now, **changes) -> DiscountOffer:
    terms = dict(token_id=root, value=200_000 * CNY, rate_bps=450, deadline=now + DAY, nonce=11,
                 financier=cast.bank.address, seller=cast.tier1.address)
    return DiscountOffer(**(terms | changes))


def published(offer: DiscountOffer, signature: bytes) -> dict:
    """The offer as it travels (the page's ``offerToJson``): every field as text."""
    return {"offer": {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in offer.as_message().items()},
            "signature": "0x" + signature.hex()}


def expected_price(value: int, rate_bps: int, seconds: int) -> int:
    return value - -(-value * rate_bps * seconds // YEAR_BASIS)  # the discount rounded up


def test_a_financier_publishes_an_offer_the_holder_finds_priced_and_takes(suite, cast, voucher, api, now, conn):
    offer = offer_for(voucher, cast, now)
    signature = suite.desk.sign(cast.bank.key, offer)

    body = api.post(published(offer, signature), 201)

    maturity = suite.voucher.slot(voucher >> 32).maturity
    seconds = maturity - conn.block_timestamp()
    price = expected_price(offer.value, offer.rate_bps, seconds)
    assert body["digest"] == "0x" + bytes(suite.desk.call("hashOffer", offer.as_tuple())).hex()
    assert body["voucher"] == label(voucher)
    assert body["offer"]["value"] == str(200_000 * CNY) and body["offer"]["recourse"] == "false"
    assert body["financier"] == {"address": cast.bank.address, "name": "Commerce Bank"}
    assert body["seller"]["address"] == cast.tier1.address
    assert (body["price"], body["secondsToMaturity"]) == (str(price), seconds)
    cost = Fraction(offer.value - price, price) * 365 * DAY / seconds
    exact = Decimal(cost.numerator) / Decimal(cost.denominator)
    assert body["effectiveAnnualCost"] == str(exact.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN))
    assert 0.0455 < float(body["effectiveAnnualCost"]) < 0.0462  # 4.50 % ACT/360, as a yield ACT/365
    assert (body["takeable"], body["refusal"]) == (True, None)

    # Published twice (a retry): the same offer, kept once.
    assert api.post(published(offer, signature), 200)["digest"] == body["digest"]
    mine = api.get(seller=cast.tier1.address)
    assert mine["total"] == 1 and mine["items"][0]["signature"] == "0x" + signature.hex()
    assert api.get(financier=cast.bank.address)["total"] == 1
    assert api.get(voucher=label(voucher))["total"] == 1
    assert api.get(seller=cast.tier2.address)["total"] == 0

    # The holder takes it as it came from the board: the signature travelled intact.
    item = mine["items"][0]
    taken = DiscountOffer(*(int(item["offer"][k]) for k in ("tokenId", "value", "rateBps", "deadline", "nonce")),
                          item["offer"]["financier"], item["offer"]["seller"], item["offer"]["recourse"] == "true")
    assert taken == offer
    _, paid, _ = suite.desk.discount(cast.tier1, taken, bytes.fromhex(item["signature"][2:]))
    assert paid == expected_price(offer.value, offer.rate_bps, maturity - conn.block_timestamp())
    api.settle()
    assert api.get()["total"] == 0  # spent on chain: dropped


def test_offers_the_financier_cancels_or_that_expire_are_dropped(suite, cast, voucher, api, now, travel):
    cancelled = offer_for(voucher, cast, now, nonce=21)
    short = offer_for(voucher, cast, now, nonce=22, deadline=now + 3_600)
    lasting = offer_for(voucher, cast, now, nonce=23, deadline=now + 2 * DAY)
    for offer in (cancelled, short, lasting):
        api.post(published(offer, suite.desk.sign(cast.bank.key, offer)), 201)
    assert api.get()["total"] == 3

    suite.desk.cancel_offer(cast.bank, 21)
    api.settle()
    assert [i["offer"]["nonce"] for i in api.get()["items"]] == ["22", "23"]

    travel(3_601)
    suite.token.approve(cast.bank, suite.desk.address, 500_000 * CNY)  # a block after the deadline
    api.settle()
    assert [i["offer"]["nonce"] for i in api.get()["items"]] == ["23"]


def test_an_offer_the_desk_would_refuse_later_is_listed_with_the_reason(suite, cast, voucher, api, now):
    """Taken in, then the voucher moved on: listed as not takeable, with the desk's error."""
    offer = offer_for(voucher, cast, now)
    api.post(published(offer, suite.desk.sign(cast.bank.key, offer)), 201)
    suite.voucher.send(cast.tier1, "transferFrom(address,address,uint256)", cast.tier1.address, cast.tier2.address,
                       voucher)
    (item,) = api.get()["items"]
    assert item["takeable"] is False
    assert item["refusal"].startswith(f"not holder: tokenId={voucher}, account={cast.tier1.address}")


KEY_OF_STRANGER = Account.from_key(keccak(text="offer board stranger")).key


@pytest.mark.parametrize(
    "case, words",
    [
        ("signed by another key", "the signature is not the financier's"),
        ("signed for another chain", "the signature is not the financier's"),
        ("signed for another desk", "the signature is not the financier's"),
        ("value changed after signing", "the signature is not the financier's"),
        ("a supplier as financier", "does not hold the financier role"),
        ("a suspended financier", "is not an active member of the consortium (suspended)"),
        ("past its deadline", "the offer expired"),
        ("valid after the voucher matures", "the offer outlives its voucher"),
        ("a nonce already cancelled", "already used or cancelled nonce 11"),
        ("a seller who does not hold it", "the desk would refuse this offer now: not holder: tokenId="),
        ("more than the voucher holds", "the desk would refuse this offer now: insufficient value"),
        ("beyond the financier's line", "the desk would refuse this offer now: erc20 insufficient allowance"),
    ],
)
def test_an_offer_that_is_not_live_and_genuine_is_refused_and_nothing_is_kept(
    suite, cast, voucher, api, board, now, conn, case, words
):
    offer = offer_for(voucher, cast, now)
    key = cast.bank.key
    chain, desk = conn.chain_id, suite.desk.address
    if case == "signed by another key":
        key = KEY_OF_STRANGER
    elif case == "signed for another chain":
        chain = chain + 1
    elif case == "signed for another desk":
        desk = suite.voucher.address
    elif case == "a supplier as financier":
        offer, key = offer_for(voucher, cast, now, financier=cast.tier2.address), cast.tier2.key
    elif case == "a suspended financier":
        suite.registry.suspend(cast.operator, cast.bank.address, keccak(text="fraud inquiry"))
    elif case == "past its deadline":  # the desk's rule: expired once the chain's time is past it
        offer = offer_for(voucher, cast, now, deadline=conn.block_timestamp() - 1)
    elif case == "valid after the voucher matures":
        offer = offer_for(voucher, cast, now, deadline=suite.voucher.slot(voucher >> 32).maturity + 1)
    elif case == "a nonce already cancelled":
        suite.desk.cancel_offer(cast.bank, 11)
    elif case == "a seller who does not hold it":
        offer = offer_for(voucher, cast, now, seller=cast.tier2.address)
    elif case == "more than the voucher holds":
        offer = offer_for(voucher, cast, now, value=FACE + 1)
        suite.token.approve(cast.bank, suite.desk.address, 2 * FACE)  # the line is not what stops it
    elif case == "beyond the financier's line":
        offer = offer_for(voucher, cast, now, value=600_000 * CNY)
    signature = sign_offer(key, offer, chain, desk)
    body = published(offer, signature)
    if case == "value changed after signing":
        body["offer"]["value"] = str(offer.value + 1)

    refused = api.post(body, 400)

    assert refused["error"].startswith("offer refused: ") and words in refused["error"], refused["error"]
    assert api.get()["total"] == 0 and board.live() == []


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda b: b["offer"].pop("nonce"), "the offer has no nonce"),
        (lambda b: b["offer"].update(bonus="1"), "fields the desk does not know: bonus"),
        (lambda b: b["offer"].update(value="-5"), "the offer's value '-5' is not a whole number"),
        (lambda b: b["offer"].update(value="1e6"), "is not a whole number"),
        (lambda b: b["offer"].update(value=True), "is not a whole number"),
        (lambda b: b["offer"].update(rateBps=str(2**256)), "does not fit a uint256"),
        (lambda b: b["offer"].update(nonce="9" * 5_000), "does not fit a uint256"),
        (lambda b: b["offer"].update(seller="0x12"), "the offer's seller '0x12' is not an address"),
        (lambda b: b["offer"].update(recourse="maybe"), "neither true nor false"),
        (lambda b: b.update(signature="0x1234"), "the signature is not 65 bytes of hex"),
        (lambda b: b.update(signature="0x" + "zz" * 65), "the signature is not 65 bytes of hex"),
        (lambda b: b.update(note="hello"), 'an offer is sent as {"offer": {...}, "signature": "0x..."}'),
        (lambda b: b.update(offer=[1, 2]), "the offer is not an object of fields"),
    ],
)
def test_a_malformed_offer_is_refused_with_a_message_naming_what_is_wrong(suite, cast, voucher, api, now,
                                                                          change, words):
    offer = offer_for(voucher, cast, now)
    body = published(offer, suite.desk.sign(cast.bank.key, offer))
    change(body)

    refused = api.post(body, 400)

    assert words in refused["error"], refused["error"]
    assert api.get()["total"] == 0


def test_the_offers_endpoint_refuses_what_is_not_a_signed_offer_in_json(api):
    url = api.base + "/api/offers"
    assert requests.post(url, data="offer", headers={"content-type": "text/plain"}, timeout=10).status_code == 415
    not_json = requests.post(url, data="{not json", headers={"content-type": "application/json"}, timeout=10)
    assert not_json.status_code == 400 and "the body is not JSON" in not_json.json()["error"]
    huge = requests.post(url, json={"offer": {}, "signature": "0x" + "00" * 20_000}, timeout=10)
    assert huge.status_code == 413 and "at most 16,384 bytes" in huge.json()["error"]
    # Sent without a length (chunked): refused once the limit is passed, not read whole first.
    chunks = (b"{" + b" " * 4_000 for _ in range(100))
    streamed = requests.post(url, data=chunks, headers={"content-type": "application/json"}, timeout=10)
    assert streamed.status_code == 413 and "at most 16,384 bytes" in streamed.json()["error"]
    assert requests.post(url + "?seller=0x1", json={}, timeout=10).status_code == 400
    for method in ("put", "delete", "patch"):
        assert getattr(requests, method)(url, timeout=10).status_code == 405
    unknown = requests.get(url, params={"holder": "x"}, timeout=10)
    assert unknown.status_code == 400 and "unknown parameter holder" in unknown.json()["error"]
    bad = requests.get(url, params={"seller": "0x12"}, timeout=10)
    assert bad.status_code == 400 and bad.json()["error"].startswith("seller=")


def test_a_restarted_board_keeps_its_offers_and_a_financier_s_share_is_capped(
    suite, cast, voucher, api, board, now, tmp_path, monkeypatch
):
    first = offer_for(voucher, cast, now, nonce=31)
    api.post(published(first, suite.desk.sign(cast.bank.key, first)), 201)

    again = OfferBoard(suite, tmp_path / "offers.sqlite")
    assert [p.offer for p in again.live()] == [first]

    monkeypatch.setattr("scf.offers.MAX_LIVE_PER_FINANCIER", 1)
    second = offer_for(voucher, cast, now, nonce=32)
    refused = api.post(published(second, suite.desk.sign(cast.bank.key, second)), 400)
    assert "already has 1 live offers on the board, the most it may" in refused["error"]
    assert [p.offer.nonce for p in board.live()] == [31]
