"""TradeRegistry: the information flow behind every voucher.

Documents are anchored by one side and confirmed (or rejected) by the other, link into a
trail, and an invoice's amount is reserved by the voucher ledger so that no invoice ever
backs more than its value. A refused call names the rule it broke and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from scf.contracts import DocType, RecordStatus, Role, TradeRecord
from scf.contracts.base import ZERO_ADDRESS
from tests.support import (
    CNY,
    DAY,
    KYC,
    MAX_AMOUNT,
    NO_HASH,
    NOT_ACTIVE,
    Refusals,
    ViewFingerprint,
    event_args,
    funded,
    member_key,
    not_active,
)

REASON = keccak(text="reason: sanctions screening")
INVOICE_AMOUNT = 1_000_000 * CNY


def doc(text: str) -> bytes:
    return keccak(text=f"trade document: {text}")


@dataclass
class Scene:
    ledger: LocalAccount  # an extra authorised ledger (an EOA standing in for a voucher contract)
    applicant: LocalAccount  # pending
    suspended: LocalAccount  # tier3, suspended
    removed: LocalAccount  # admitted, then removed
    order: int  # hospital -> tier1, confirmed
    invoice: int  # tier1 -> hospital, 1,000,000.00, confirmed
    pending_invoice: int  # tier1 -> hospital, not confirmed yet
    rejected_invoice: int  # tier1 -> hospital, rejected by the hospital
    other_invoice: int  # tier2 -> tier1, confirmed: between other parties


@pytest.fixture(scope="module")
def scene(suite, cast, w3) -> Scene:
    """Built once per module; ape reverts the chain to this state after every test."""
    reg, trade, op = suite.registry, suite.trade, cast.operator
    ledger, applicant, removed = (funded(w3, n) for n in ("extra ledger", "trade applicant", "removed trader"))
    reg.apply(applicant, "Pending Pumps Ltd", Role.SUPPLIER, KYC)
    reg.admit(op, removed.address, "Gone Gaskets Ltd", Role.SUPPLIER, KYC)
    reg.remove(op, removed.address, REASON)
    reg.suspend(op, cast.tier3.address, REASON)
    trade.set_ledger(cast.governance, ledger.address)

    hospital, tier1, tier2 = cast.hospital, cast.tier1, cast.tier2
    order, _ = trade.register(hospital, DocType.ORDER, doc("scene order"), tier1.address, INVOICE_AMOUNT)
    trade.confirm(tier1, order)
    invoice, _ = trade.register(tier1, DocType.INVOICE, doc("scene invoice"), hospital.address, INVOICE_AMOUNT)
    trade.confirm(hospital, invoice)
    pending, _ = trade.register(tier1, DocType.INVOICE, doc("scene pending"), hospital.address, INVOICE_AMOUNT)
    rejected, _ = trade.register(tier1, DocType.INVOICE, doc("scene rejected"), hospital.address, INVOICE_AMOUNT)
    trade.reject(hospital, rejected)
    other, _ = trade.register(tier2, DocType.INVOICE, doc("scene other"), tier1.address, 300_000 * CNY)
    trade.confirm(tier1, other)
    return Scene(ledger, applicant, cast.tier3, removed, order, invoice, pending, rejected, other)


@pytest.fixture
def trade(suite):
    return suite.trade


@pytest.fixture
def refused(trade, suite, scene):
    """``refused(signer, fn, *args)``: the call is mined and fails, changes no record nor
    ledger, and the revert is returned (``tests.support.Refusals``)."""

    def check(signer, function: str, *args, client=None):
        count = trade.call("recordCount")
        views = ViewFingerprint(
            trade,
            [("recordOf", i) for i in range(1, count + 2)]
            + [("recordCount",), ("isLedger", scene.ledger.address), ("isLedger", suite.voucher.address)]
            + [("isLedger", signer.address)],
        )
        return Refusals(suite.conn.w3, views)(client or trade, signer, function, *args)

    return check


# ---------------------------------------------------------------- happy paths


def test_a_supplier_anchors_an_invoice_and_the_hospital_confirms_it(trade, scene, cast, conn):
    count = trade.call("recordCount")
    record_id, registered = trade.register(
        cast.tier1, DocType.INVOICE, doc("invoice 2026-0042"), cast.hospital.address, 250_000 * CNY, scene.order
    )

    assert record_id == count + 1 == trade.call("recordCount")
    assert trade.record_id_of(doc("invoice 2026-0042"), cast.hospital.address, cast.tier1.address) == record_id
    assert event_args(registered, trade, "DocumentRegistered") == [
        {
            "recordId": record_id,
            "registrant": cast.tier1.address,
            "counterparty": cast.hospital.address,
            "docType": DocType.INVOICE,
            "docHash": doc("invoice 2026-0042"),
            "amount": 250_000 * CNY,
            "parentId": scene.order,
        }
    ]
    # On chain, what the checks read; the hash and the time are in the event only.
    pending = TradeRecord(record_id, cast.tier1.address, DocType.INVOICE, RecordStatus.REGISTERED, reserved=0,
                          ledger_id=0, counterparty=cast.hospital.address, amount=250_000 * CNY, parent_id=scene.order)
    assert trade.record(record_id) == pending

    confirmed = trade.confirm(cast.hospital, record_id)

    assert trade.record(record_id) == replace(pending, status=RecordStatus.CONFIRMED)
    assert event_args(confirmed, trade, "DocumentConfirmed") == [
        {"recordId": record_id, "counterparty": cast.hospital.address}
    ]
    assert trade.call("availableAmount", record_id) == 250_000 * CNY


def test_the_counterparty_rejects_a_document_and_it_stays_rejected(trade, scene, cast, refused):
    record_id, _ = trade.register(cast.tier1, DocType.INVOICE, doc("inflated invoice"), cast.hospital.address, 9 * CNY)

    rejected = trade.reject(cast.hospital, record_id)

    assert trade.record(record_id).status == RecordStatus.REJECTED
    assert event_args(rejected, trade, "DocumentRejected") == [
        {"recordId": record_id, "counterparty": cast.hospital.address}
    ]
    e = refused(cast.hospital, "confirm", record_id)
    assert (e.error, e.args_by_name) == ("RecordNotPending", {"recordId": record_id, "status": RecordStatus.REJECTED})


def test_an_order_delivery_note_receipt_and_invoice_form_a_trail_walked_back_by_parent(trade, scene, cast):
    hospital, tier1 = cast.hospital, cast.tier1
    amount = 480_000 * CNY
    contract, _ = trade.register(hospital, DocType.CONTRACT, doc("framework contract"), tier1.address, amount)
    order, _ = trade.register(hospital, DocType.ORDER, doc("order 7"), tier1.address, amount, contract)
    delivery, _ = trade.register(tier1, DocType.DELIVERY_NOTE, doc("delivery 7"), hospital.address, amount, order)
    receipt, _ = trade.register(hospital, DocType.RECEIPT, doc("receipt 7"), tier1.address, amount, delivery)
    invoice, _ = trade.register(tier1, DocType.INVOICE, doc("invoice 7"), hospital.address, amount, receipt)
    for record_id, confirmer in [(contract, tier1), (order, tier1), (delivery, hospital), (receipt, tier1)]:
        trade.confirm(confirmer, record_id)
    trade.confirm(hospital, invoice)

    trail, record_id = [], invoice
    while record_id != 0:
        record = trade.record(record_id)
        trail.append((record.doc_type, record.status))
        record_id = record.parent_id

    assert trail == [
        (DocType.INVOICE, RecordStatus.CONFIRMED),
        (DocType.RECEIPT, RecordStatus.CONFIRMED),
        (DocType.DELIVERY_NOTE, RecordStatus.CONFIRMED),
        (DocType.ORDER, RecordStatus.CONFIRMED),
        (DocType.CONTRACT, RecordStatus.CONFIRMED),
    ]


def test_a_parent_may_have_been_registered_by_either_side(trade, scene, cast):
    record_id, _ = trade.register(
        cast.tier1, DocType.DELIVERY_NOTE, doc("delivery for the scene order"), cast.hospital.address, 1, scene.order
    )

    assert trade.record(record_id).parent_id == scene.order


# ------------------------------------------------------------------ bad inputs


@pytest.mark.parametrize(
    "case, error",
    [
        ("zero counterparty", "ZeroAddress"),
        ("self counterparty", "SelfCounterparty"),
        ("zero hash", "EmptyDocumentHash"),
        ("zero amount", "ZeroAmount"),
        ("amount beyond MAX_AMOUNT", "AmountTooLarge"),
        ("duplicate hash", "DuplicateDocument"),
        ("unknown parent", "UnknownRecord"),
        ("parent between other parties", "ParentPartiesMismatch"),
        ("parent shared with only one party", "ParentPartiesMismatch"),
    ],
)
def test_a_registration_with_a_bad_input_is_refused(trade, scene, cast, refused, case, error):
    tier1, hospital = cast.tier1, cast.hospital
    registrant, counterparty, doc_hash, amount, parent = tier1, hospital.address, doc(f"fresh {case}"), 5_000 * CNY, 0
    expected_args: dict = {}
    if case == "zero counterparty":
        counterparty = ZERO_ADDRESS
    elif case == "self counterparty":
        counterparty = tier1.address
        expected_args = {"account": tier1.address}
    elif case == "zero hash":
        doc_hash = NO_HASH
    elif case == "zero amount":
        amount = 0
    elif case == "amount beyond MAX_AMOUNT":
        amount = MAX_AMOUNT + 1
        expected_args = {"amount": amount}
    elif case == "duplicate hash":
        doc_hash = doc("scene invoice")
        expected_args = {"docHash": doc_hash, "existingRecordId": scene.invoice}
    elif case == "unknown parent":
        parent = 999
        expected_args = {"recordId": 999}
    elif case == "parent between other parties":  # tier2 <-> tier1 behind hospital <-> tier2
        registrant, counterparty, parent = hospital, cast.tier2.address, scene.other_invoice
        expected_args = {"parentId": parent}
    else:  # hospital <-> tier1 behind tier1 <-> tier2
        counterparty, parent = cast.tier2.address, scene.order
        expected_args = {"parentId": parent}

    e = refused(registrant, "register", int(DocType.INVOICE), doc_hash, counterparty, amount, parent)

    assert (e.error, e.args_by_name) == (error, expected_args)


def test_a_hash_is_unique_per_pair_of_parties_in_either_order(trade, scene, cast, refused):
    # The hospital anchoring tier 1's invoice hash again (the pair reversed) is the same deal.
    e = refused(cast.hospital, "register", int(DocType.INVOICE), doc("scene invoice"), cast.tier1.address, 1, 0)
    assert (e.error, e.args_by_name) == (
        "DuplicateDocument",
        {"docHash": doc("scene invoice"), "existingRecordId": scene.invoice},
    )

    # Another pair anchoring the same hash blocks nothing for the real parties, nor is blocked.
    other, _ = trade.register(cast.tier2, DocType.INVOICE, doc("scene invoice"), cast.tier1.address, 1)
    assert trade.record_id_of(doc("scene invoice"), cast.tier1.address, cast.tier2.address) == other
    assert trade.record_id_of(doc("scene invoice"), cast.hospital.address, cast.tier1.address) == scene.invoice


def test_a_rejected_document_s_hash_is_free_again_for_its_parties(trade, scene, cast):
    assert trade.record_id_of(doc("scene rejected"), cast.tier1.address, cast.hospital.address) == 0

    again, _ = trade.register(cast.tier1, DocType.INVOICE, doc("scene rejected"), cast.hospital.address, 1)

    assert again != scene.rejected_invoice
    assert trade.record_id_of(doc("scene rejected"), cast.tier1.address, cast.hospital.address) == again
    assert trade.record(scene.rejected_invoice).status == RecordStatus.REJECTED


def test_a_hash_anchored_again_after_a_rejection_is_taken_again(trade, scene, cast, refused):
    """The hash map keeps the latest record: once re-anchored, the hash is a duplicate again,
    for either side, until that record is rejected too."""
    hospital, tier1 = cast.hospital, cast.tier1
    again, _ = trade.register(hospital, DocType.INVOICE, doc("scene rejected"), tier1.address, 7)
    for registrant, counterparty in ((tier1, hospital), (hospital, tier1)):
        e = refused(registrant, "register", int(DocType.INVOICE), doc("scene rejected"), counterparty.address, 7, 0)
        assert (e.error, e.args_by_name) == (
            "DuplicateDocument", {"docHash": doc("scene rejected"), "existingRecordId": again},
        )
    trade.reject(tier1, again)
    assert trade.record_id_of(doc("scene rejected"), tier1.address, hospital.address) == 0

    third, _ = trade.register(tier1, DocType.INVOICE, doc("scene rejected"), hospital.address, 7)

    assert trade.record_id_of(doc("scene rejected"), hospital.address, tier1.address) == third
    assert [trade.record(r).status for r in (scene.rejected_invoice, again, third)] == [
        RecordStatus.REJECTED, RecordStatus.REJECTED, RecordStatus.REGISTERED,
    ]


def test_the_largest_amount_is_anchored_reserved_and_released_whole(trade, scene, cast, suite):
    """MAX_AMOUNT is the voucher's MAX_VALUE: an invoice of it backs a voucher of it, and the
    record's packed amount and reservation hold it exactly."""
    assert trade.call("MAX_AMOUNT") == suite.voucher.call("MAX_VALUE") == MAX_AMOUNT
    record, _ = trade.register(cast.tier1, DocType.INVOICE, doc("largest"), cast.hospital.address, MAX_AMOUNT)
    trade.confirm(cast.hospital, record)
    ledger = scene.ledger

    trade.send(ledger, "reserve", record, cast.tier1.address, cast.hospital.address, MAX_AMOUNT)

    full = trade.record(record)
    assert (full.amount, full.reserved) == (MAX_AMOUNT, MAX_AMOUNT)
    assert full.ledger_id == trade.call("ledgerIdOf", ledger.address) != 0
    assert trade.call("availableAmount", record) == 0
    trade.send(ledger, "release", record, MAX_AMOUNT)
    released = trade.record(record)
    assert (released.amount, released.reserved, released.ledger_id, released.counterparty) == (
        MAX_AMOUNT, 0, 0, cast.hospital.address,
    )


