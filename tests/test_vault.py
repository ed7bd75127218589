"""The document vault, as a financing story: tier 1 files its order, delivery note and invoice
with the hospital, sealed for the two of them and the regulator the consortium's policy names;
only salted commitments go on chain; the hospital opens and confirms each; tier 1 pays tier 3
with part of the voucher and discloses the trail to it; tier 3 discloses it to the bank it
negotiates with, and the bank's tooling opens and verifies every document against the chain.
Expected commitments are recomputed here from the documents and the salts with plain keccak."""

from __future__ import annotations

import json

import pytest
import requests
from eth_utils import keccak

from scf.api import ReadService, create_app, running
from scf.contracts import DocType, RecordStatus
from scf.indexer import EventIndex
from scf.vault import VaultError
from tests.support import CNY, DAY

FACE = 1_000_000 * CNY
ORDER = b"PO-7731: 400 infusion pumps, 1,000,000.00 CNY, delivery by 2027-01-15"
DELIVERY = b"DN-7731: 400 infusion pumps delivered to City Hospital, signed J. Wu"
INVOICE = b"INV-7731: 1,000,000.00 CNY, due 90 days"




def _trail(desks, cast, suffix: bytes = b""):
    """Tier 1 files order -> delivery -> invoice with the hospital, which confirms each."""
    tier1, hospital = desks["tier1"], desks["hospital"]
    order, _ = tier1.put_trade_document(DocType.ORDER, ORDER + suffix, "po.txt", cast.hospital.address, FACE)
    hospital.confirm(order)
    delivery, _ = tier1.put_trade_document(
        DocType.DELIVERY_NOTE, DELIVERY + suffix, "dn.txt", cast.hospital.address, FACE, order)
    hospital.confirm(delivery)
    invoice, _ = tier1.put_trade_document(
        DocType.INVOICE, INVOICE + suffix, "inv.txt", cast.hospital.address, FACE, delivery)
    hospital.confirm(invoice)
    return order, delivery, invoice


def test_the_trail_travels_sealed_and_the_bank_verifies_every_document(suite, cast, desks, vault, now):
    order, delivery, invoice = _trail(desks, cast, b" story")
    for record, content in ((order, ORDER), (delivery, DELIVERY), (invoice, INVOICE)):
        opened = desks["hospital"].get_record(record).opening
        assert opened.content == content + b" story"
        # What the chain holds is the salted commitment, not the document's bare hash.
        anchored = suite.trade.doc_hash(record)
        assert anchored == keccak(opened.salt + keccak(content + b" story"))
        assert anchored != keccak(content + b" story")
        assert suite.trade.record(record).status == RecordStatus.CONFIRMED
        # The regulator reads it through the policy's escrow; the bank cannot yet.
        assert desks["auditor"].get_record(record).opening.content == content + b" story"
        with pytest.raises(VaultError, match="not entitled"):
            desks["bank"].get_record(record)

    slot, _ = suite.voucher.issue(cast.hospital, cast.tier1.address, FACE, now + 90 * DAY, invoice)
    root, _ = suite.voucher.accept(cast.tier1, slot)
    part, _ = suite.voucher.split_transfer(cast.tier1, root, cast.tier3.address, 200_000 * CNY)

    assert desks["tier1"].trail(root) == [invoice, delivery, order]
    desks["tier1"].disclose(root, cast.tier3.address, "paid with part of the voucher")
    desks["tier3"].disclose(part, cast.bank.address, "discount of voucher part")

    check = desks["bank"].verify_trail(part)
    assert [c.record.record_id for c in check.documents] == [invoice, delivery, order]
    assert [c.opening.content for c in check.documents] == [x + b" story" for x in (INVOICE, DELIVERY, ORDER)]
    assert check.unconfirmed == [] and check.escrow_missing == []

    # The audit trail: who disclosed what to whom, signed by the discloser.
    disclosures = [s for s in vault.statements("disclosure") if s.body["to"] == cast.bank.address]
    assert [(s.author, s.body["voucher"], [d["record"] for d in s.body["documents"]]) for s in disclosures] == [
        (cast.tier3.address, f"{part >> 32}.{part & 0xFFFFFFFF}", [invoice, delivery, order])
    ]
    (verified,) = [s for s in vault.statements("verification") if s.author == cast.bank.address]
    assert verified.body["documents"][0]["commitment"] == "0x" + suite.trade.doc_hash(invoice).hex()
    # Tier 2 was told nothing.
    with pytest.raises(VaultError, match="not entitled"):
        desks["tier2"].get_record(invoice)


