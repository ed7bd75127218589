"""The member page in a real browser (headless Chromium driven by Playwright), against anvil
with the suite deployed and seeded: each member's page carries a test wallet that signs with
that member's own key. Accept, split-transfer, discount and redeem are clicked through, and
the chain is checked between the phases."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from eth_utils import keccak

from scf.api import ReadService, create_app, running
from scf.contracts import LEDGERS, DocType, MemberStatus, RecordStatus, Role, SlotStatus, label
from scf.indexer import EventIndex
from scf.manifest import save
from scf.money import fmt
from scf.offers import OfferBoard
from scf.typed_data import DiscountOffer
from scf.vault import Vault, VaultDesk
from tests.support import BANK_OPENING_CASH, BRIDGE, CNY, DAY, OPERATOR_ROLE, ROOT, funded

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or NODE is None,
    reason="headless Chromium (Debian package 'chromium') or node is missing: run 'make setup' as root to install it",
)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # the stdlib's signature
        pass


@pytest.fixture
def site(web_dist, suite, conn, tmp_path):
    """The built page with this chain's manifest, ABIs and EIP-712 types beside it."""
    site = tmp_path / "site"
    shutil.copytree(web_dist, site)
    shutil.copytree(BRIDGE / "typed-data", site / "typed-data", dirs_exist_ok=True)
    save(suite.deployment, site / "deployments")
    (site / "abi").mkdir(exist_ok=True)
    for name in LEDGERS:  # the contracts the page loads
        (site / "abi" / f"{name}.json").write_text(json.dumps(conn.artifacts[name].abi))
    return site


@pytest.fixture
def page_url(site, suite, tmp_path):
    """The page served as ``make serve`` serves it: by the read API, with its offer board."""
    index = EventIndex(suite.conn, suite.deployment, tmp_path / "index.sqlite")
    service = ReadService(index, None, OfferBoard(suite, tmp_path / "offers.sqlite"), Vault(tmp_path / "vault"))
    with running(service, create_app(service, web_dir=site), interval=0.2) as url:
        yield f"{url}/index.html"