@pytest.mark.parametrize("decision", ["confirm", "reject"])
@pytest.mark.parametrize("who", ["the registrant", "a third member", "a non-member", "an operator"])
def test_only_the_counterparty_may_decide_on_a_document(scene, cast, refused, decision, who):
    caller = {
        "the registrant": cast.tier1,
        "a third member": cast.bank,
        "a non-member": cast.outsider,
        "an operator": cast.operator,
    }[who]

    e = refused(caller, decision, scene.pending_invoice)

    assert (e.error, e.args_by_name) == (
        "NotCounterparty",
        {"recordId": scene.pending_invoice, "caller": caller.address},
    )


@pytest.mark.parametrize("decision", ["confirm", "reject"])
@pytest.mark.parametrize("state", ["confirmed", "rejected"])
def test_a_document_is_decided_only_once(scene, cast, refused, decision, state):
    record_id = scene.invoice if state == "confirmed" else scene.rejected_invoice
    status = RecordStatus.CONFIRMED if state == "confirmed" else RecordStatus.REJECTED

    e = refused(cast.hospital, decision, record_id)

    assert (e.error, e.args_by_name) == ("RecordNotPending", {"recordId": record_id, "status": status})


@pytest.mark.parametrize("decision", ["confirm", "reject"])
def test_deciding_on_an_unknown_record_is_refused(scene, cast, refused, decision):
    e = refused(cast.hospital, decision, 4_242)

    assert (e.error, e.args_by_name) == ("UnknownRecord", {"recordId": 4_242})


