"""The document vault under attack, from the attacker's side.

The vault is a shared folder (``blobs/`` and ``index.sqlite``) with no write authentication
of its own: whoever can reach the folder can rewrite any file and any row. What an attacker
cannot do is forge what the vault checks everything against: a member's private key (key
wraps, key cards, signed statements), AES-GCM's authentication (envelopes), keccak (the
commitments anchored on chain) and the registry (who is an active member, who is an
operator). So each test here plays one attacker with full write access to the folder, or a
member acting outside its rights, and checks that the victim's desk:

- refuses, with a message that names the problem (wrong key, not entitled, altered on disk,
  fails authentication, swapped, salt mismatch, suspended, missing, not an operator), and
- writes nothing: the vault's files, its ``documents``, ``grants``, ``statements`` and
  ``key_cards`` tables, the chain's record count and the statuses of the records involved
  read the same before and after the refusal (``_refused``).

Groups: a wrong key; a reader not entitled; a tampered ciphertext; a swapped document; a salt
that does not match; a suspended member; a lost vault file; a forged policy; garbage bytes.
The last section holds the defects this file found first (each was an ``xfail(strict=True)``
until fixed): nested JSON that crashed the parsers, a signature cut short, an envelope with
unknown fields, a refused put that filed a key card, an old policy replayed into the index,
and a suspended member passing on keys it holds.

Every test files documents whose contents carry the test's name: the trade registry refuses
the same commitment twice between the same pair, and the pair's salt gives one commitment per
document. Anything suspended is reinstated in a ``finally`` (``_suspended``): the suite is
session-scoped.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eth_account import Account
from eth_account.messages import encode_defunct
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scf.chain import ContractRevert
from scf.chain.devnet import set_balance
from scf.contracts import DocType, MemberStatus, RecordStatus, Role
from scf.deploy import deploy_suite
from scf.scenario.runner import open_story_vault
from scf.suite import Suite
from scf.vault import Envelope, KeyCard, Opening, Vault, VaultDesk, VaultError
from scf.vault.sealing import (
    FORMAT,
    MAGIC,
    SALT_BYTES,
    key_card_text,
    new_content_key,
    new_salt,
    pair_salt,
    sign_statement,
    unwrap,
    wrap,
)
from scf.vault.store import VaultBound
from tests.support import CNY, DAY, ROOT

FACE = 1_000_000 * CNY


# ------------------------------------------------------------------------------ fixtures




# ------------------------------------------------------------------------------- helpers


def _doc(test: str, what: str = "invoice") -> bytes:
    """A document's contents, unique to the test that files it."""
    return f"{what.upper()} for {test}: 1,000,000.00 CNY, due 90 days".encode()


def _put(desks, cast, test: str, doc_type: DocType = DocType.INVOICE, parent: int = 0,
         registrant: str = "tier1", counterparty: str = "hospital") -> tuple[int, bytes]:
    """The registrant files and anchors one document with the counterparty (not confirmed)."""
    return desks[registrant].put_trade_document(
        doc_type, _doc(test, doc_type.name), f"{doc_type.name.lower()}.txt",
        getattr(cast, counterparty).address, FACE, parent)


def _trail(desks, cast, test: str) -> tuple[int, int, int]:
    """Tier 1 files order -> delivery -> invoice with the hospital, which confirms each."""
    hospital = desks["hospital"]
    order, _ = _put(desks, cast, test, DocType.ORDER)
    hospital.confirm(order)
    delivery, _ = _put(desks, cast, test, DocType.DELIVERY_NOTE, order)
    hospital.confirm(delivery)
    invoice, _ = _put(desks, cast, test, DocType.INVOICE, delivery)
    hospital.confirm(invoice)
    return order, delivery, invoice


def _voucher(suite, cast, now, invoice: int) -> int:
    """The hospital's voucher on ``invoice`` to tier 1, accepted: its root."""
    slot, _ = suite.voucher.issue(cast.hospital, cast.tier1.address, FACE, now + 90 * DAY, invoice)
    root, _ = suite.voucher.accept(cast.tier1, slot)
    return root


def _hex(commitment: bytes) -> str:
    return "0x" + commitment.hex()


def _edit_index(vault: Vault, sql: str, *args: Any) -> None:
    """The attacker's write to the index: its own connection, as any process that can reach
    the folder."""
    db = sqlite3.connect(vault.folder / "index.sqlite")
    try:
        with db:
            db.execute(sql, args)
    finally:
        db.close()


def _blob_path(vault: Vault, commitment: bytes):
    stored = vault.document(commitment)
    assert stored is not None
    return vault.blobs / stored.blob


def _content_key(vault: Vault, account, commitment: bytes) -> bytes:
    """The document's key, as one of its readers (an insider turned attacker) unwraps it."""
    grant = vault.grant(commitment, account.address)
    assert grant is not None
    key = unwrap(account, grant.wrapped)
    assert key is not None
    return key


def _cards(vault: Vault, cast) -> dict[str, KeyCard]:
    """The key cards a put by tier 1 with the hospital wraps for (the regulator's: escrow)."""
    cards = {a.address: vault.key_card(a.address) for a in (cast.tier1, cast.hospital, cast.auditor)}
    assert all(cards.values())
    return cards


def _state(vault: Vault, suite, records: Sequence[int] = ()) -> dict[str, Any]:
    """Everything a refusal could have written: the vault's files and tables, the chain's
    record count and the statuses of ``records``."""
    rows = vault.db.execute
    return {
        "blobs": sorted(p.name for p in vault.blobs.iterdir()),
        "documents": rows("SELECT * FROM documents ORDER BY commitment").fetchall(),
        "grants": rows("SELECT * FROM grants ORDER BY commitment, reader").fetchall(),
        "statements": rows("SELECT * FROM statements ORDER BY id").fetchall(),
        "key_cards": rows("SELECT * FROM key_cards ORDER BY address").fetchall(),
        "record count": suite.trade.call("recordCount"),
        "record statuses": {r: suite.trade.record(r).status for r in records},
    }


