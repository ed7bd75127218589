"""The read API over HTTP, against a chain with a three-tier story on it: every figure it serves
is checked against the contracts' own views (not against the read model it is built on), it
follows new blocks by itself, lists page and filter, and every bad request is a clear 4xx that
names what was wrong. It has no way to write."""

from __future__ import annotations

import time

import pytest
import requests
from eth_utils import keccak

from scf.api import ReadService, contract_addresses, create_app, running
from scf.contracts import Role, label
from scf.indexer import EventIndex
from scf.typed_data import DiscountOffer
from scf.watch import Policy, Watch, default_policy_path, system_accounts
from tests.support import CNY, DAY, KYC, funded

MARKUP_NAME = '<img src=x onerror="alert(1)">Evil & Co'


@pytest.fixture
def story(suite, cast, invoice, now, w3):
    """Slot A (1,000,000.00, 90 days): tier 1 -> tier 2 (400,000.00) -> tier 3 (150,000.00);
    the bank discounts 100,000.00 of tier 1's root; 250,000.00 funded; tier 3's voucher frozen.
    Slot B (300,000.00, 30 days) issued, not accepted. A member with a markup name."""
    record = invoice(amount=1_000_000 * CNY)
    slot_a, _ = suite.voucher.issue(cast.hospital, cast.tier1.address, 1_000_000 * CNY, now + 90 * DAY, record)
    root, _ = suite.voucher.accept(cast.tier1, slot_a)
    t2, _ = suite.voucher.split_transfer(cast.tier1, root, cast.tier2.address, 400_000 * CNY)
    t3, _ = suite.voucher.split_transfer(cast.tier2, t2, cast.tier3.address, 150_000 * CNY)
    suite.token.approve(cast.bank, suite.desk.address, 1_000_000 * CNY)
    offer = DiscountOffer(token_id=root, value=100_000 * CNY, rate_bps=500, deadline=now + DAY, nonce=7,
                          financier=cast.bank.address, seller=cast.tier1.address)
    bank_token, _, _ = suite.desk.discount(cast.tier1, offer, suite.desk.sign(cast.bank.key, offer))
    suite.token.approve(cast.hospital, suite.voucher.address, 250_000 * CNY)
    suite.voucher.fund(cast.hospital, slot_a, 250_000 * CNY)
    suite.voucher.freeze(cast.operator, t3, keccak(text="court order"))
    record_b = invoice(creditor=cast.tier2, amount=300_000 * CNY)
    slot_b, _ = suite.voucher.issue(cast.hospital, cast.tier2.address, 300_000 * CNY, now + 30 * DAY, record_b)
    evil = funded(w3, "evil")
    suite.registry.admit(cast.operator, evil.address, MARKUP_NAME, Role.SUPPLIER, KYC)
    return dict(slot_a=slot_a, slot_b=slot_b, root=root, t2=t2, t3=t3, bank_token=bank_token, record=record,
                evil=evil)


@pytest.fixture
def api(suite, story, tmp_path):
    index = EventIndex(suite.conn, suite.deployment, tmp_path / "index.sqlite")
    watch = Watch(Policy.load(default_policy_path()), index.db, system_accounts(suite.deployment))
    service = ReadService(index, watch)
    app = create_app(service, contracts=contract_addresses(index), chain_id=suite.conn.chain_id)
    with running(service, app, interval=0.2) as url:

        def get(path: str, expect: int = 200, **params):
            response = requests.get(url + path, params=params, timeout=10)
            assert response.status_code == expect, response.text
            return response.json()

        get.url = url  # type: ignore[attr-defined]
        yield get