# -------------------------------------------------------------------- membership


@pytest.mark.parametrize("who", NOT_ACTIVE)
def test_a_document_cannot_be_anchored_by(scene, cast, refused, who):
    registrant = not_active(scene, cast, who)

    e = refused(registrant, "register", int(DocType.INVOICE), doc(f"by {who}"), cast.hospital.address, 1, 0)

    assert (e.error, e.args_by_name) == ("NotActiveMember", {"account": registrant.address})


@pytest.mark.parametrize("who", NOT_ACTIVE)
def test_a_document_cannot_name_as_counterparty(scene, cast, refused, who):
    counterparty = not_active(scene, cast, who).address

    e = refused(cast.tier1, "register", int(DocType.INVOICE), doc(f"to {who}"), counterparty, 1, 0)

    assert (e.error, e.args_by_name) == ("NotActiveMember", {"account": counterparty})


@pytest.mark.parametrize("decision", ["confirm", "reject"])
def test_a_counterparty_suspended_after_registration_cannot_decide(suite, scene, cast, refused, decision):
    suite.registry.suspend(cast.operator, cast.hospital.address, REASON)

    e = refused(cast.hospital, decision, scene.pending_invoice)

    assert (e.error, e.args_by_name) == ("NotActiveMember", {"account": cast.hospital.address})