def _refused(vault: Vault, suite, match: str, action: Callable[[], object], records: Sequence[int] = ()) -> str:
    """``action`` raises VaultError matching ``match`` and leaves ``_state`` as it was;
    returns the message."""
    before = _state(vault, suite, records)
    with pytest.raises(VaultError, match=match) as refusal:
        action()
    after = _state(vault, suite, records)
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert not changed, f"refused ({refusal.value}) but wrote: {changed}"
    return str(refusal.value)


@contextmanager
def _suspended(suite, cast, account) -> Iterator[None]:
    """``account`` suspended by the operator for the block, reinstated however it ends."""
    suite.registry.suspend(cast.operator, account.address)
    try:
        assert suite.registry.status_of(account.address) == MemberStatus.SUSPENDED
        yield
    finally:
        if suite.registry.status_of(account.address) == MemberStatus.SUSPENDED:
            suite.registry.reinstate(cast.operator, account.address)
        assert suite.registry.status_of(account.address) == MemberStatus.ACTIVE


def _forge_envelope(commitment: bytes, opening: Opening, key: bytes) -> Envelope:
    """An envelope filed under ``commitment`` whose sealed opening is ``opening``: AES-GCM
    with the commitment as associated data, as ``Envelope.seal`` does (``sealing._aad``), so
    it authenticates under ``key`` whatever the opening holds."""
    nonce = os.urandom(12)
    return Envelope(commitment, nonce, AESGCM(key).encrypt(nonce, opening.to_bytes(), FORMAT.encode() + commitment))


def _refile(vault: Vault, commitment: bytes, envelope: Envelope) -> str:
    """The attacker files ``envelope`` under its own SHA-256 address and points the index's
    row of ``commitment`` at it: the store's own address check then passes."""
    (vault.blobs / envelope.address).write_bytes(envelope.to_bytes())
    _edit_index(vault, "UPDATE documents SET blob = ? WHERE commitment = ?", envelope.address, _hex(commitment))
    return envelope.address


# ----------------------------------------------------------------------------- wrong key


def test_a_key_wrapped_for_another_members_key_does_not_open_for_the_reader(suite, cast, desks, vault):
    record, commitment = _put(desks, cast, "wrong key")
    key = _content_key(vault, cast.tier1, commitment)
    tier3_key = vault.key_card(cast.tier3.address).public_key()
    # The hospital's grant row now holds the right content key, wrapped for tier 3's key.
    _edit_index(vault, "UPDATE grants SET wrapped = ? WHERE commitment = ? AND reader = ?",
                wrap(tier3_key, key), _hex(commitment), cast.hospital.address)
    message = _refused(vault, suite, "does not open with this account's key",
                       lambda: desks["hospital"].get_record(record), [record])
    assert cast.hospital.address in message and _hex(commitment) in message
    _refused(vault, suite, "does not open with this account's key", lambda: desks["hospital"].confirm(record), [record])
    assert suite.trade.record(record).status == RecordStatus.REGISTERED

    # Wrapped for the hospital's own key but not this document's key: the envelope refuses it.
    hospital_key = vault.key_card(cast.hospital.address).public_key()
    _edit_index(vault, "UPDATE grants SET wrapped = ? WHERE commitment = ? AND reader = ?",
                wrap(hospital_key, new_content_key()), _hex(commitment), cast.hospital.address)
    _refused(vault, suite, "fails authentication", lambda: desks["hospital"].get_record(record), [record])
    # Garbage where a wrap should be.
    _edit_index(vault, "UPDATE grants SET wrapped = ? WHERE commitment = ? AND reader = ?",
                b"\x04" + b"\x00" * 40, _hex(commitment), cast.hospital.address)
    _refused(vault, suite, "does not open with this account's key", lambda: desks["hospital"].get_record(record))


def test_a_key_card_signed_by_another_key_is_never_filed(suite, cast, desks, vault):
    chain = suite.conn.chain_id

    def signed_by(signer, address: str) -> KeyCard:
        text = key_card_text(address, chain)
        return KeyCard(address, chain, bytes(signer.sign_message(encode_defunct(text=text)).signature))

    # Tier 1 signs a card in the operator's name (the operator has none yet).
    forged = signed_by(cast.tier1, cast.operator.address)
    with pytest.raises(VaultError, match=f"signed by {cast.tier1.address}: it is not that member's key"):
        forged.public_key()
    _refused(vault, suite, f"filed for {cast.operator.address} was signed by {cast.tier1.address}",
             lambda: vault.put_key_card(forged))
    assert vault.key_card(cast.operator.address) is None

    # ...and one in the bank's name, so keys meant for the bank open for tier 1: the bank's card stays.
    genuine = vault.key_card(cast.bank.address)
    _refused(vault, suite, "not that member's key",
             lambda: vault.put_key_card(signed_by(cast.tier1, cast.bank.address)))
    assert vault.key_card(cast.bank.address) == genuine
    # A signature that is not one.
    _refused(vault, suite, "malformed signature",
             lambda: vault.put_key_card(KeyCard(cast.bank.address, chain, genuine.signature[:64])))
    _refused(vault, suite, "malformed signature",
             lambda: vault.put_key_card(KeyCard(cast.bank.address, chain, genuine.signature[:64] + b"\x05")))

    # Written straight into the index, the forged card still wraps nothing for the bank.
    record, commitment = _put(desks, cast, "forged card")
    forged_bank = signed_by(cast.tier1, cast.bank.address)
    _edit_index(vault, "UPDATE key_cards SET signature = ? WHERE address = ?", forged_bank.signature, cast.bank.address)
    _refused(vault, suite, "not that member's key", lambda: desks["tier1"].share([record], cast.bank.address))
    assert vault.grant(commitment, cast.bank.address) is None