def test_the_vault_holds_nothing_readable(desks, cast, vault):
    """No file of the vault contains the document, its name or its salt in the clear."""
    order, *_ = _trail(desks, cast, b" opaque")
    opened = desks["tier1"].get_record(order).opening
    for path in [*vault.blobs.iterdir(), vault.folder / "index.sqlite"]:
        data = path.read_bytes()
        assert ORDER not in data and b"po.txt" not in data and opened.salt not in data
        assert opened.salt.hex().encode() not in data


def test_the_same_document_between_the_same_parties_is_anchored_once(suite, cast, desks):
    """The pair's salt gives one commitment per document and pair, so the registry's guard
    against anchoring a document twice keeps working on commitments."""
    desks["tier1"].put_trade_document(DocType.INVOICE, INVOICE + b" once", "i.txt", cast.hospital.address, FACE)
    with pytest.raises(VaultError, match="already anchored"):
        desks["tier1"].put_trade_document(DocType.INVOICE, INVOICE + b" once", "i.txt", cast.hospital.address, FACE)
    count = suite.trade.call("recordCount")
    # The hospital anchoring the same file from its side derives the same commitment: refused on chain.
    with pytest.raises(VaultError, match="already anchored"):
        desks["hospital"].put_trade_document(DocType.INVOICE, INVOICE + b" once", "i.txt", cast.tier1.address, FACE)
    assert suite.trade.call("recordCount") == count


def test_a_signed_record_edited_in_the_index_is_reported(desks, cast, vault):
    _trail(desks, cast, b" edited")
    statement = vault.statements("policy")[-1]
    forged = json.dumps(statement.body | {"escrow": []}, sort_keys=True, separators=(",", ":"))
    vault.db.execute("UPDATE statements SET text = ? WHERE id = ?", (forged, statement.id))
    with pytest.raises(VaultError, match="was altered"):
        vault.statements("policy")


def test_the_read_api_shows_a_member_its_documents_state_and_serves_only_ciphertext(
    suite, cast, desks, vault, tmp_path
):
    """``/api/vault/documents`` is what the member page shows; ``/api/vault/blobs/{sha256}``
    serves an envelope as filed. Bad queries are refused with what is wrong; a service kept
    without a vault says so."""
    order, _, invoice = _trail(desks, cast, b" api")
    index = EventIndex(suite.conn, suite.deployment, tmp_path / "index.sqlite")
    service = ReadService(index, None, None, vault)
    with running(service, create_app(service), interval=0.2) as url:
        answer = requests.get(f"{url}/api/vault/documents", params={"member": cast.auditor.address}, timeout=10)
        assert answer.status_code == 200
        items = {d["record"]: d for d in answer.json()["items"]}
        assert {order, invoice} <= set(items)
        mine = items[invoice]
        assert mine["held"] and mine["filePresent"] and mine["readable"] and mine["owner"] == cast.tier1.address
        assert mine["readers"] == []  # not disclosed to anyone beyond its parties and the regulator
        assert mine["ownerName"] == "MedSupply Co (tier 1)"
        blob = vault.document(bytes.fromhex(mine["commitment"][2:])).blob
        served = requests.get(f"{url}/api/vault/blobs/{blob}", timeout=10)
        assert served.status_code == 200 and served.content == (vault.blobs / blob).read_bytes()
        assert INVOICE not in served.content and b"inv.txt" not in served.content

        link = vault.blobs / ("f" * 64)  # planted by whoever can write the folder
        link.symlink_to(tmp_path / "index.sqlite")
        planted = requests.get(f"{url}/api/vault/blobs/{link.name}", timeout=10)
        assert planted.status_code == 404 and "cannot be read as a file" in planted.json()["error"]
        for path, params, status, words in (
            ("documents", {}, 400, "member= is required"),
            ("documents", {"member": "0x12"}, 400, "member="),
            ("documents", {"member": cast.tier1.address, "reader": "x"}, 400, "unknown parameter reader"),
            ("blobs/" + "A" * 64, {}, 400, "not a vault address"),
            ("blobs/../index.sqlite", {}, 404, ""),
            ("blobs/" + "0" * 64, {}, 404, "has no file"),
        ):
            refused = requests.get(f"{url}/api/vault/{path}", params=params, timeout=10)
            assert refused.status_code == status, (path, refused.text)
            assert words in refused.text
    bare = ReadService(index, None, None, None)
    with running(bare, create_app(bare), interval=0.2) as url:
        missing = requests.get(f"{url}/api/vault/documents", params={"member": cast.tier1.address}, timeout=10)
        assert missing.status_code == 404 and "keeps no document vault" in missing.json()["error"]