def test_an_auditor_cannot_anchor_trade_documents(trade, suite, scene, cast, refused):
    """DESIGN section 2: an auditor reads everything and changes nothing. Anchoring a trade
    document (and so being able to back a voucher with it) is a state change reserved to the
    trading parties (core enterprises and suppliers)."""
    count = trade.call("recordCount")

    e = refused(
        cast.auditor, "register", int(DocType.INVOICE), doc("auditor invoice"), cast.hospital.address, 1_000 * CNY, 0
    )

    assert (e.error, e.args_by_name) == ("NotTradingParty", {"account": cast.auditor.address})
    assert trade.call("recordCount") == count


def test_a_financier_cannot_be_named_as_the_counterparty_of_a_trade_document(trade, cast, refused):
    count = trade.call("recordCount")

    e = refused(
        cast.tier1, "register", int(DocType.INVOICE), doc("invoice to a bank"), cast.bank.address, 1_000 * CNY, 0
    )

    assert (e.error, e.args_by_name) == ("NotTradingParty", {"account": cast.bank.address})
    assert trade.call("recordCount") == count


# ------------------------------------------------------------------------ ledgers


def test_governance_authorises_and_withdraws_a_ledger(trade, scene, cast, refused):
    candidate = member_key("candidate ledger").address
    authorised = trade.set_ledger(cast.governance, candidate, True)
    assert trade.call("isLedger", candidate)
    assert event_args(authorised, trade, "LedgerAuthorised") == [
        {"ledger": candidate, "authorised": True, "operator": cast.governance.address}
    ]

    withdrawn = trade.set_ledger(cast.governance, candidate, False)
    assert not trade.call("isLedger", candidate)
    assert event_args(withdrawn, trade, "LedgerAuthorised") == [
        {"ledger": candidate, "authorised": False, "operator": cast.governance.address}
    ]

    trade.set_ledger(cast.governance, scene.ledger.address, False)
    e = refused(scene.ledger, "reserve", scene.invoice, cast.tier1.address, cast.hospital.address, 1)
    assert (e.error, e.args_by_name) == ("NotAuthorisedLedger", {"caller": scene.ledger.address})


