"""A member's dealings with the vault, checked against the chain: putting a document (sealed,
its key wrapped for each entitled reader, its commitment anchored), getting one back (opened
and checked against what the chain anchored), sharing keys, disclosing the trade trail
behind a voucher, and verifying a trail that was disclosed.

Every check runs before anything is written: a refusal leaves the vault and the chain as they
were. Who may read a document:

- its two trading parties, always (the registrant and the counterparty of its record);
- the regulators named by the vault's policy (key escrow), when the consortium's policy says
  so: ``policy`` below, signed by an operator of the registry;
- whoever a reader shares it with: an active member, never a suspended or removed one.

A member's KYC evidence is filed the same way (kind ``kyc``): its commitment is what the
member applies with (``applyForMembership``), and its readers are the member, the operators
it names and the regulators of the policy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from scf.contracts import DocType, MemberStatus, RecordStatus, Role, TradeRecord
from scf.contracts.voucher import label
from scf.suite import Suite
from scf.vault.sealing import (
    Envelope,
    KeyCard,
    Opening,
    VaultError,
    new_content_key,
    new_salt,
    pair_salt,
    sign_statement,
    unwrap,
    wrap,
)
from scf.vault.store import Grant, Statement, StoredDocument, Vault

KYC = "kyc"
TRAIL_LIMIT = 32  # links followed from an invoice to its first document; the chain allows no cycles


@dataclass(frozen=True)
class Checked:
    """A document opened and checked against the chain."""

    record: TradeRecord | None  # None for KYC evidence
    opening: Opening

    @property
    def commitment(self) -> bytes:
        return self.opening.commitment


@dataclass(frozen=True)
class TrailCheck:
    """A trade trail verified document by document, from the invoice to the first document."""

    voucher: int
    documents: list[Checked]
    unconfirmed: list[int] = field(default_factory=list)  # records the counterparty has not confirmed
    escrow_missing: list[tuple[int, str]] = field(default_factory=list)  # (record, regulator) without a key


class VaultDesk:
    """One member, signing with its own key, at one consortium's vault."""

    def __init__(self, vault: Vault, suite: Suite, account: LocalAccount, *, clock: Callable[[], int] | None = None):
        self.vault = vault
        self.suite = suite
        self.account = account
        self.chain_id = suite.conn.chain_id
        self.clock = clock or (lambda: int(time.time()))

    @property
    def address(self) -> str:
        return str(self.account.address)

    # ------------------------------------------------------------ keys, policy

    def publish_key(self) -> KeyCard:
        """Files this member's key card (once): others can then wrap keys for it."""
        card = self.vault.key_card(self.address)
        if card is None or card.chain_id != self.chain_id:
            card = KeyCard.make(self.account, self.chain_id)
            self.vault.put_key_card(card)
        return card

    def set_policy(self, escrow: Sequence[str]) -> Statement:
        """As an operator, records the consortium's key-escrow policy: the regulators (active
        members with the auditor role) every new document's key is also wrapped for."""
        if not self.suite.registry.is_operator(self.address):
            raise VaultError(f"{self.address} is not an operator of the registry: only an operator sets the "
                             "vault's policy")
        regulators = [to_checksum_address(a) for a in escrow]
        for regulator in regulators:
            self._entitled(regulator, "escrow regulator", role=Role.AUDITOR)
        body = {"kind": "policy", "chain": self.chain_id, "escrow": regulators, "at": self.clock()}
        text, signature = sign_statement(self.account, body)
        return self.vault.record_statement("policy", (text, signature, self.address))

    def escrow(self) -> list[str]:
        """The regulators of the latest policy an operator signed (none without a policy)."""
        policies = [s for s in self.vault.statements("policy") if s.body.get("chain") == self.chain_id]
        if not policies:
            return []
        latest = max(policies, key=lambda p: (int(p.body.get("at", 0)), p.id))  # by its signed time
        if not self.suite.registry.is_operator(latest.author):
            raise VaultError(f"the vault's policy (record {latest.id}) was signed by {latest.author}, who is not an "
                             "operator of the registry: an operator must sign it again")
        return [str(a) for a in latest.body["escrow"]]

    def _entitled(self, reader: str, what: str, *, role: Role | None = None) -> KeyCard:
        """``reader``'s key card, if it is an active member (with ``role``) that has one."""
        member = self.suite.registry.member(reader)
        if member.status != MemberStatus.ACTIVE:
            state = member.status.name.lower() if member.status else "not a member"
            raise VaultError(f"{what} {reader} is {state}: no document key is wrapped for it")
        if role is not None and role not in member.roles:
            raise VaultError(f"{what} {reader} does not have the {', '.join(role.names())} role")
        card = self.vault.key_card(reader)
        if card is None or card.chain_id != self.chain_id:
            raise VaultError(f"{what} {reader} has not published its vault key: it runs `ape run docs key` once, "
                             "and then keys can be wrapped for it")
        card.public_key()
        return card

    # ------------------------------------------------------------------ put

    def put_trade_document(
        self, doc_type: DocType, content: bytes, name: str, counterparty: str, amount: int, parent: int = 0,
    ) -> tuple[int, bytes]:
        """Seals a trade document for its two parties (and the policy's regulators), files it,
        and anchors its commitment (``TradeRegistry.register``); returns (record, commitment).
        The salt is the pair's (``pair_salt``): the same file between the same parties has one
        commitment, so the registry still refuses to anchor it twice, and a story cut short
        between filing and anchoring sends the same transaction when resumed (its journal
        settles the one it had sent)."""
        counterparty = to_checksum_address(counterparty)
        kind = doc_type.name.lower()
        readers = self._readers([counterparty])
        salt = pair_salt(self.account, readers[counterparty].public_key(), content)
        opening = Opening(salt, content, name, kind)
        stored = self.vault.document(opening.commitment)
        if stored is not None and stored.record is not None and not self.suite.conn.replaying:
            raise VaultError(f"this {kind} is already anchored with {counterparty} as trade record {stored.record}")
        if stored is None:
            stored = self._file(opening, readers)
        record, _ = self.suite.trade.register(self.account, doc_type, stored.commitment, counterparty, amount, parent)
        self.vault.set_record(stored.commitment, record)
        return record, stored.commitment

    def confirm(self, record_id: int) -> Checked:
        """As the counterparty, opens the record's document, checks it against the chain and
        that its salt is the pair's, then confirms the record. A salt chosen otherwise would let
        the same document be anchored twice between the same parties, so it is refused."""
        checked = self.get_record(record_id)
        record = checked.record
        assert record is not None
        if record.counterparty != self.address:
            raise VaultError(f"{self.address} is not the counterparty of trade record {record_id}")
        other = self._entitled(record.registrant, "registrant").public_key()
        if checked.opening.salt != pair_salt(self.account, other, checked.opening.content):
            raise VaultError(
                f"the document of trade record {record_id} is salted with a salt that is not the parties' own: "
                "the same document could be anchored again under another commitment, so it is not confirmed. "
                "Reject it and ask the registrant to file it with `ape run docs put`"
            )
        self.suite.trade.confirm(self.account, record_id)
        return checked

    def put_kyc(self, content: bytes, name: str, readers: Sequence[str] = ()) -> bytes:
        """Seals KYC evidence, with a random salt, for this member (the applicant, or the
        operator filing it while seeding), the ``readers`` named (each with a key card, none
        suspended or removed) and the policy's regulators; returns the commitment to apply or
        admit with. An applicant is not a member yet: no membership is asked of the readers."""
        cards: dict[str, KeyCard] = {}
        for reader in map(to_checksum_address, readers):
            status = self.suite.registry.status_of(reader)
            if status in (MemberStatus.SUSPENDED, MemberStatus.REMOVED):
                raise VaultError(f"reader {reader} is {status.name.lower()}: no document key is wrapped for it")
            card = self.vault.key_card(reader)
            if card is None or card.chain_id != self.chain_id:
                raise VaultError(f"reader {reader} has not published its vault key (`ape run docs key`)")
            card.public_key()
            cards[reader] = card
        for regulator in self.escrow():
            cards[regulator] = self._entitled(regulator, "escrow regulator")
        readers_cards = {self.address: self.publish_key(), **cards}
        return self._file(Opening(new_salt(), content, name, KYC), readers_cards).commitment

    def _readers(self, parties: Sequence[str]) -> dict[str, KeyCard]:
        """The key cards of the parties and the policy's regulators, all checked before this
        member's own card is filed (a refusal writes nothing)."""
        cards = {party: self._entitled(party, "counterparty") for party in parties}
        for regulator in self.escrow():
            cards[regulator] = self._entitled(regulator, "escrow regulator")
        return {self.address: self.publish_key(), **cards}

    def _file(self, opening: Opening, readers: dict[str, KeyCard]) -> StoredDocument:
        if self.vault.document(opening.commitment) is not None:
            raise VaultError(f"document 0x{opening.commitment.hex()} is already in the vault")
        key = new_content_key()
        envelope = Envelope.seal(opening, key)
        now = self.clock()
        grants = [Grant(envelope.commitment, reader, wrap(card.public_key(), key), self.address, now)
                  for reader, card in readers.items()]
        return self.vault.add_document(envelope, opening.kind, self.address, grants)

    # ------------------------------------------------------------------ get

    def _content_key(self, stored: StoredDocument) -> bytes:
        grant = self.vault.grant(stored.commitment, self.address)
        if grant is None:
            where = f"record {stored.record}" if stored.record else stored.kind
            raise VaultError(
                f"{self.address} is not entitled to document 0x{stored.commitment.hex()} ({where}): no key is "
                "wrapped for it. A party to the document, or a member it was shared with, can share it"
            )
        key = unwrap(self.account, grant.wrapped)
        if key is None:
            raise VaultError(
                f"the key wrapped for {self.address} on document 0x{stored.commitment.hex()} does not open with "
                "this account's key: it was wrapped for another key, or altered"
            )
        return key

    def _open_stored(self, stored: StoredDocument) -> Opening:
        return self.vault.envelope(stored).open(self._content_key(stored))

    def get_record(self, record_id: int) -> Checked:
        """Trade record ``record_id``'s document, opened and checked against what the chain
        anchored: its commitment, its type."""
        record = self.suite.trade.record(record_id)
        anchored = self.suite.trade.doc_hash(record_id) if record.status != RecordStatus.NONE else None
        if anchored is None:
            raise VaultError(f"trade record {record_id} does not exist on chain")
        stored = self.vault.document_of_record(record_id) or self.vault.document(anchored)
        if stored is None:
            raise VaultError(f"the vault holds no document for trade record {record_id} "
                             f"(commitment 0x{anchored.hex()}): it was anchored without being filed here")
        opening = self._open_stored(stored)
        if opening.commitment != anchored:
            raise VaultError(
                f"the vault's document for trade record {record_id} is not the anchored one: it commits to "
                f"0x{opening.commitment.hex()}, the chain anchored 0x{anchored.hex()} (a swapped document)"
            )
        if opening.kind != record.doc_type.name.lower():
            raise VaultError(f"the document for trade record {record_id} says it is a {opening.kind}; the chain "
                             f"anchored a {record.doc_type.name.lower()}")
        return Checked(record, opening)

    def get_kyc(self, member: str) -> Checked:
        """``member``'s KYC evidence, checked against the hash it applied or was admitted with."""
        profile = self.suite.registry.profile(to_checksum_address(member))
        if profile is None:
            raise VaultError(f"{member} never applied nor was admitted: it has no KYC evidence on chain")
        anchored = profile[1]
        stored = self.vault.document(anchored)
        if stored is None:
            raise VaultError(f"the vault holds no KYC evidence of {member} with commitment 0x{anchored.hex()}")
        opening = self._open_stored(stored)
        if opening.kind != KYC:
            raise VaultError(f"document 0x{anchored.hex()} is a {opening.kind}, not KYC evidence")
        return Checked(None, opening)

    # ---------------------------------------------------------------- trails

    def trail(self, voucher: int) -> list[int]:
        """The trade records behind ``voucher``: its slot's invoice, then each parent up to the
        first document."""
        info = self.suite.voucher.voucher(voucher)
        if not info.exists:
            raise VaultError(f"voucher {label(voucher)} does not exist (or was redeemed)")
        record = self.suite.voucher.slot(voucher >> 32).trade_record_id
        records: list[int] = []
        while record and len(records) < TRAIL_LIMIT:
            records.append(record)
            record = self.suite.trade.record(record).parent_id
        return records

    def share(self, records: Sequence[int], to: str, *, voucher: int | None = None, purpose: str = "") -> Statement:
        """Wraps the keys of the documents of ``records`` for ``to`` and records the disclosure,
        signed by this member. ``to`` must be an active member with a key card; this member must
        hold each document's key, and each document must check against the chain, before
        anything is written."""
        to = to_checksum_address(to)
        card = self._entitled(to, "recipient")
        if to == self.address:
            raise VaultError("a member does not share documents with itself")
        status = self.suite.registry.status_of(self.address)
        if status != MemberStatus.ACTIVE:
            raise VaultError(f"{self.address} is {status.name.lower()}: a member that is not active shares no "
                             "documents")
        checked = [self.get_record(record) for record in records]
        keys = {c.commitment: self._content_key(self._stored(c)) for c in checked}
        now = self.clock()
        grants = [Grant(commitment, to, wrap(card.public_key(), key), self.address, now)
                  for commitment, key in keys.items()]
        body = {
            "kind": "disclosure", "chain": self.chain_id, "by": self.address, "to": to,
            "voucher": label(voucher) if voucher is not None else None, "purpose": purpose, "at": now,
            "documents": [{"record": c.record.record_id if c.record else None, "commitment": "0x" + c.commitment.hex()}
                          for c in checked],
        }
        text, signature = sign_statement(self.account, body)
        return self.vault.share(grants, (text, signature, self.address))

    def disclose(self, voucher: int, to: str, purpose: str = "") -> Statement:
        """As the holder of ``voucher``, shares the trade trail behind it with ``to`` (a
        financier it is negotiating with, a member it pays with the voucher)."""
        holder = self.suite.voucher.owner_of(voucher)
        if holder != self.address:
            raise VaultError(f"{self.address} does not hold voucher {label(voucher)} (its holder is {holder}): only "
                             "the holder discloses the trail behind it")
        return self.share(self.trail(voucher), to, voucher=voucher, purpose=purpose)

    def verify_trail(self, voucher: int, *, record: bool = True) -> TrailCheck:
        """Opens every document of the trail behind ``voucher`` and checks each against its
        commitment on chain, its type and the trail's links (each record's parent is the next
        one); records the verification, signed, unless ``record`` is false."""
        records = self.trail(voucher)
        if not records:
            raise VaultError(f"voucher {label(voucher)} has no trade record behind it")
        checked = [self.get_record(r) for r in records]
        first = checked[0].record
        if first is None or first.doc_type != DocType.INVOICE:
            raise VaultError(f"the trail of voucher {label(voucher)} does not start at an invoice")
        escrow = self.escrow()
        result = TrailCheck(
            voucher, checked,
            unconfirmed=[c.record.record_id for c in checked if c.record and c.record.status != RecordStatus.CONFIRMED],
            escrow_missing=[(c.record.record_id, r) for c in checked if c.record for r in escrow
                            if self.vault.grant(c.commitment, r) is None],
        )
        if record:
            body = {"kind": "verification", "chain": self.chain_id, "by": self.address, "voucher": label(voucher),
                    "at": self.clock(), "unconfirmed": result.unconfirmed,
                    "documents": [{"record": c.record.record_id if c.record else None,
                                   "commitment": "0x" + c.commitment.hex()} for c in checked]}
            text, signature = sign_statement(self.account, body)
            self.vault.record_statement("verification", (text, signature, self.address))
        return result

    def _stored(self, checked: Checked) -> StoredDocument:
        stored = self.vault.document(checked.commitment)
        assert stored is not None  # get_record found it
        return stored