# -------------------------------------------------------------------- reader not entitled


def test_a_member_never_shared_with_is_not_entitled(suite, cast, desks, vault):
    record, commitment = _put(desks, cast, "never shared")
    for name in ("tier2", "bank", "tier3"):
        message = _refused(vault, suite, "is not entitled to document", lambda n=name: desks[n].get_record(record))
        assert _hex(commitment) in message and f"record {record}" in message
    # The parties and the escrow regulator read it.
    for name in ("tier1", "hospital", "auditor"):
        assert desks[name].get_record(record).opening.content == _doc("never shared")


def test_a_member_cannot_share_what_it_cannot_read(suite, cast, desks, vault, now):
    """Tier 2 is paid with part of a voucher but never shown the trail behind it: as its holder
    it may disclose the trail, but it holds no key to pass on; nor is it a party to share."""
    *_, invoice = _trail(desks, cast, "share unread")
    part, _ = suite.voucher.split_transfer(cast.tier1, _voucher(suite, cast, now, invoice), cast.tier2.address,
                                           1_000 * CNY)
    _refused(vault, suite, f"{cast.tier2.address} is not entitled",
             lambda: desks["tier2"].disclose(part, cast.bank.address, purpose="resale"), [invoice])
    _refused(vault, suite, f"{cast.tier2.address} is not a party",
             lambda: desks["tier2"].share([invoice], cast.bank.address, purpose="resale"), [invoice])
    assert vault.statements("disclosure") == []
    _refused(vault, suite, "not entitled", lambda: desks["bank"].get_record(invoice))


def test_an_outsider_or_a_member_without_a_key_card_receives_no_share(suite, cast, desks, vault):
    record, commitment = _put(desks, cast, "no recipient")
    share = desks["tier1"].share
    _refused(vault, suite, f"recipient {cast.outsider.address} is not a member",
             lambda: share([record], cast.outsider.address))
    # The operator signs the registry's transactions but is no member.
    _refused(vault, suite, "is not a member", lambda: share([record], cast.operator.address))
    _refused(vault, suite, "does not share documents with itself", lambda: share([record], cast.tier1.address))

    # Tier 3's card is gone from the index...
    _edit_index(vault, "DELETE FROM key_cards WHERE address = ?", cast.tier3.address)
    _refused(vault, suite, f"recipient {cast.tier3.address} has not published its vault key",
             lambda: share([record], cast.tier3.address))
    # ...or is a genuine card of another chain: not one for this vault's.
    vault.put_key_card(KeyCard.make(cast.tier3, suite.conn.chain_id + 1))
    _refused(vault, suite, "has not published its vault key", lambda: share([record], cast.tier3.address))
    assert {g.reader for g in vault.grants(commitment)} == {cast.tier1.address, cast.hospital.address,
                                                            cast.auditor.address}
    assert vault.statements("disclosure") == []


def test_only_the_holder_of_a_voucher_discloses_its_trail(suite, cast, desks, vault, now):
    _, _, invoice = _trail(desks, cast, "holder only")
    root = _voucher(suite, cast, now, invoice)
    for name in ("hospital", "tier3", "bank"):
        _refused(vault, suite, f"does not hold voucher .* \\(its holder is {cast.tier1.address}\\)",
                 lambda n=name: desks[n].disclose(root, cast.tier2.address, "resale"))
    # Once tier 1 pays tier 3 with part of it, tier 1 no longer discloses that part.
    part, _ = suite.voucher.split_transfer(cast.tier1, root, cast.tier3.address, 200_000 * CNY)
    _refused(vault, suite, f"{cast.tier1.address} does not hold voucher",
             lambda: desks["tier1"].disclose(part, cast.bank.address))
    assert vault.statements("disclosure") == []


# --------------------------------------------------------------------- tampered ciphertext