@pytest.mark.parametrize(
    "who", ["a core enterprise", "a supplier", "a financier", "an auditor", "a non-member", "an operator"]
)
def test_only_governance_may_authorise_a_ledger(trade, scene, cast, refused, who):
    caller = {
        "a core enterprise": cast.hospital,
        "a supplier": cast.tier1,
        "a financier": cast.bank,
        "an auditor": cast.auditor,
        "a non-member": cast.outsider,
        "an operator": cast.operator,
    }[who]

    e = refused(caller, "setLedger", caller.address, True)

    assert (e.error, e.args_by_name) == ("NotGovernance", {"account": caller.address})


def test_authorising_the_zero_address_as_a_ledger_is_refused(cast, scene, refused):
    e = refused(cast.governance, "setLedger", ZERO_ADDRESS, True)

    assert (e.error, e.args_by_name) == ("ZeroAddress", {})


@pytest.mark.parametrize("function", ["reserve", "release"])
@pytest.mark.parametrize("who", ["the creditor", "the debtor", "an operator", "a non-member"])
def test_only_an_authorised_ledger_may_reserve_or_release(scene, cast, refused, function, who):
    caller = {
        "the creditor": cast.tier1,
        "the debtor": cast.hospital,
        "an operator": cast.operator,
        "a non-member": cast.outsider,
    }[who]
    args = (
        (scene.invoice, cast.tier1.address, cast.hospital.address, 1_000 * CNY)
        if function == "reserve"
        else (scene.invoice, 0)
    )

    e = refused(caller, function, *args)

    assert (e.error, e.args_by_name) == ("NotAuthorisedLedger", {"caller": caller.address})