def test_a_slot_shows_what_the_ledger_says_with_its_lineage_tree_and_documents(suite, cast, story, api):
    slot = story["slot_a"]
    body = api(f"/api/slots/{slot}")
    info = suite.voucher.slot(slot)  # the contract's own view
    assert body["faceValue"] == str(info.face_value) == str(1_000_000 * CNY)
    assert body["funded"] == str(info.funded) == str(250_000 * CNY)
    assert body["unfunded"] == str(750_000 * CNY)
    assert body["maturity"] == info.maturity and body["status"] == "active"
    assert body["debtor"] == {"address": cast.hospital.address, "name": "City Hospital Group"}
    assert body["tradeRecordId"] == story["record"]
    tree = {n["label"]: n for n in body["tree"]}
    assert [n["label"] for n in body["tree"]][0] == label(story["root"])
    assert set(tree) == {label(t) for t in (story["root"], story["t2"], story["t3"], story["bank_token"])}
    for node in body["tree"]:
        token = int(node["tokenId"])
        assert node["holder"]["address"] == suite.voucher.owner_of(token)
        assert node["value"] == str(suite.voucher.value_of(token))
    assert tree[label(story["t3"])]["frozen"] is True and tree[label(story["t3"])]["depth"] == 2
    assert tree[label(story["t3"])]["parent"] == label(story["t2"])
    assert body["vouchers"] == 4 and body["frozen"] == 1
    assert [d["docType"] for d in body["documents"]] == ["invoice"]
    assert body["documents"][0]["status"] == "confirmed"
    assert body["documents"][0]["reserved"] == str(1_000_000 * CNY)
    events = [e["event"] for e in body["history"]]
    assert events[0] == "VoucherIssued" and "SlotFunded" in events and "FreezeApplied" in events
    funded_event = next(e for e in body["history"] if e["event"] == "SlotFunded")
    assert "amount=CNY 250,000.00" in funded_event["text"] and "City Hospital Group" in funded_event["text"]


def test_a_voucher_shows_its_lineage_history_and_the_trade_documents_behind_it(suite, cast, story, api):
    t3 = story["t3"]
    body = api(f"/api/vouchers/{label(t3)}")
    assert body == api(f"/api/vouchers/{t3}") | {"history": body["history"]}  # label or token id
    assert body["lineage"] == [label(t3), label(story["t2"]), label(story["root"])]
    assert body["holder"]["name"] == "Raw Polymers Ltd (tier 3)"
    assert body["value"] == str(150_000 * CNY) and body["frozen"] is True and body["status"] == "live"
    assert [e["event"] for e in body["history"]][-1] == "FreezeApplied"
    assert body["documents"][0]["recordId"] == story["record"]


def test_lists_filter_by_debtor_holder_status_and_maturity_and_page(suite, cast, story, api, now):
    a, b = story["slot_a"], story["slot_b"]
    everything = api("/api/slots")
    assert [s["slot"] for s in everything["items"]] == [b, a]  # by maturity: 30 days, then 90
    assert api("/api/slots", status="issued")["items"][0]["slot"] == b
    assert api("/api/slots", status="issued")["total"] == 1
    assert api("/api/slots", holder=cast.tier3.address.lower())["total"] == 1  # any case of address
    assert api("/api/slots", holder=cast.bank.address)["items"][0]["slot"] == a
    assert api("/api/slots", debtor=cast.tier1.address)["total"] == 0
    assert api("/api/slots", maturityFrom=now + 60 * DAY)["total"] == 1
    assert api("/api/slots", maturityTo=now + 60 * DAY)["items"][0]["slot"] == b
    page = api("/api/slots", limit=1, offset=1)
    assert page["total"] == 2 and page["limit"] == 1 and [s["slot"] for s in page["items"]] == [a]
    suppliers = api("/api/members", role="supplier")
    assert {m["address"] for m in suppliers["items"]} >= {cast.tier1.address, story["evil"].address}
    assert all("supplier" in m["roles"] for m in suppliers["items"])


def test_exposure_and_calendar_add_up_to_the_contracts_figures(suite, cast, story, api, now):
    exposure = api("/api/exposure")
    hospital = next(d for d in exposure["debtors"] if d["debtor"]["address"] == cast.hospital.address)
    member = suite.registry.member(cast.hospital.address)
    assert hospital["creditLimit"] == str(member.credit_limit)
    # Owed into its live slots: 1,000,000 - 250,000 funded, plus the unaccepted 300,000.
    assert hospital["outstanding"] == str(750_000 * CNY + 300_000 * CNY)
    bank = next(f for f in exposure["financiers"] if f["financier"]["address"] == cast.bank.address)
    assert bank["total"] == str(suite.voucher.value_of(story["bank_token"])) == str(100_000 * CNY)
    assert bank["byDebtor"] == [{"debtor": {"address": cast.hospital.address, "name": "City Hospital Group"},
                                 "value": str(100_000 * CNY)}]
    weeks = api("/api/calendar")["weeks"]
    assert sum(int(w["faceValue"]) for w in weeks) == 1_300_000 * CNY
    assert sum(int(w["funded"]) for w in weeks) == 250_000 * CNY
    assert sum(w["slots"] for w in weeks) == 2
    assert all(w["label"].count("-W") == 1 for w in weeks)