def test_a_flipped_ciphertext_byte_is_caught_on_disk_and_by_authentication(suite, cast, desks, vault):
    record, commitment = _put(desks, cast, "tampered")
    path = _blob_path(vault, commitment)
    envelope = Envelope.from_bytes(path.read_bytes())
    flipped = bytearray(envelope.ciphertext)
    flipped[len(flipped) // 2] ^= 0x01
    tampered = Envelope(envelope.commitment, envelope.nonce, bytes(flipped))

    # Rewritten in place: its bytes no longer match the name they are filed under.
    path.write_bytes(tampered.to_bytes())
    message = _refused(vault, suite, "was altered on disk", lambda: desks["hospital"].get_record(record), [record])
    assert str(path) in message
    _refused(vault, suite, "was altered on disk", lambda: desks["tier1"].share([record], cast.bank.address))

    # Re-filed under its own SHA-256 and the index pointed at it: the store's check passes,
    # AES-GCM's does not.
    _refile(vault, commitment, tampered)
    for name in ("hospital", "tier1", "auditor"):
        _refused(vault, suite, f"document {_hex(commitment)[:14]}… fails authentication",
                 lambda n=name: desks[n].get_record(record), [record])
    _refused(vault, suite, "fails authentication", lambda: desks["hospital"].confirm(record), [record])
    _refused(vault, suite, "fails authentication", lambda: desks["tier1"].share([record], cast.bank.address))
    assert suite.trade.record(record).status == RecordStatus.REGISTERED
    assert vault.statements("disclosure") == [] and vault.grant(commitment, cast.bank.address) is None


def test_an_envelope_with_an_altered_nonce_or_commitment_is_refused(suite, cast, desks, vault):
    record, commitment = _put(desks, cast, "altered header")
    envelope = Envelope.from_bytes(_blob_path(vault, commitment).read_bytes())
    key = _content_key(vault, cast.hospital, commitment)
    nonce = bytearray(envelope.nonce)
    nonce[0] ^= 0x80
    with pytest.raises(VaultError, match="fails authentication"):
        Envelope(envelope.commitment, bytes(nonce), envelope.ciphertext).open(key)
    # The commitment is the cipher's associated data: relabelled, the envelope fails too.
    other = bytes(32)
    with pytest.raises(VaultError, match="fails authentication"):
        Envelope(other, envelope.nonce, envelope.ciphertext).open(key)
    _refile(vault, commitment, Envelope(envelope.commitment, bytes(nonce), envelope.ciphertext))
    _refused(vault, suite, "fails authentication", lambda: desks["hospital"].get_record(record), [record])


# ---------------------------------------------------------------------- swapped document


def test_an_index_pointing_at_another_documents_file_is_a_swap(suite, cast, desks, vault):
    a, commitment_a = _put(desks, cast, "swap a", DocType.ORDER)
    b, commitment_b = _put(desks, cast, "swap b", DocType.ORDER)
    _edit_index(vault, "UPDATE documents SET blob = ? WHERE commitment = ?",
                vault.document(commitment_b).blob, _hex(commitment_a))
    message = _refused(vault, suite, "the document was swapped", lambda: desks["hospital"].get_record(a), [a, b])
    assert f"holds document {_hex(commitment_b)}, not {_hex(commitment_a)}" in message
    _refused(vault, suite, "swapped", lambda: desks["hospital"].confirm(a), [a, b])
    _refused(vault, suite, "swapped", lambda: desks["tier1"].share([b, a], cast.bank.address), [a, b])
    assert vault.grant(commitment_b, cast.bank.address) is None
    assert desks["hospital"].get_record(b).opening.content == _doc("swap b", "order")


def test_a_sealed_document_filed_under_another_record_is_a_swap(suite, cast, desks, vault):
    """The registrant, a party to the record, seals a different order for the same readers
    and files it as the record's document: it opens, but it is not what the chain anchored."""
    record, anchored = _put(desks, cast, "substituted", DocType.ORDER)
    tier1 = desks["tier1"]
    readers = _cards(vault, cast)
    content = _doc("substituted", "order with twice the amount")
    salt = pair_salt(cast.tier1, readers[cast.hospital.address].public_key(), content)
    substitute = tier1._file(Opening(salt, content, "order.txt", "order"), readers)
    _edit_index(vault, "UPDATE documents SET record = NULL WHERE commitment = ?", _hex(anchored))
    _edit_index(vault, "UPDATE documents SET record = ? WHERE commitment = ?", record, _hex(substitute.commitment))
    assert vault.document_of_record(record).commitment == substitute.commitment

    for name in ("hospital", "auditor", "tier1"):
        message = _refused(vault, suite, re.escape(f"the chain anchored {_hex(anchored)} (a swapped document)"),
                           lambda n=name: desks[n].get_record(record), [record])
        assert f"commits to {_hex(substitute.commitment)}" in message
    _refused(vault, suite, "swapped document", lambda: desks["hospital"].confirm(record), [record])
    assert suite.trade.record(record).status == RecordStatus.REGISTERED


def test_a_document_of_another_type_than_anchored_is_refused(suite, cast, desks, vault):
    """The registrant seals an order and anchors its commitment as an invoice."""
    tier1 = desks["tier1"]
    readers = _cards(vault, cast)
    content = _doc("type swap", "order")
    salt = pair_salt(cast.tier1, readers[cast.hospital.address].public_key(), content)
    stored = tier1._file(Opening(salt, content, "order.txt", "order"), readers)
    record, _ = suite.trade.register(cast.tier1, DocType.INVOICE, stored.commitment, cast.hospital.address, FACE)
    vault.set_record(stored.commitment, record)
    _refused(vault, suite, "says it is a order; the chain anchored a invoice",
             lambda: desks["hospital"].confirm(record), [record])
    assert suite.trade.record(record).status == RecordStatus.REGISTERED


def test_a_trail_with_a_swapped_document_is_shared_all_or_nothing(suite, cast, desks, vault, now):
    order, delivery, invoice = _trail(desks, cast, "all or nothing")
    root = _voucher(suite, cast, now, invoice)
    # The order's row now points at the delivery note's (intact) file.
    order_commitment = suite.trade.doc_hash(order)
    delivery_commitment = suite.trade.doc_hash(delivery)
    _edit_index(vault, "UPDATE documents SET blob = ? WHERE commitment = ?",
                vault.document(delivery_commitment).blob, _hex(order_commitment))
    trail = [invoice, delivery, order]
    _refused(vault, suite, "swapped", lambda: desks["tier1"].share(trail, cast.bank.address), trail)
    _refused(vault, suite, "swapped", lambda: desks["tier1"].disclose(root, cast.bank.address, "discount"), trail)
    # Not even the trail's sound documents reached the bank.
    for record in (invoice, delivery):
        assert vault.grant(suite.trade.doc_hash(record), cast.bank.address) is None
        _refused(vault, suite, "not entitled", lambda r=record: desks["bank"].get_record(r))
    assert vault.statements("disclosure") == []
    _refused(vault, suite, "swapped", lambda: desks["tier1"].verify_trail(root))
    assert vault.statements("verification") == []


# -------------------------------------------------------------------- a salt that does not match


def test_an_envelope_whose_salt_does_not_give_its_commitment_is_refused(suite, cast, desks, vault):
    """A reader holding the document's key re-seals the same document with another salt under
    the original commitment: it authenticates, but its salt does not give the commitment."""
    record, commitment = _put(desks, cast, "salt mismatch")
    key = _content_key(vault, cast.tier1, commitment)
    genuine = desks["tier1"].get_record(record).opening
    resalted = Opening(new_salt(), genuine.content, genuine.name, genuine.kind)
    forged = _forge_envelope(commitment, resalted, key)
    with pytest.raises(VaultError, match=re.escape(
        f"commitment {_hex(resalted.commitment)}, not the {_hex(commitment)} it is filed under (salt mismatch)"
    )):
        forged.open(key)
    _refile(vault, commitment, forged)
    for name in ("hospital", "auditor"):
        _refused(vault, suite, "salt mismatch", lambda n=name: desks[n].get_record(record), [record])
    _refused(vault, suite, "salt mismatch", lambda: desks["hospital"].confirm(record), [record])
    # Same salt, other contents: the same refusal.
    forged = _forge_envelope(commitment, Opening(genuine.salt, b"INVOICE: 9,000,000.00 CNY", "i.txt", "invoice"), key)
    _refile(vault, commitment, forged)
    _refused(vault, suite, "salt mismatch", lambda: desks["hospital"].get_record(record), [record])
    assert suite.trade.record(record).status == RecordStatus.REGISTERED


def test_a_record_anchored_with_a_random_salt_is_not_confirmed(suite, cast, desks, vault):
    """The registrant salts its invoice at random instead of with the pair's salt, so it could
    anchor the same invoice again under another commitment: the counterparty refuses it."""
    tier1 = desks["tier1"]
    content = _doc("random salt")
    readers = _cards(vault, cast)
    stored = tier1._file(Opening(new_salt(), content, "invoice.txt", "invoice"), readers)
    record, _ = suite.trade.register(cast.tier1, DocType.INVOICE, stored.commitment, cast.hospital.address, FACE)
    vault.set_record(stored.commitment, record)
    # The document itself is genuine: the hospital opens it.
    assert desks["hospital"].get_record(record).opening.content == content
    message = _refused(vault, suite, "not the parties' own", lambda: desks["hospital"].confirm(record), [record])
    assert f"trade record {record}" in message
    assert suite.trade.record(record).status == RecordStatus.REGISTERED


# ---------------------------------------------------------------------- suspended member


def test_no_key_is_rewrapped_for_a_suspended_member(suite, cast, desks, vault, now):
    invoice, commitment = _put(desks, cast, "suspended recipient")
    desks["hospital"].confirm(invoice)
    root = _voucher(suite, cast, now, invoice)
    with _suspended(suite, cast, cast.bank):
        _refused(vault, suite, f"recipient {cast.bank.address} is suspended: no document key is wrapped",
                 lambda: desks["tier1"].share([invoice], cast.bank.address), [invoice])
        _refused(vault, suite, "is suspended", lambda: desks["tier1"].disclose(root, cast.bank.address, "discount"))
        assert vault.grant(commitment, cast.bank.address) is None
        assert vault.statements("disclosure") == []
    # Reinstated, the bank may be told.
    desks["tier1"].disclose(root, cast.bank.address, "discount")
    assert desks["bank"].get_record(invoice).opening.content == _doc("suspended recipient")


def test_nothing_is_filed_or_anchored_with_a_suspended_counterparty(suite, cast, desks, vault):
    with _suspended(suite, cast, cast.hospital):
        message = _refused(vault, suite, f"counterparty {cast.hospital.address} is suspended",
                           lambda: _put(desks, cast, "suspended counterparty"))
    assert "no document key is wrapped" in message
    assert vault.documents() == [] and list(vault.blobs.iterdir()) == []


def test_nothing_is_filed_while_an_escrow_regulator_is_suspended(suite, cast, desks, vault):
    with _suspended(suite, cast, cast.auditor):
        _refused(vault, suite, f"escrow regulator {cast.auditor.address} is suspended",
                 lambda: _put(desks, cast, "suspended regulator"))
        _refused(vault, suite, "escrow regulator .* is suspended",
                 lambda: desks["tier1"].put_kyc(b"KYC pack for suspended regulator", "kyc.pdf"))
    assert vault.documents() == [] and list(vault.blobs.iterdir()) == []


# ---------------------------------------------------------------------- lost vault file


def test_a_lost_vault_file_is_reported_not_skipped(suite, cast, desks, vault, now):
    order, delivery, invoice = _trail(desks, cast, "lost file")
    root = _voucher(suite, cast, now, invoice)
    lost = vault.document(suite.trade.doc_hash(delivery))
    path = vault.blobs / lost.blob
    path.unlink()

    message = _refused(vault, suite, re.escape(f"is missing: {path} is gone"),
                       lambda: desks["hospital"].get_record(delivery))
    assert f"delivery_note, record {delivery}" in message and _hex(lost.commitment) in message
    # The trail is not verified without it: no partial success, no verification recorded.
    _refused(vault, suite, "is missing", lambda: desks["tier1"].verify_trail(root))
    _refused(vault, suite, "is missing", lambda: desks["tier1"].verify_trail(root, record=False))
    _refused(vault, suite, "is missing", lambda: desks["tier1"].disclose(root, cast.bank.address))
    assert vault.statements("verification") == [] and vault.statements("disclosure") == []
    assert vault.missing() == [lost]
    # The rest of the trail still opens.
    assert desks["hospital"].get_record(order).opening.content == _doc("lost file", "order")


# ------------------------------------------------------------------------------- policy


def test_a_policy_signed_by_a_non_operator_is_refused(suite, cast, desks, vault):
    """Tier 1 signs a policy without escrow, so its documents would no longer be wrapped for
    the regulator."""
    body = {"kind": "policy", "chain": suite.conn.chain_id, "escrow": [], "at": int(time.time()) + 60}
    text, signature = sign_statement(cast.tier1, body)
    vault.record_statement("policy", (text, signature, cast.tier1.address))
    for name in ("tier1", "hospital", "auditor"):
        _refused(vault, suite, f"signed by {cast.tier1.address}, who is not an operator",
                 lambda n=name: desks[n].escrow())
    _refused(vault, suite, "not an operator", lambda: _put(desks, cast, "forged policy"))
    assert vault.documents() == []

    # Claimed to be the operator's in the index: the signature says otherwise.
    _edit_index(vault, "UPDATE statements SET author = ? WHERE text = ?", cast.operator.address, text)
    _refused(vault, suite, f"says it is by {cast.operator.address} but was signed by {cast.tier1.address}",
             lambda: desks["tier1"].escrow())


def test_a_policy_dated_ahead_of_the_clock_does_not_count_yet(suite, cast, desks, vault):
    """An operator's policy signed with a time far ahead would outrank every later one: until
    its time it does not count, and the policy in force stays in force."""
    VaultDesk(vault, suite, cast.operator, clock=lambda: 2**40).set_policy([])
    assert desks["tier1"].escrow() == [cast.auditor.address]
    record, commitment = _put(desks, cast, "future policy")
    assert vault.grant(commitment, cast.auditor.address) is not None


def test_only_an_operator_sets_the_policy_and_only_with_active_auditors(suite, cast, desks, vault):
    _refused(vault, suite, f"{cast.tier1.address} is not an operator",
             lambda: desks["tier1"].set_policy([cast.tier1.address]))
    _refused(vault, suite, "is not an operator", lambda: desks["auditor"].set_policy([]))
    operator = desks["operator"]
    _refused(vault, suite, f"escrow regulator {cast.bank.address} does not have the auditor role",
             lambda: operator.set_policy([cast.auditor.address, cast.bank.address]))
    _refused(vault, suite, "is not a member", lambda: operator.set_policy([cast.outsider.address]))
    with _suspended(suite, cast, cast.auditor):
        _refused(vault, suite, "is suspended", lambda: operator.set_policy([cast.auditor.address]))
    assert [p.body["escrow"] for p in vault.statements("policy")] == [[cast.auditor.address]]


# ------------------------------------------------------------------------------ garbage


def _envelope(**changes: bytes) -> bytes:
    """A well-formed envelope's bytes, a part replaced where ``changes`` says."""
    parts = {"magic": MAGIC, "commitment": b"\x11" * 32, "nonce": b"\x22" * 12, "ciphertext": b"x" * 40} | changes
    return b"".join(parts.values())


def _opening(**changes: bytes) -> bytes:
    """A well-formed opening's bytes (salt, name, kind, content), a part replaced."""
    parts = {"salt": b"\x33" * SALT_BYTES, "name_length": b"\x00\x05", "name": b"a.txt", "kind_length": b"\x07",
             "kind": b"invoice", "content": b"doc"} | changes
    return b"".join(parts.values())


def test_the_garbage_fixtures_are_well_formed_when_untouched():
    """The malformed inputs below are one part away from these, which parse."""
    assert Envelope.from_bytes(_envelope()).nonce == b"\x22" * 12
    assert Opening.from_bytes(_opening()) == Opening(b"\x33" * SALT_BYTES, b"doc", "a.txt", "invoice")
    assert Opening.from_bytes(Opening(b"\x01" * 32, b"", "", "kyc").to_bytes()).content == b""


@pytest.mark.parametrize("data, match", [
    pytest.param(b"", "does not start with", id="empty"),
    pytest.param(b'{"format": "scf-vault/1"}', "does not start with", id="the old JSON format"),
    pytest.param(_envelope(magic=b"SCF-VAULT/2\n"), "does not start with", id="another version"),
    pytest.param(_envelope(ciphertext=b"x" * 15), "shorter than a sealed empty document", id="no room for the tag"),
    pytest.param(MAGIC + b"\x11" * 40, "shorter than a sealed empty document", id="cut in the nonce"),
])
def test_a_malformed_envelope_is_a_vault_error(data, match):
    with pytest.raises(VaultError, match=f"not a vault envelope .*{match}"):
        Envelope.from_bytes(data)


@pytest.mark.parametrize("data", [
    pytest.param(b"", id="empty"),
    pytest.param(b"\x33" * 33, id="a salt and no more"),
    pytest.param(_opening(name_length=b"\xff\xff"), id="a name longer than the rest"),
    pytest.param(_opening(name_length=b"\x04\x01", name=b"a" * 1025), id="a name over 1,024 bytes"),
    pytest.param(_opening(name=b"\xff\xfe.txt"), id="a name not utf-8"),
    pytest.param(_opening(kind_length=b"\x00"), id="no kind"),
    pytest.param(_opening(kind_length=b"\x40", kind=b"x", content=b""), id="a kind cut short"),
    pytest.param(_opening(kind=b"inv ice"), id="a kind not a name"),
    pytest.param(_opening(kind=b"invo\xefce"), id="a kind not ascii"),
])
def test_a_malformed_opening_is_a_vault_error(data):
    with pytest.raises(VaultError, match="not a vault document"):
        Opening.from_bytes(data)


def test_a_name_or_kind_too_long_is_refused_before_sealing():
    with pytest.raises(VaultError, match="name is at most 1024 bytes"):
        Opening(b"\x01" * 32, b"doc", "n" * 1025, "invoice").to_bytes()


def _parses_or_is_refused(parse: Callable[[bytes], object], data: bytes) -> None:
    """Either a value or VaultError: any other exception fails the test."""
    with suppress(VaultError):
        parse(data)


GARBAGE = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@GARBAGE
@given(st.binary(max_size=400))
def test_any_bytes_are_an_envelope_or_an_opening_or_a_vault_error(data):
    _parses_or_is_refused(Envelope.from_bytes, data)
    _parses_or_is_refused(Opening.from_bytes, data)
    _parses_or_is_refused(Envelope.from_bytes, MAGIC + data)


@GARBAGE
@given(st.binary(max_size=40), st.text(max_size=40), st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1,
       max_size=32), st.binary(max_size=200))