# -------------------------------------------------------------------- reservation


def test_issuing_a_voucher_reserves_the_invoice_and_cancelling_releases_it(suite, trade, scene, cast, now):
    voucher, invoice = suite.voucher, scene.invoice
    slot, issued = voucher.issue(cast.hospital, cast.tier1.address, 600_000 * CNY, now + 90 * DAY, invoice)

    assert trade.call("availableAmount", invoice) == 400_000 * CNY
    assert trade.record(invoice).reserved == 600_000 * CNY
    assert event_args(issued, trade, "AmountReserved") == [
        {"recordId": invoice, "ledger": voucher.address, "amount": 600_000 * CNY, "reservedTotal": 600_000 * CNY}
    ]

    second, _ = voucher.issue(cast.hospital, cast.tier1.address, 400_000 * CNY, now + 60 * DAY, invoice)
    assert trade.call("availableAmount", invoice) == 0

    cancelled = voucher.cancel(cast.hospital, slot)

    assert trade.call("availableAmount", invoice) == 600_000 * CNY
    assert event_args(cancelled, trade, "AmountReleased") == [
        {"recordId": invoice, "ledger": voucher.address, "amount": 600_000 * CNY, "reservedTotal": 400_000 * CNY}
    ]


def test_an_invoice_never_backs_more_than_its_amount(suite, trade, scene, cast, now, refused):
    voucher, invoice = suite.voucher, scene.invoice
    voucher.issue(cast.hospital, cast.tier1.address, 600_000 * CNY, now + 90 * DAY, invoice)
    outstanding = voucher.outstanding_of(cast.hospital.address)

    e = refused(
        cast.hospital, "issue", cast.tier1.address, 500_000 * CNY, now + 90 * DAY, invoice, client=suite.voucher
    )

    assert e.error == "InsufficientInvoiceAmount"
    assert e.args_by_name == {"recordId": invoice, "available": 400_000 * CNY, "needed": 500_000 * CNY}
    assert trade.call("availableAmount", invoice) == 400_000 * CNY
    assert voucher.outstanding_of(cast.hospital.address) == outstanding


