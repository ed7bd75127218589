"""A member's dealings with the vault, checked against the chain: putting a document (sealed,
its key wrapped for each entitled reader, its commitment anchored), getting one back (opened
and checked against what the chain anchored), sharing keys, disclosing the trade trail
behind a voucher, and verifying a trail that was disclosed.

Every check runs before anything is written, the chain's own included (``register`` is
simulated before a document is filed): a refusal leaves the vault and the chain as they
were. Who may read a document:

- its two trading parties, always (the registrant and the counterparty of its record);
- the regulators named by the vault's policy (key escrow), when the consortium's policy says
  so: ``policy`` below, signed by an operator of the registry;
- whoever its owners choose: a party shares a document (``share``), the holder of a voucher
  discloses the trail behind it (``disclose``); each time to an active member, by an active
  member. A member shown a document does not pass it on (the tooling refuses; it holds the
  key, so it could by hand, as it could copy the file).

A member's KYC evidence is filed the same way (kind ``kyc``): its commitment is what the
member applies or is admitted with, and its readers are the member (or the operator filing it),
the readers named and the regulators of the policy; the member or an operator shares it on.

The vault serves one deployment (``Vault.bind``): a folder used with another chain, or with
the same chain id restarted (a fresh anvil), is refused.
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
TRAIL_LIMIT = 32  # links followed from an invoice to its first document
POLICY_CLOCK_SKEW = 3600  # seconds a policy may be signed ahead of this machine's clock


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
    escrow_missing: list[tuple[int, str]] = field(default_factory=list)  # filed under the policy, yet no key


def deployment_of(suite: Suite) -> str:
    """What a vault is bound to: the chain, the trade registry and the hash of the block it was
    deployed in (a fresh anvil has the same chain id and addresses, never the same hashes)."""
    block = suite.deployment.block_of("TradeRegistry")
    return f"{suite.conn.chain_id}:{suite.trade.address}:{block}:{suite.conn.block_hash(block)}"


class VaultDesk:
    """One member, signing with its own key, at one consortium's vault."""

    def __init__(self, vault: Vault, suite: Suite, account: LocalAccount, *, clock: Callable[[], int] | None = None):
        vault.bind(deployment_of(suite), suite.conn.chain_id)
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

    def policy(self) -> Statement | None:
        """The latest policy by its signed time (not by its place in the index, which anyone
        with the folder could replay an old one into), checked: signed by an operator. One
        dated ahead of this machine's clock does not count until its time: it would outrank
        every policy signed after it."""
        horizon = self.clock() + POLICY_CLOCK_SKEW
        policies = [p for p in self.vault.statements("policy") if _at(p) <= horizon]
        if not policies:
            return None
        latest = max(policies, key=lambda p: (_at(p), p.id))
        if not self.suite.registry.is_operator(latest.author):
            raise VaultError(f"the vault's policy (record {latest.id}) was signed by {latest.author}, who is not an "
                             "operator of the registry: an operator must sign it again")
        escrow = latest.body.get("escrow")
        if not isinstance(escrow, list) or not all(isinstance(a, str) for a in escrow):
            raise VaultError(f"the vault's policy (record {latest.id}) names no list of regulators")
        return latest

    def escrow(self) -> list[str]:
        """The regulators of the policy in force (none without a policy)."""
        latest = self.policy()
        return [] if latest is None else [str(a) for a in latest.body["escrow"]]

    def _escrow_cards(self) -> dict[str, KeyCard]:
        """The key cards of the policy's regulators, each checked as such at this use."""
        return {r: self._entitled(r, "escrow regulator", role=Role.AUDITOR) for r in self.escrow()}

    def _entitled(self, reader: str, what: str, *, role: Role | None = None) -> KeyCard:
        """``reader``'s key card, if it is an active member (with ``role``) that has one."""
        member = self.suite.registry.member(reader)
        if member.status != MemberStatus.ACTIVE:
            state = member.status.name.lower() if member.status else "not a member"
            raise VaultError(f"{what} {reader} is {state}: no document key is wrapped for it")
        if role is not None and role not in member.roles:
            raise VaultError(f"{what} {reader} does not have the {', '.join(role.names())} role")
        return self._card(reader, what)

    def _card(self, reader: str, what: str) -> KeyCard:
        card = self.vault.key_card(reader)
        if card is None or card.chain_id != self.chain_id:
            raise VaultError(f"{what} {reader} has not published its vault key: it runs `ape run docs key` once, "
                             "and then keys can be wrapped for it")
        card.public_key()
        return card

    def _require_active(self, doing: str) -> None:
        status = self.suite.registry.status_of(self.address)
        if status != MemberStatus.ACTIVE and not self.suite.registry.is_operator(self.address):
            state = status.name.lower() if status else "not a member"
            raise VaultError(f"{self.address} is {state}: a member that is not active {doing}")

    # ------------------------------------------------------------------ put

    def put_trade_document(
        self, doc_type: DocType, content: bytes, name: str, counterparty: str, amount: int, parent: int = 0,
    ) -> tuple[int, bytes]:
        """Seals a trade document for its two parties (and the policy's regulators), files it,
        and anchors its commitment (``TradeRegistry.register``); returns (record, commitment).
        The salt is the pair's (``pair_salt``): the same file between the same parties has one
        commitment, so the registry still refuses to anchor it twice. The registration is
        simulated first, so a document the chain would refuse is not filed; a story cut short
        between filing and anchoring sends the same transaction when resumed (its journal
        settles the one it had sent)."""
        counterparty = to_checksum_address(counterparty)
        kind = doc_type.name.lower()
        cards = {counterparty: self._entitled(counterparty, "counterparty"), **self._escrow_cards()}
        opening = Opening(pair_salt(self.account, cards[counterparty].public_key(), content), content, name, kind)
        replaying = self.suite.conn.replaying
        anchored = self.suite.trade.record_id_of(opening.commitment, self.address, counterparty)
        if anchored and not replaying:
            raise VaultError(f"this {kind} is already anchored with {counterparty} as trade record {anchored}")
        stored = self.vault.document(opening.commitment)
        if stored is not None and stored.kind != kind:
            raise VaultError(f"this file is already filed as a {stored.kind} with {counterparty}, not a {kind}")
        args = (int(doc_type), opening.commitment, counterparty, amount, parent)
        if not replaying:
            self.suite.trade.simulate(self.address, "register", *args)  # the chain's refusal, before any write
        if stored is None:
            stored = self._file(opening, {self.address: self.publish_key(), **cards})
        record, _ = self.suite.trade.register(self.account, doc_type, *args[1:])
        self.vault.set_record(stored.commitment, record)
        return record, stored.commitment

    def confirm(self, record_id: int) -> Checked:
        """As the counterparty, opens the record's document, checks it against the chain and
        that its salt is the pair's, then confirms the record. A salt chosen otherwise would let
        the same document be anchored again between the same parties, so it is refused."""
        checked = self.get_record(record_id)
        record = checked.record
        assert record is not None
        if record.counterparty != self.address:
            raise VaultError(f"{self.address} is not the counterparty of trade record {record_id}")
        other = self._card(record.registrant, "the registrant").public_key()
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
            cards[reader] = self._card(reader, "reader")
        cards |= self._escrow_cards()
        return self._file(Opening(new_salt(), content, name, KYC), {self.address: self.publish_key(), **cards}
                          ).commitment

    def _file(self, opening: Opening, readers: dict[str, KeyCard]) -> StoredDocument:
        if self.vault.document(opening.commitment) is not None:
            raise VaultError(f"document 0x{opening.commitment.hex()} is already in the vault")
        key = new_content_key()
        envelope = Envelope.seal(opening, key)
        now = self.clock()
        grants = [Grant(envelope.commitment, reader, wrap(card.public_key(), key), self.address, now)
                  for reader, card in readers.items()]
        return self.vault.add_document(envelope, opening.kind, self.address, grants, now)

    # ------------------------------------------------------------------ get

    def _content_key(self, stored: StoredDocument) -> bytes:
        grant = self.vault.grant(stored.commitment, self.address)
        if grant is None:
            where = f"record {stored.record}" if stored.record else stored.kind
            raise VaultError(
                f"{self.address} is not entitled to document 0x{stored.commitment.hex()} ({where}): no key is "
                "wrapped for it. A party to the document, or the holder of a voucher it backs, can share it"
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
        """Trade record ``record_id``'s document, opened and checked against the chain: the
        registry must hold this commitment for this record and these parties, and the type must
        be the record's. The vault's own note of the record is only where it looks first."""
        record = self.suite.trade.record(record_id)
        if record.status == RecordStatus.NONE:
            raise VaultError(f"trade record {record_id} does not exist on chain")
        stored = self.vault.document_of_record(record_id)
        if stored is None:
            anchored = self.suite.trade.doc_hash(record_id, self.suite.deployment.block_of("TradeRegistry"))
            stored = self.vault.document(anchored) if anchored else None
            if stored is None:
                raise VaultError(f"the vault holds no document for trade record {record_id}: it was anchored "
                                 "without being filed here")
        opening = self._open_stored(stored)
        if not self._anchors(record, opening.commitment):
            anchored = self.suite.trade.doc_hash(record_id, self.suite.deployment.block_of("TradeRegistry"))
            raise VaultError(
                f"the vault's document for trade record {record_id} is not the anchored one: it commits to "
                f"0x{opening.commitment.hex()}, the chain anchored 0x{(anchored or bytes(32)).hex()} (a swapped "
                "document)"
            )
        if opening.kind != record.doc_type.name.lower():
            raise VaultError(f"the document for trade record {record_id} says it is a {opening.kind}; the chain "
                             f"anchored a {record.doc_type.name.lower()}")
        return Checked(record, opening)

    def _anchors(self, record: TradeRecord, commitment: bytes) -> bool:
        """Whether the chain anchored ``commitment`` as ``record``: one view call, or for a
        rejected record (whose commitment the registry frees) its registration event."""
        if record.status == RecordStatus.REJECTED:
            start = self.suite.deployment.block_of("TradeRegistry")
            return self.suite.trade.doc_hash(record.record_id, start) == commitment
        return self.suite.trade.record_id_of(commitment, record.registrant, record.counterparty) == record.record_id

    def get_kyc(self, member: str) -> Checked:
        """``member``'s KYC evidence, checked against the hash it applied or was admitted with."""
        stored = self._kyc_document(member)
        opening = self._open_stored(stored)
        if opening.kind != KYC:
            raise VaultError(f"document 0x{stored.commitment.hex()} is a {opening.kind}, not KYC evidence")
        return Checked(None, opening)

    def _kyc_document(self, member: str) -> StoredDocument:
        profile = self.suite.registry.profile(to_checksum_address(member),
                                              self.suite.deployment.block_of("ConsortiumRegistry"))
        if profile is None:
            raise VaultError(f"{member} never applied nor was admitted: it has no KYC evidence on chain")
        stored = self.vault.document(profile[1])
        if stored is None:
            raise VaultError(f"the vault holds no KYC evidence of {member} with commitment 0x{profile[1].hex()}")
        return stored

    # --------------------------------------------------------------- sharing

    def share(self, records: Sequence[int], to: str, *, purpose: str = "") -> Statement:
        """As a party to each record (its registrant or counterparty), wraps the keys of their
        documents for ``to`` and records the disclosure, signed."""
        for record_id in records:
            record = self.suite.trade.record(record_id)
            if self.address not in (record.registrant, record.counterparty):
                raise VaultError(f"{self.address} is not a party to trade record {record_id}: only its parties "
                                 "share it (the holder of a voucher discloses the trail behind it)")
        return self._share([self.get_record(r) for r in records], to, voucher=None, purpose=purpose)

    def disclose(self, voucher: int, to: str, purpose: str = "") -> Statement:
        """As the holder of ``voucher``, shares the trade trail behind it with ``to`` (a
        financier it is negotiating with, a member it pays with the voucher)."""
        holder = self.suite.voucher.owner_of(voucher)
        if holder != self.address:
            raise VaultError(f"{self.address} does not hold voucher {label(voucher)} (its holder is {holder}): only "
                             "the holder discloses the trail behind it")
        return self._share([self.get_record(r) for r in self.trail(voucher)], to, voucher=voucher, purpose=purpose)

    def share_kyc(self, member: str, to: str, *, purpose: str = "") -> Statement:
        """As the member itself or an operator, wraps the key of ``member``'s KYC evidence for
        ``to`` (a regulator, an operator, a member that must see it)."""
        member = to_checksum_address(member)
        if self.address != member and not self.suite.registry.is_operator(self.address):
            raise VaultError(f"{self.address} is neither {member} nor an operator: only they share its KYC evidence")
        stored = self._kyc_document(member)
        checked = Checked(None, self._open_stored(stored))
        return self._share([checked], to, voucher=None, purpose=purpose, anyone=True)

    def _share(self, checked: list[Checked], to: str, *, voucher: int | None, purpose: str,
               anyone: bool = False) -> Statement:
        """Wraps the checked documents' keys for ``to``, with the signed disclosure, in one
        write; ``to`` an active member with a key card (``anyone``: any account with one, an
        operator say), this member active, every key this member's."""
        to = to_checksum_address(to)
        if to == self.address:
            raise VaultError("a member does not share documents with itself")
        if anyone:  # KYC evidence: an applicant is not a member yet, nor need an operator be
            card = self._card(to, "recipient")
            for who, what in ((to, "recipient"), (self.address, "the sharer")):
                status = self.suite.registry.status_of(who)
                if status in (MemberStatus.SUSPENDED, MemberStatus.REMOVED):
                    raise VaultError(f"{what} {who} is {status.name.lower()}: no document key is wrapped for it")
        else:
            card = self._entitled(to, "recipient")
            self._require_active("shares no documents")
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

    # ---------------------------------------------------------------- trails

    def trail(self, voucher: int) -> list[int]:
        """The trade records behind ``voucher``: its slot's invoice, then each parent up to the
        first document."""
        info = self.suite.voucher.voucher(voucher)
        if not info.exists:
            raise VaultError(f"voucher {label(voucher)} does not exist (or was redeemed)")
        record = self.suite.voucher.slot(voucher >> 32).trade_record_id
        records: list[int] = []
        while record:
            if len(records) == TRAIL_LIMIT:
                raise VaultError(f"the trail behind voucher {label(voucher)} is longer than {TRAIL_LIMIT} documents: "
                                 "it is not followed further")
            records.append(record)
            record = self.suite.trade.record(record).parent_id
        return records

    def verify_trail(self, voucher: int, *, record: bool = True) -> TrailCheck:
        """Opens every document of the trail behind ``voucher`` and checks each against its
        commitment on chain, its type and the trail's links (each record's parent is the next
        one); records the verification, signed, unless ``record`` is false. Records not
        confirmed by their counterparty are listed (and recorded), not hidden."""
        records = self.trail(voucher)
        if not records:
            raise VaultError(f"voucher {label(voucher)} has no trade record behind it")
        checked = [self.get_record(r) for r in records]
        first = checked[0].record
        if first is None or first.doc_type != DocType.INVOICE:
            raise VaultError(f"the trail of voucher {label(voucher)} does not start at an invoice")
        policy = self.policy()
        escrow, since = ([], 0) if policy is None else ([str(a) for a in policy.body["escrow"]], _at(policy))
        result = TrailCheck(
            voucher, checked,
            unconfirmed=[c.record.record_id for c in checked if c.record and c.record.status != RecordStatus.CONFIRMED],
            escrow_missing=[(c.record.record_id, r) for c in checked if c.record and self._stored(c).added >= since
                            for r in escrow if self.vault.grant(c.commitment, r) is None],
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


def _at(statement: Statement) -> int:
    at = statement.body.get("at")
    return at if isinstance(at, int) else 0