def test_an_opening_reads_back_as_written_and_any_cut_of_it_is_refused_or_shorter(salt, name, kind, content):
    opening = Opening(salt.ljust(32, b"\x00")[:32], content, name, kind)
    data = opening.to_bytes()
    assert Opening.from_bytes(data) == opening
    for cut in range(len(data) - len(content)):  # cut inside the header: never read as a document
        with pytest.raises(VaultError, match="not a vault document"):
            Opening.from_bytes(data[:cut])


# ---------------------------------------------------- defects this file found first, now fixed


# When vault files were JSON, 200,000 nested brackets overflowed json's C decoder under ape
# (py_ecc raises the recursion limit to 100,000) and killed the reader with SIGSEGV; the files
# are binary now, and this stays as the regression test. The parser runs in a child process,
# so a crash fails this test, not the whole run.
NESTED = """
import sys
{preamble}
from scf.vault import Envelope, Opening, VaultError
for parse in (Envelope.from_bytes, Opening.from_bytes):
    try:
        parse(b"[" * {depth})
    except VaultError:
        print("VaultError", flush=True)
"""


@pytest.mark.parametrize("preamble, depth", [
    pytest.param("", 5_000, id="default recursion limit"),
    pytest.param("import py_ecc; assert sys.getrecursionlimit() >= 100_000", 200_000, id="ape's recursion limit"),
])
def test_deeply_nested_json_is_a_vault_error_not_a_crash(preamble, depth):
    child = subprocess.run([sys.executable, "-c", NESTED.format(preamble=preamble, depth=depth)],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert (child.returncode, child.stdout.split()) == (0, ["VaultError", "VaultError"]), (
        f"exit {child.returncode}: {child.stderr.strip().splitlines()[-1:] or child.stdout}")


def test_a_statement_signature_cut_short_is_reported_as_malformed(suite, cast, desks, vault):
    (policy,) = vault.statements("policy")
    r, v = policy.signature[:32], policy.signature[64:]
    assert v in (b"\x1b", b"\x1c")
    _edit_index(vault, "UPDATE statements SET signature = ? WHERE id = ?", r + v, policy.id)
    _refused(vault, suite, "malformed signature", lambda: vault.statements("policy"))
    _refused(vault, suite, "malformed signature", lambda: desks["tier1"].escrow())


def test_an_envelope_with_anything_appended_fails_authentication():
    """One sealed document has one byte form: bytes added to an envelope are read as part of
    its ciphertext, which then fails authentication (when envelopes were JSON, an unknown field
    was ignored, so a document had any number of forms, each under another address)."""
    key = new_content_key()
    sealed = Envelope.seal(Opening(b"\x05" * 32, b"INV-1", "inv.txt", "invoice"), key)
    assert Envelope.from_bytes(sealed.to_bytes()).open(key).content == b"INV-1"
    with pytest.raises(VaultError, match="fails authentication"):
        Envelope.from_bytes(sealed.to_bytes() + b'{"approved_by": "Commerce Bank"}').open(key)


def test_a_refused_put_writes_no_key_card(suite, cast, desks, vault):
    _edit_index(vault, "DELETE FROM key_cards WHERE address = ?", cast.tier1.address)
    with _suspended(suite, cast, cast.hospital):
        _refused(vault, suite, "is suspended", lambda: _put(desks, cast, "refused put card"))


def test_an_old_policy_replayed_into_the_index_does_not_take_effect(suite, cast, desks, vault):
    operator_at = lambda t: VaultDesk(vault, suite, cast.operator, clock=lambda: t)  # noqa: E731
    later = int(time.time()) + 60  # both newer than the fixture's policy
    old = operator_at(later).set_policy([])
    operator_at(later + 100).set_policy([cast.auditor.address])
    assert desks["tier1"].escrow() == [cast.auditor.address]
    vault.record_statement("policy", (old.text, old.signature, old.author))  # the replay
    assert desks["tier1"].escrow() == [cast.auditor.address]


def test_a_suspended_member_passes_on_no_key_it_holds(suite, cast, desks, vault):
    """A member suspended after it was given a document's key could leak the key by hand, but
    the tooling does not wrap it for anyone on its word, and records no disclosure."""
    record, _ = _put(desks, cast, "suspended sharer")
    desks["hospital"].confirm(record)
    with _suspended(suite, cast, cast.hospital):
        _refused(vault, suite, "is suspended: a member that is not active shares no documents",
                 lambda: desks["hospital"].share([record], cast.bank.address))


# ------------------------------------------------------------- found by the review, now fixed


def test_a_document_the_chain_would_refuse_is_not_filed(suite, cast, desks, vault):
    """``register`` is simulated before anything is written: a bank is no trading party, so
    its put is refused by the chain's own rule, and the vault holds nothing of it."""
    before = _state(vault, suite)
    with pytest.raises(ContractRevert, match="NotTradingParty"):
        desks["bank"].put_trade_document(DocType.INVOICE, _doc("chain refusal"), "i.txt", cast.hospital.address, FACE)
    assert _state(vault, suite) == before


def test_a_file_filed_as_one_type_is_not_anchored_as_another(suite, cast, desks, vault):
    """The same file between the same parties has one commitment whatever its type: filed as
    an order, it cannot be re-filed as an invoice (its envelope would say order for ever)."""
    record, _ = _put(desks, cast, "one type", DocType.ORDER)
    _refused(vault, suite, "already anchored", lambda: desks["tier1"].put_trade_document(
        DocType.INVOICE, _doc("one type", "ORDER"), "i.txt", cast.hospital.address, FACE), [record])


def test_a_vault_of_another_deployment_is_refused(suite, cast, conn, vault, desks, tmp_path):
    """A vault serves one deployment: used with another (a fresh anvil has the same chain id
    and the same addresses), its records would name another chain's records."""
    other = Suite.attach(conn, deploy_suite(conn, cast.governance, cast.operator,
                                            manifest_dir=tmp_path / "other").deployment)
    with pytest.raises(VaultBound, match="belongs to another deployment"):
        VaultDesk(vault, other, cast.tier1)


def test_a_story_vault_left_by_a_chain_that_is_gone_is_moved_aside(suite, tmp_path):
    folder = tmp_path / "story"
    stale = Vault(folder)
    stale.bind("31337:0xdead:1:0xbeef", 31337)
    stale.close()
    notes = []
    fresh = open_story_vault(folder, suite, resuming=False, note=notes.append)
    assert [p.name.startswith("story.stale-") for p in tmp_path.iterdir() if p.name.startswith("story.")] == [True]
    assert "moved to story.stale-" in notes[0] and fresh.documents() == []
    fresh.close()
    with pytest.raises(VaultBound):  # an unfinished run's vault must be this chain's
        open_story_vault(next(tmp_path.glob("story.stale-*")), suite, resuming=True, note=notes.append)


def test_a_signed_record_filed_under_another_kind_is_refused(suite, cast, desks, vault, now):
    order, delivery, invoice = _trail(desks, cast, "refiled record")
    desks["tier1"].disclose(_voucher(suite, cast, now, invoice), cast.bank.address, "talks")
    (disclosure,) = vault.statements("disclosure")
    _edit_index(vault, "INSERT INTO statements (kind, author, text, signature) VALUES ('verification', ?, ?, ?)",
                disclosure.author, disclosure.text, disclosure.signature)
    with pytest.raises(VaultError, match="filed as a verification .* signed text says 'disclosure'"):
        vault.statements("verification")


def test_a_deeply_nested_or_huge_signed_record_is_refused_unparsed(suite, cast, desks, vault):
    """Anyone can sign anything: a record is bounded before it is parsed."""
    for text in ("[" * 200_000 + "]" * 200_000, '{"kind":"policy","pad":"' + "x" * 70_000 + '"}'):
        signed = bytes(cast.tier3.sign_message(encode_defunct(text=text)).signature)
        _edit_index(vault, "INSERT INTO statements (kind, author, text, signature) VALUES ('policy', ?, ?, ?)",
                    cast.tier3.address, text, signed)
        with pytest.raises(VaultError, match="is malformed"):
            desks["tier1"].escrow()
        _edit_index(vault, "DELETE FROM statements WHERE author = ?", cast.tier3.address)


def test_a_vault_file_replaced_by_a_link_is_not_read(suite, cast, desks, vault, tmp_path):
    """The folder is shared: a link planted under a file's address could point anywhere (a
    keystore); it is not followed, here or by the read API."""
    record, commitment = _put(desks, cast, "linked blob")
    secret = tmp_path / "keystore.json"
    secret.write_bytes(b"secret")
    path = _blob_path(vault, commitment)
    path.unlink()
    path.symlink_to(secret)
    with pytest.raises(VaultError, match="cannot be read as a file"):
        desks["hospital"].get_record(record)
    with pytest.raises(VaultError, match="cannot be read as a file"):
        vault.read_blob(path.name)


def test_a_member_shown_a_document_does_not_pass_it_on(suite, cast, desks, vault, now):
    """The owners choose: the parties share, the holder discloses; a financier shown the trail,
    or the escrow regulator, wraps no key for anyone."""
    order, delivery, invoice = _trail(desks, cast, "onward")
    desks["tier1"].disclose(_voucher(suite, cast, now, invoice), cast.bank.address, "talks")
    _refused(vault, suite, "not a party to trade record", lambda: desks["bank"].share([invoice], cast.tier2.address))
    _refused(vault, suite, "not a party to trade record",
             lambda: desks["auditor"].share([invoice], cast.tier2.address))
    desks["hospital"].share([invoice], cast.tier3.address, purpose="a party may")
    assert desks["tier3"].get_record(invoice).opening.content == _doc("onward", "INVOICE")


def test_kyc_evidence_is_shared_by_its_member_or_an_operator_only(cast, conn, w3, tmp_path):
    """An applicant seals its evidence for itself, applies with the commitment and shares it
    with an operator, who opens it checked against the registry; a member that is neither the
    applicant nor an operator is refused. (A deployment of its own: an application stays
    pending in the registry.)"""
    other = Suite.attach(conn, deploy_suite(conn, cast.governance, cast.operator,
                                            manifest_dir=tmp_path / "kyc").deployment)
    applicant = Account.create()
    set_balance(w3, applicant.address, 10**20)
    vault = Vault(tmp_path / "kyc-vault")
    own = VaultDesk(vault, other, applicant)
    commitment = own.put_kyc(b"Applicant Ltd: articles of association", "articles.pdf")
    other.registry.apply(applicant, "Applicant Ltd", Role.SUPPLIER, commitment)
    operator = VaultDesk(vault, other, cast.operator)
    operator.publish_key()
    with pytest.raises(VaultError, match="not entitled"):
        operator.get_kyc(applicant.address)
    stranger = VaultDesk(vault, other, cast.tier2)
    stranger.publish_key()
    before = _state(vault, other)
    with pytest.raises(VaultError, match="is neither .* nor an operator"):
        stranger.share_kyc(applicant.address, cast.tier2.address)
    assert _state(vault, other) == before
    own.share_kyc(applicant.address, cast.operator.address, purpose="application review")
    assert operator.get_kyc(applicant.address).opening.content == b"Applicant Ltd: articles of association"
    (disclosure,) = vault.statements("disclosure")
    assert (disclosure.author, disclosure.body["to"]) == (applicant.address, cast.operator.address)
    vault.close()