def test_names_from_the_chain_travel_as_data_unchanged(story, api):
    member = api(f"/api/members/{story['evil'].address}")
    assert member["name"] == MARKUP_NAME  # JSON carries it exactly; the page renders it as text
    assert member["roles"] == ["supplier"] and member["status"] == "active"


def test_the_api_follows_new_blocks_by_itself(suite, cast, story, api):
    before = api("/api/status")
    suite.token.approve(cast.hospital, suite.voucher.address, 1 * CNY)
    suite.voucher.fund(cast.hospital, story["slot_a"], 1 * CNY)
    deadline = time.monotonic() + 10
    while api(f"/api/slots/{story['slot_a']}")["funded"] != str(250_001 * CNY):
        assert time.monotonic() < deadline, "the API did not pick up the new block"
        time.sleep(0.1)
    after = api("/api/status")
    assert after["block"] > before["block"] and after["indexedEvents"] > before["indexedEvents"]
    funding = api("/api/events", kind="funding")
    assert funding["items"][0]["args"]["amount"] == str(1 * CNY)  # newest first


def test_the_risk_watch_runs_in_the_background_and_its_alerts_are_served_once(suite, cast, story, api):
    assert api("/api/alerts", rule="member_not_active")["total"] == 0
    suite.registry.suspend(cast.operator, cast.tier3.address)  # it holds a live (frozen) voucher
    deadline = time.monotonic() + 10
    while not (alerts := api("/api/alerts", rule="member_not_active"))["total"]:
        assert time.monotonic() < deadline, "no alert for a suspended member holding a voucher"
        time.sleep(0.1)
    (alert,) = alerts["items"]
    assert alert["subject"] == {"kind": "member", "key": cast.tier3.address}
    assert alert["severity"] == "critical" and "Raw Polymers Ltd (tier 3)" in alert["message"]
    assert alert["block"] == suite.conn.w3.eth.block_number
    suite.token.approve(cast.hospital, suite.voucher.address, 1 * CNY)
    suite.voucher.fund(cast.hospital, story["slot_a"], 1 * CNY)  # later blocks: raised once only
    time.sleep(1)
    assert api("/api/alerts", rule="member_not_active")["total"] == 1
    assert api("/api/status")["alerts"] == api("/api/alerts")["total"]


@pytest.mark.parametrize(
    ("path", "params", "expect", "says"),
    [
        ("/api/slots", {"status": "lost"}, 400, "status='lost' is not one of issued, active"),
        ("/api/slots", {"debtor": "0x12"}, 400, "debtor='0x12' is not an address"),
        ("/api/slots", {"limit": "501"}, 400, "limit='501' is not a whole number from 1 to 500"),
        ("/api/slots", {"limit": "0"}, 400, "limit='0'"),
        ("/api/slots", {"offset": "-1"}, 400, "offset='-1' is not a whole number"),
        ("/api/slots", {"maturityFrom": "tomorrow"}, 400, "maturityFrom='tomorrow'"),
        ("/api/slots", {"debter": "0x" + "11" * 20}, 400, "unknown parameter debter"),
        ("/api/slots/99", {}, 404, "slot 99 does not exist"),
        ("/api/slots/abc", {}, 400, "'abc' is not a slot number"),
        ("/api/vouchers/99.1", {}, 404, "voucher 99.1 does not exist"),
        ("/api/vouchers/one.two", {}, 400, "not a voucher"),
        ("/api/members/0x" + "ab" * 20, {}, 404, "is not a member"),
        ("/api/members/bob", {}, 400, "'bob' is not an address"),
        ("/api/members", {"role": "king"}, 400, "role='king' is not one of core enterprise"),
        ("/api/documents/999", {}, 404, "trade record 999 does not exist"),
        ("/api/events", {"kind": "gossip"}, 400, "kind='gossip' is not one of funding"),
        ("/api/alerts", {"rule": "rumour"}, 400, "rule='rumour' is not one of unfunded_near_maturity"),
        ("/api/nothing", {}, 404, "Not Found"),
        ("/api/offers", {}, 404, "this service keeps no offer board"),
    ],
)
def test_a_bad_request_is_a_clear_4xx(api, path, params, expect, says):
    body = api(path, expect=expect, **params)
    assert says in body["error"]


def test_there_is_no_way_to_write(api):
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/api/slots", "/api/members", "/api/alerts"):
            response = requests.request(method, api.url + path, json={}, timeout=10)
            assert response.status_code == 405, (method, path)