@pytest.mark.parametrize(
    "case, error",
    [
        ("an order", "NotAnInvoice"),
        ("an unconfirmed invoice", "InvoiceNotConfirmed"),
        ("a rejected invoice", "InvoiceNotConfirmed"),
        ("an invoice between other parties", "InvoicePartiesMismatch"),
        ("an unknown record", "UnknownRecord"),
        ("nothing", "ZeroAmount"),
        ("more than the invoice", "InsufficientInvoiceAmount"),
    ],
)
def test_a_ledger_cannot_reserve(scene, cast, refused, case, error):
    creditor, debtor = cast.tier1.address, cast.hospital.address
    record_id, amount = scene.invoice, 1_000 * CNY
    if case == "an order":
        record_id = scene.order
        expected = {"recordId": record_id, "docType": DocType.ORDER}
    elif case == "an unconfirmed invoice":
        record_id = scene.pending_invoice
        expected = {"recordId": record_id, "status": RecordStatus.REGISTERED}
    elif case == "a rejected invoice":
        record_id = scene.rejected_invoice
        expected = {"recordId": record_id, "status": RecordStatus.REJECTED}
    elif case == "an invoice between other parties":
        record_id = scene.other_invoice  # tier2 -> tier1, reserved for tier1 -> hospital
        expected = {"recordId": record_id, "creditor": creditor, "debtor": debtor}
    elif case == "an unknown record":
        record_id = 777
        expected = {"recordId": 777}
    elif case == "nothing":
        amount = 0
        expected = {}
    else:
        amount = INVOICE_AMOUNT + 1
        expected = {"recordId": record_id, "available": INVOICE_AMOUNT, "needed": amount}

    e = refused(scene.ledger, "reserve", record_id, creditor, debtor, amount)

    assert (e.error, e.args_by_name) == (error, expected)


def test_a_ledger_reserves_and_releases_in_parts(trade, scene, cast, refused):
    args = (cast.tier1.address, cast.hospital.address)
    trade.send(scene.ledger, "reserve", scene.invoice, *args, 300_000 * CNY)
    reserved = trade.send(scene.ledger, "reserve", scene.invoice, *args, 200_000 * CNY)
    assert event_args(reserved, trade, "AmountReserved") == [
        {
            "recordId": scene.invoice,
            "ledger": scene.ledger.address,
            "amount": 200_000 * CNY,
            "reservedTotal": 500_000 * CNY,
        }
    ]

    released = trade.send(scene.ledger, "release", scene.invoice, 450_000 * CNY)

    assert trade.call("availableAmount", scene.invoice) == 950_000 * CNY
    assert event_args(released, trade, "AmountReleased") == [
        {
            "recordId": scene.invoice,
            "ledger": scene.ledger.address,
            "amount": 450_000 * CNY,
            "reservedTotal": 50_000 * CNY,
        }
    ]
    e = refused(scene.ledger, "release", scene.invoice, 50_000 * CNY + 1)
    assert (e.error, e.args_by_name) == (
        "ReleaseExceedsReserved",
        {"recordId": scene.invoice, "reserved": 50_000 * CNY, "released": 50_000 * CNY + 1},
    )


def test_releasing_on_an_unknown_record_is_refused(scene, refused):
    e = refused(scene.ledger, "release", 888, 1)

    assert (e.error, e.args_by_name) == ("UnknownRecord", {"recordId": 888})


def test_a_document_cannot_name_a_rejected_record_as_its_parent(trade, scene, cast, refused):
    count = trade.call("recordCount")

    e = refused(
        cast.tier1, "register", int(DocType.RECEIPT), doc("receipt behind a rejected invoice"), cast.hospital.address,
        1_000 * CNY, scene.rejected_invoice,
    )

    assert (e.error, e.args_by_name) == ("ParentRejected", {"parentId": scene.rejected_invoice})
    assert trade.call("recordCount") == count