@pytest.fixture
def static_url(site):
    """The page served as plain files, without the read API (no offer board)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()


@pytest.fixture
def settings(page_url, cast, chain, tmp_path):
    def make(**extra):
        return {
            "url": page_url,
            "rpc": chain.provider.uri,
            "chromium": CHROMIUM,
            "keys": {
                name: "0x" + bytes(getattr(cast, name).key).hex()
                for name in ("tier1", "tier2", "tier3", "bank", "hospital", "operator")
            },
            "tier2": cast.tier2.address,
            **extra,
        }

    return make


def run_phase(phase: str, settings: dict) -> dict:
    result = subprocess.run(
        [NODE, str(BRIDGE / "e2e" / "member-flow.mjs"), phase, json.dumps(settings)],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
    )
    assert result.returncode == 0, f"browser phase {phase} failed:\n{result.stdout}\n{result.stderr}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_page_served_without_the_read_api_says_offers_travel_as_json(settings, static_url):
    shown = run_phase("board-note", settings(url=static_url))
    assert shown["note"].startswith("This page is served without an offer board")


def test_a_locked_wallet_a_declined_request_and_an_expired_offer_each_get_a_clear_message(
    suite, cast, w3, now, invoice, accepted_voucher, settings
):
    """Nothing is sent in any of these: the chain is the same before and after."""
    _, root = accepted_voucher(face=100_000 * CNY)
    record = invoice(amount=50_000 * CNY)
    slot, _ = suite.voucher.issue(cast.hospital, cast.tier1.address, 50_000 * CNY, now + 30 * DAY, record)
    suite.token.approve(cast.bank, suite.desk.address, 10_000_000 * CNY)  # the bank's line: signing is next
    expired = DiscountOffer(root, 1_000 * CNY, 450, now - 1, 77, cast.bank.address, cast.tier1.address)
    signature = suite.desk.sign(cast.bank.key, expired)
    body = {"offer": {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in expired.as_message().items()},
            "signature": "0x" + signature.hex()}
    nonces = {a.address: w3.eth.get_transaction_count(a.address) for a in (cast.tier1, cast.bank)}

    shown = run_phase("wallet-errors", settings(slot=slot, voucher=label(root), expiredOffer=json.dumps(body)))

    assert shown["locked"] == ("Your wallet is locked or shares no account with this page: "
                               "unlock it, then connect again.")
    declined = "you declined the request in your wallet: nothing was signed or sent"
    assert shown["declinedTx"] == f"failed: accept slot {slot}: {declined}"
    assert shown["declinedSignature"] == f"failed: {declined}"
    assert shown["bankOffers"] == "none"
    assert shown["expired"].startswith(f"failed: discount {label(root)}: the offer expired on ")
    assert shown["expired"].endswith("UTC: ask the financier for a new one")
    assert {a: w3.eth.get_transaction_count(a) for a in nonces} == nonces
    assert suite.voucher.slot(slot).status == SlotStatus.ISSUED
    assert not suite.desk.is_nonce_used(cast.bank.address, 77)


def test_a_holder_merges_hands_over_and_pledges_from_its_page(suite, cast, conn, accepted_voucher, settings):
    v, credit = suite.voucher, suite.credit
    _, root = accepted_voucher(face=1_000_000 * CNY)
    v.send(cast.tier1, "split", root, [300_000 * CNY])
    second = root + 1
    assert v.owner_of(second) == cast.tier1.address and v.value_of(second) == 300_000 * CNY
    due = (datetime.fromtimestamp(conn.block_timestamp(), tz=UTC) + timedelta(days=30)).date()

    shown = run_phase("holder", settings(first=label(root), firstId=str(root), second=label(second),
                                         tier2=cast.tier2.address, bank=cast.bank.address, due=due.isoformat()))

    assert shown["merge"].startswith(f"confirmed: merge 50000.00 of {label(second)} into {label(root)}")
    assert shown["values"] == {label(root): "CNY 750,000.00", label(second): "CNY 250,000.00"}
    assert shown["badHandOver"].startswith("failed") and 'receiver "0x12" is not an address' in shown["badHandOver"]
    assert shown["handOver"].startswith(f"confirmed: hand {label(second)} over to {cast.tier2.address}")
    assert v.owner_of(second) == cast.tier2.address and v.value_of(second) == 250_000 * CNY
    assert f"voucher-{label(second)}" not in shown["afterHandOver"] and label(second) not in shown["afterHandOver"]
    assert shown["noDue"].startswith("failed") and "is not a date (YYYY-MM-DD)" in shown["noDue"]
    assert shown["pledge"].startswith(f"confirmed: pledge 200000.00 of {label(root)}")
    assert shown["valueAfterPledge"] == "CNY 550,000.00"
    # The chain after all of it: 1,000,000.00 = 550,000.00 kept + 250,000.00 handed over + 200,000.00 pledged.
    assert (v.value_of(root), v.value_of(second)) == (550_000 * CNY, 250_000 * CNY)
    pledged = root + 2  # the part the desk split off into its custody
    assert (v.owner_of(pledged), v.value_of(pledged)) == (credit.address, 200_000 * CNY)
    p = credit.pledge_of(pledged)
    midnight = int(datetime.combine(due, datetime.min.time(), tzinfo=UTC).timestamp())
    assert (p.pledgor, p.pledgee, p.secured, p.due_date) == (cast.tier1.address, cast.bank.address, 150_000 * CNY,
                                                             midnight)


def test_the_page_fits_a_phone_and_works_from_the_keyboard_alone(suite, cast, accepted_voucher, settings, tmp_path):
    _, root = accepted_voucher(face=10_000 * CNY)
    shots = BRIDGE / "docs" if os.environ.get("SCF_WRITE_SCREENSHOTS") == "1" else tmp_path

    shown = run_phase("phone", settings(voucher=label(root), tier2=cast.tier2.address,
                                        screenshot=str(shots / "member-page-phone.png")))

    assert shown["scrollWidth"] <= 390 and shown["tableScrolls"]
    assert shown["unlabelled"] == []  # every field has a name a screen reader can say
    assert (shown["focusedAfterTab"], shown["focusedButton"]) == (f"amount-{label(root)}", f"send-{label(root)}")
    assert shown["sent"].startswith(f"confirmed: send 1000.00 of {label(root)}")
    assert suite.voucher.value_of(root) == 9_000 * CNY
    assert (shots / "member-page-phone.png").stat().st_size > 2_000


def test_a_wallet_on_another_chain_is_told_to_switch_networks(settings):
    shown = run_phase("wrong-chain", settings())
    assert "Wrong network: your wallet is on chain 1" in shown["banner"]
    assert "Switch your wallet to chain 31337" in shown["banner"]


def test_members_accept_split_discount_and_redeem_from_the_page(
    suite, cast, w3, invoice, now, settings, travel, tmp_path
):
    face = 1_000_000 * CNY
    record = invoice(creditor=cast.tier1, debtor=cast.hospital, amount=face)
    slot, _ = suite.voucher.issue(cast.hospital, cast.tier1.address, face, now + 90 * DAY, record)
    root = (slot << 32) | 1

    # The committed pictures are made with SCF_WRITE_SCREENSHOTS=1; otherwise they go to a temporary folder.
    shots = BRIDGE / "docs" if os.environ.get("SCF_WRITE_SCREENSHOTS") == "1" else tmp_path
    shown = run_phase("trade", settings(slot=slot, screenshot=str(shots / "member-page.png"),
                                        financierScreenshot=str(shots / "member-page-financier.png")))
    for picture in ("member-page.png", "member-page-financier.png"):
        assert (shots / picture).stat().st_size > 2_000, picture
    print("browser timings (ms):", shown["timingsMs"], shown["totalMs"])
    assert "Status: active · roles: supplier" in shown["member"]
    assert shown["accept"].startswith("confirmed: accept slot")
    assert shown["rootValue"] == "CNY 1,000,000.00"
    assert shown["badAmount"].startswith("failed") and "at most 2 decimals" in shown["badAmount"]
    assert shown["badAddress"].startswith("failed") and 'receiver "0x12" is not an address' in shown["badAddress"]
    assert shown["tooMuch"].startswith("failed: send 9999999.00") and "insufficient value" in shown["tooMuch"]
    assert shown["split"].startswith("confirmed")
    assert shown["rootAfterSplit"] == "CNY 600,000.00"
    assert shown["offerTooBig"] == (f"failed: {label(root)} holds CNY 600,000.00: an offer for CNY 700,000.00 "
                                    "could never be taken")
    assert shown["rateTooHigh"].startswith("failed: rate too high: rateBps=99999")
    assert shown["signed"] == f"confirmed: offer for {label(root)} signed and published on the offer board"
    # The bank named no seller: the offer is for the voucher's holder, and says so.
    assert shown["offerSeller"] == cast.tier1.address
    assert f"seller: MedSupply Co (tier 1) ({cast.tier1.address})" in shown["signedParties"]
    assert "financier: Commerce Bank" in shown["signedParties"]
    valid_until = datetime.fromtimestamp(int(shown["offerDeadline"]), tz=UTC).strftime("%Y-%m-%d %H:%M")
    assert shown["bankOffers"] == [label(root), "MedSupply Co (tier 1)", "CNY 100,000.00", "4.50 %", valid_until,
                                   "open", "Cancel"]
    # Tier 2's board lists nothing; the offer pasted into its page is refused before anything is sent.
    assert shown["tier2Offers"] == "none"
    assert shown["notSeller"].startswith(f"failed: discount {label(root)}: this offer is for seller MedSupply Co")
    assert "only the seller may submit it" in shown["notSeller"]
    assert shown["noSeller"] == "failed: the offer cannot be used: the offer has no seller"
    # Tier 1 found it on its page: what it would receive now and the cost of the money a year.
    voucher_, financier, amount, rate, receive, cost, _, action = shown["offerRow"]
    assert (voucher_, financier, amount, rate, action) == (label(root), "Commerce Bank", "CNY 100,000.00", "4.50 %",
                                                           "Take")
    listed = int(receive.removeprefix("CNY ").replace(",", "").replace(".", ""))
    assert 98_800 * CNY < listed < 100_000 * CNY
    # 4.50 % a year on the face (ACT/360) is about 4.62 % on what is received (ACT/365).
    assert cost.endswith(" % a year") and 4.55 < float(cost.split()[0]) < 4.70
    assert shown["discount"].startswith(f"confirmed: discount {label(root)} at 4.50 % for CNY 98,")
    assert shown["offersAfterTake"] == "none"  # taken on chain: the board dropped it
    assert shown["replay"].startswith("failed") and "offer already used" in shown["replay"]
    # The bank's second offer, cancelled: the nonce is spent on chain and the board dropped it.
    assert shown["signedSecond"].endswith("signed and published on the offer board")
    cancelled = shown["cancelledNonce"]
    assert shown["cancel"].startswith(f"confirmed: cancel the offer for {label(root)} (nonce {cancelled})")
    assert shown["bankOffersAfterCancel"] == "none"
    assert suite.desk.is_nonce_used(cast.bank.address, int(cancelled))
    bank_voucher = (slot << 32) | 3
    tier2_voucher = (slot << 32) | 2
    assert shown["tier1Tree"]["labels"] == f"{label(root)} {label(tier2_voucher)} {label(bank_voucher)}"
    assert "● yours" in shown["tier1Tree"]["text"] and "Commerce Bank" in shown["tier1Tree"]["text"]
    assert shown["tier1Tree"]["note"] == f"1 of yours in slot {slot}, with their ancestors back to the root"
    assert shown["tier2Tree"]["labels"] == f"{label(root)} {label(tier2_voucher)}"  # not tier 1's sale to the bank
    assert "Commerce Bank" not in shown["tier2Tree"]["text"]
    when, seller, holds, value, rate, paid = shown["taken"]
    assert (seller, holds, value, rate) == ("MedSupply Co (tier 1)", label(bank_voucher), "CNY 100,000.00", "4.50 %")
    due = datetime.fromtimestamp(suite.voucher.slot(slot).maturity, tz=UTC).date().isoformat()
    assert shown["bankPortfolio"] == [["City Hospital Group", due, "1", "CNY 100,000.00", "not yet in full"]]

    # The chain agrees with what the page showed.
    v = suite.voucher
    tier2_voucher = (slot << 32) | 2
    bank_voucher = (slot << 32) | 3
    assert (v.owner_of(tier2_voucher), v.value_of(tier2_voucher)) == (cast.tier2.address, 400_000 * CNY)
    assert w3.eth.get_transaction_count(cast.tier2.address) == 0  # its page sent nothing
    assert (v.owner_of(bank_voucher), v.value_of(bank_voucher)) == (cast.bank.address, 100_000 * CNY)
    assert v.value_of(root) == 500_000 * CNY
    price = suite.token.balance_of(cast.tier1.address)
    assert 98_800 * CNY < price < 100_000 * CNY  # ~90 days at 4.50 %: about 1,125.00 of interest
    assert listed <= price  # paid a few blocks after it was listed: closer to maturity, less discount
    assert suite.token.balance_of(cast.bank.address) == BANK_OPENING_CASH - price
    assert f"cash: CNY {price // 100:,}.{price % 100:02d}" in shown["tier1Member"]
    assert paid == fmt(price)  # the bank's "you paid" is what tier 1 received
    due_day = datetime.fromtimestamp(suite.voucher.slot(slot).maturity, tz=UTC).date().isoformat()
    assert f"redeemable from {due_day}" in shown["redeemBeforeMaturity"]
    assert "Redeem" not in shown["redeemBeforeMaturity"]

    # Maturity: the hospital pays; tier 2 redeems its voucher from its page.
    suite.token.approve(cast.hospital, v.address, face)
    v.fund(cast.hospital, slot, face)
    travel(91 * DAY)
    shown = run_phase("redeem", settings(voucher=label(tier2_voucher)))
    assert shown["redeem"].startswith(f"confirmed: redeem {label(tier2_voucher)}")
    assert "cash: CNY 400,000.00" in shown["member"]
    assert suite.token.balance_of(cast.tier2.address) == 400_000 * CNY
    assert not v.voucher(tier2_voucher).exists


# Names a firm could choose for itself when it applies: markup that would run in every
# counterparty's page if the page put chain data into HTML.
IMG_PAYLOAD = '<img src=x onerror="window.__pwned=1">'
SCRIPT_PAYLOAD = '</td><script>window.__pwned=2;alert("pwned")</script><img src=y onerror="alert(1)"> Ltd'


def test_a_debtor_named_in_markup_is_shown_as_text_and_runs_nothing(suite, cast, w3, now, settings):
    """Two core enterprises apply under names that are HTML payloads, are approved, and issue
    200,000.00 and 300,000.00 to tier 3. Its page lists both names literally, before and after
    it accepts, and nothing the names carry runs: no window.__pwned, no dialog, no element."""
    reg, op = suite.registry, cast.operator
    slots = []
    firms = (("hostile img", IMG_PAYLOAD, 200_000 * CNY), ("hostile script", SCRIPT_PAYLOAD, 300_000 * CNY))
    for key, name, face in firms:
        firm = funded(w3, key)
        reg.apply(firm, name, Role.CORE_ENTERPRISE, keccak(text=f"kyc {key}"))
        reg.approve(op, firm.address)
        reg.set_credit_limit(op, firm.address, 1_000_000 * CNY)
        assert reg.profile(firm.address)[0] == name  # as the chain keeps it: in MembershipApplied
        record, _ = suite.trade.register(cast.tier3, DocType.INVOICE, keccak(text=f"invoice {key}"), firm.address, face)
        suite.trade.confirm(firm, record)
        slot, _ = suite.voucher.issue(firm, cast.tier3.address, face, now + 60 * DAY, record)
        slots.append(slot)

    shown = run_phase("hostile-names", settings(member="tier3", slots=slots))
    assert shown["pwned"] is None
    assert shown["dialogs"] == []
    assert shown["injectedElements"] == []
    assert IMG_PAYLOAD in shown["pending"] and SCRIPT_PAYLOAD in shown["pending"]
    img_slot, script_slot = slots
    assert shown["vouchers"][f"{img_slot}.1"][1] == IMG_PAYLOAD
    assert shown["vouchers"][f"{script_slot}.1"][1] == SCRIPT_PAYLOAD
    assert shown["vouchers"][f"{script_slot}.1"][3] == "CNY 300,000.00"
    assert [suite.voucher.owner_of((slot << 32) | 1) for slot in slots] == [cast.tier3.address] * 2


def test_the_member_page_s_code_writes_no_markup():
    """Belt and braces for the browser tests: the member page and its bridge never hand a
    string to the HTML parser (names, offers and errors all come from others)."""
    for name in ("page.js", "bridge.js", "lineage.js"):
        source = (BRIDGE / "app" / "src" / name).read_text()
        for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML(", "document.write(", "DOMParser", "srcdoc"):
            assert sink not in source, f"{name} uses {sink}"


ORDER_TEXT = "Purchase order 2026-117\nCity Hospital Group orders 300 infusion pumps from MedSupply Co.\n"


def test_a_core_enterprise_confirms_issues_cancels_anchors_and_funds_from_its_page(suite, cast, conn, w3, settings,
                                                                                tmp_path):
    """The hospital's desk: tier 1's invoice confirmed; a voucher issued against it (one too
    large refused first, and one without a date); a second issued and cancelled; its own order
    anchored by the file's fingerprint; then, once tier 1 accepted, 100,000.00 paid in."""
    trade, v = suite.trade, suite.voucher
    invoice_text = "page invoice 2026-117"
    record, _ = trade.register(cast.tier1, DocType.INVOICE, keccak(text=invoice_text), cast.hospital.address,
                               500_000 * CNY)
    first = v.call("slotCount") + 1
    due_day = (datetime.fromtimestamp(conn.block_timestamp(), tz=UTC) + timedelta(days=60)).date()
    limit_before = suite.registry.member(cast.hospital.address).credit_limit
    outstanding_before = v.call("outstandingOf", cast.hospital.address)

    shown = run_phase("core", settings(invoice=record, due=due_day.isoformat(), secondSlot=first + 1,
                                       tier1=cast.tier1.address, orderText=ORDER_TEXT, invoiceText=invoice_text))

    assert shown["sections"] == {"documents": True, "issuer": True}
    fingerprint = "0x" + keccak(text=invoice_text).hex()
    assert shown["toDecide"][:5] == [f"#{record}", "invoice", "MedSupply Co (tier 1)", "CNY 500,000.00", fingerprint]
    amended = "0x" + keccak(text=f"{invoice_text} (amended)").hex()
    assert shown["wrongCopy"] == f"your invoice-2026-117.txt does NOT match ({amended})"
    assert shown["rightCopy"] == "your invoice-2026-117.txt matches"
    assert shown["confirm"].startswith(f"confirmed: confirm invoice #{record}")
    assert trade.record(record).status == RecordStatus.CONFIRMED
    assert shown["invoiceRow"] == [f"#{record}", "MedSupply Co (tier 1)", "CNY 500,000.00", "CNY 500,000.00"]
    available = limit_before - outstanding_before
    assert shown["creditLine"] == (f"Credit line {fmt(limit_before)} · used by issuances not yet paid in full "
                                   f"{fmt(outstanding_before)}"
                                   f" · available {fmt(available)}")
    assert shown["tooMuch"].startswith("failed") and "insufficient invoice amount" in shown["tooMuch"]
    assert shown["badDate"].startswith("failed") and 'is not a date (YYYY-MM-DD)' in shown["badDate"]
    assert shown["issue"].startswith(f"confirmed: issue 300000.00 against invoice #{record}")
    assert shown["second"].startswith("confirmed")
    assert shown["cancel"].startswith(f"confirmed: cancel slot {first + 1}")
    assert f"issuance-{first} issued" in shown["states"] and f"issuance-{first + 1} cancelled" in shown["states"]
    issued = v.slot(first)
    midnight = int(datetime.combine(due_day, datetime.min.time(), tzinfo=UTC).timestamp())
    assert (issued.debtor, issued.creditor, issued.face_value, issued.maturity, issued.trade_record_id) == (
        cast.hospital.address, cast.tier1.address, 300_000 * CNY, midnight, record)
    assert v.slot(first + 1).status == SlotStatus.CANCELLED
    assert trade.record(record).reserved == 300_000 * CNY  # the cancelled one released its part
    assert v.call("outstandingOf", cast.hospital.address) == outstanding_before + 300_000 * CNY

    assert shown["noFile"].startswith("failed") and "choose the document's file first" in shown["noFile"]
    fingerprint = "0x" + keccak(ORDER_TEXT.encode()).hex()
    assert shown["docHash"] == f"fingerprint (keccak-256) of order-2026-117.txt: {fingerprint}"
    assert shown["anchor"].startswith("confirmed: anchor order order-2026-117.txt")
    order = trade.record_id_of(keccak(ORDER_TEXT.encode()), cast.hospital.address, cast.tier1.address)
    assert order == trade.call("recordCount")
    anchored = trade.record(order)
    assert (anchored.registrant, anchored.doc_type, anchored.counterparty, anchored.amount) == (
        cast.hospital.address, DocType.ORDER, cast.tier1.address, 300_000 * CNY)

    v.accept(cast.tier1, first)
    cash_before = suite.token.balance_of(cast.hospital.address)
    shots = BRIDGE / "docs" if os.environ.get("SCF_WRITE_SCREENSHOTS") == "1" else tmp_path
    shown = run_phase("core-fund", settings(slot=first, screenshot=str(shots / "member-page-core.png")))
    assert shown["fund"].startswith(f"confirmed: fund slot {first} with 100000.00")
    assert shown["funded"] == "CNY 100,000.00"
    assert v.slot(first).funded == 100_000 * CNY
    assert suite.token.balance_of(cast.hospital.address) == cash_before - 100_000 * CNY
    assert (shots / "member-page-core.png").stat().st_size > 2_000
    monday = due_day - timedelta(days=due_day.weekday())
    assert shown["calendar"] == [[monday.isoformat(), "1", "CNY 300,000.00", "CNY 100,000.00", "CNY 200,000.00"]]


def test_operators_approve_raise_suspend_reinstate_and_freeze_from_their_console(suite, cast, w3, settings, tmp_path,
                                                                                accepted_voucher):
    """With a threshold of 2, one operator's page starts each act and shows what waits for a
    second operator; the second operator's page lists each waiting act in words and completes
    it with one click. The chain is checked after each half."""
    reg, v = suite.registry, suite.voucher
    applicant, operator2 = funded(w3, "console applicant"), funded(w3, "console operator 2")
    reg.apply(applicant, "Northern Valves Ltd", Role.SUPPLIER, keccak(text="kyc northern valves"))
    reg.send(cast.governance, "grantRole", OPERATOR_ROLE, operator2.address)
    reg.send(cast.governance, "setApprovalThreshold", 2)
    _, root = accepted_voucher(face=200_000 * CNY)
    limit = reg.member(cast.hospital.address).credit_limit
    reason = "KYC review 2026-12"
    base = settings(applicant=applicant.address, hospital=cast.hospital.address, tier3=cast.tier3.address,
                    voucher=label(root), reason=reason,
                    screenshot=str((BRIDGE / "docs" if os.environ.get("SCF_WRITE_SCREENSHOTS") == "1" else tmp_path)
                                   / "member-page-operator.png"))
    base["keys"]["operator2"] = "0x" + bytes(operator2.key).hex()

    shown = run_phase("operator", base)

    assert shown["threshold"] == "Acts that admit or give more take 2 operators' approval."
    assert shown["approve1"].startswith("confirmed: approve Northern Valves Ltd")
    assert shown["application1"][2:4] == ["1 of 2", "approvedReject"]  # its own approval given: no second
    assert shown["approveOffered1"] is False
    assert shown["raise"].startswith("confirmed: credit line of City Hospital Group to 6000000.00")
    assert shown["noReason"].startswith("failed") and "give a reason" in shown["noReason"]
    assert shown["suspend"].startswith("confirmed: suspend")
    assert shown["tier3After1"] == "suspended"  # one of two approvals: still suspended
    assert shown["freeze"].startswith(f"confirmed: freeze {label(root)}")
    waiting = sorted(row[:2] for row in shown["pending2"])
    assert waiting == sorted([["credit line of City Hospital Group to CNY 6,000,000.00", "1 of 2"],
                              [f"reinstate {reg.profile(cast.tier3.address)[0]}", "1 of 2"]])
    assert all(row[2] == "approved" for row in shown["pending1"])  # the first operator's own
    assert shown["approve2"].startswith("confirmed: approve Northern Valves Ltd")
    assert len(shown["cosigned"]) == 2 and all(c.startswith("confirmed: co-sign: ") for c in shown["cosigned"])
    assert shown["pendingAfter"] == "none" and shown["applicationsAfter"] == "none"
    assert (shown["tier3"], shown["hospitalLimit"]) == ("active", "CNY 6,000,000.00")
    assert shown["unfreeze"].startswith(f"confirmed: unfreeze {label(root)}")

    assert reg.status_of(applicant.address) == MemberStatus.ACTIVE
    assert reg.status_of(cast.tier3.address) == MemberStatus.ACTIVE
    assert reg.member(cast.hospital.address).credit_limit == 6_000_000 * CNY != limit
    assert not v.voucher(root).frozen
    frozen_with = [e["args"]["reasonHash"] for e in v.contract.events.FreezeApplied.get_logs(from_block=0)
                   if e["args"]["tokenId"] == root]
    assert frozen_with == [keccak(text=reason)]  # the fingerprint of the words the operator typed


def test_each_member_sees_which_of_its_documents_the_vault_holds_shares_and_verified(
    suite, cast, now, settings, tmp_path
):
    """The page shows a document's state, never its contents: the bank sees the invoice tier 1
    disclosed to it as held, shared and verified by itself; the hospital is told that the
    delivery note waiting for it is sealed (its copy's bare hash could never match a salted
    commitment, so no file check is offered); tier 1 is told, in red, that a file is missing."""
    vault = Vault(tmp_path / "vault")  # the folder the page's read API serves
    desks = {name: VaultDesk(vault, suite, getattr(cast, name)) for name in ("tier1", "hospital", "bank", "tier2")}
    for desk in desks.values():
        desk.publish_key()
    tier1, hospital = desks["tier1"], desks["hospital"]
    tag = str(now).encode()
    order, _ = tier1.put_trade_document(DocType.ORDER, b"PO page " + tag, "po.txt", cast.hospital.address, 500 * CNY)
    hospital.confirm(order)
    invoice, commitment = tier1.put_trade_document(
        DocType.INVOICE, b"INV page " + tag, "inv.txt", cast.hospital.address, 500 * CNY, order)
    hospital.confirm(invoice)
    delivery, _ = tier1.put_trade_document(
        DocType.DELIVERY_NOTE, b"DN page " + tag, "dn.txt", cast.hospital.address, 500 * CNY, order)
    slot, _ = suite.voucher.issue(cast.hospital, cast.tier1.address, 500 * CNY, now + 30 * DAY, invoice)
    root, _ = suite.voucher.accept(cast.tier1, slot)
    tier1.disclose(root, cast.bank.address, "discount talks")
    desks["bank"].verify_trail(root)
    _, lost = tier1.put_trade_document(DocType.RECEIPT, b"receipt page " + tag, "r.txt", cast.hospital.address, 1)
    (vault.blobs / vault.document(lost).blob).unlink()

    shots = BRIDGE / "docs" if os.environ.get("SCF_WRITE_SCREENSHOTS") == "1" else tmp_path
    shown = run_phase("vault", settings(invoice="0x" + commitment.hex(), delivery=delivery, lost="0x" + lost.hex(),
                                        screenshot=str(shots / "member-page-vault.png")))
    assert (shots / "member-page-vault.png").stat().st_size > 2_000
    assert shown["bankHeld"] == "held"
    assert shown["bankShared"].startswith("MedSupply Co (tier 1) → you on ")
    assert shown["bankVerified"].startswith("you on ") and shown["bankVerified"].endswith(f"(voucher {label(root)})")
    assert "PO page" not in shown["bankDocs"] and "inv.txt" not in shown["bankDocs"]  # state, never contents
    assert f"ape run docs confirm {delivery}" in shown["hospitalToDecide"] and shown["hospitalCopyInputs"] == 0
    assert shown["tier1Lost"].startswith("file missing from the vault") and "bad" in shown["tier1LostClass"]
    assert "none" in shown["tier2Docs"]  # tier 2 was shown nothing
    vault.close()
