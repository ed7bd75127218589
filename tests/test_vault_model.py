"""The document vault fuzzed against a small Python model of who may open which document.

The model is one table: for every trade record filed through the vault, its content, its
commitment, its on-chain status, whether its file was tampered with, and its readers, the
members whose key the document's content key is wrapped for. Random sequences of these actions
run against real ``VaultDesk``s (one per member, all at one vault folder) on the session's
suite:

- **put**: a supplier (tier 1, 2 or 3; sometimes a suspended one, or the bank, who may not
  anchor trade documents) files an order, delivery note or invoice with the hospital
  (``put_trade_document``), sometimes with a parent among the model's records of the same
  pair. Readers: the registrant, the hospital and the escrow regulators of the policy at that
  moment. Refused, writing nothing, while the hospital or a regulator of the policy is
  suspended (VaultError), or when the chain would refuse the registration (ContractRevert:
  the registrant not active, or not a trading party). Tier 3 has no key card at first: its
  first put files one, a refused put none.
- **put again**: a document already anchored is put again, by its registrant or from the
  hospital's side, as any document type: the pair's salt gives the same commitment, so it is
  refused ("already anchored", or first a suspended party or regulator), nothing changes.
- **confirm**: the hospital (mostly) or anyone else confirms a record. Only the counterparty
  of a registered record, while it is active and the file is intact; anyone else is refused
  by the desk (not entitled, not the counterparty, altered file) or by the chain (not
  pending, not an active member).
- **share**: a member, the operator or the outsider shares one to three records with anyone
  (``share``). Allowed only if the sharer is a party to every record (its registrant or
  counterparty: a member shown a document, or the escrow regulator, passes nothing on), every
  file is intact, the recipient is an active member with a key card and not the sharer, and
  the sharer is active; the recipient then reads them all. Refused otherwise, with no key
  wrap and no disclosure written.
- **membership**: the operator suspends an active member (the hospital, a supplier, the bank
  or, more often, the auditor, the escrow regulator) or reinstates a suspended one; at most
  two at a time, and the teardown reinstates everyone. Suspending the regulator of the
  policy is followed by a put, which must be refused.
- **set policy**: the operator (or, refused, tier 1) sets the escrow to [] or [auditor];
  refused while the auditor is suspended. It counts for documents filed afterwards only.
- **tamper**: an attacker flips one byte of a document's file (never more than about a third
  of them); every reader, and the outsider, is then refused it ("altered on disk").
- **get**: anyone (the cast, the operator, the outsider) opens a record, or a record id not
  registered yet. It returns exactly the model's content, name and type iff the caller is a
  reader and the file is intact; otherwise VaultError (altered on disk, not entitled, does
  not exist).

Every refusal is checked by its exception and message and by everything it could have written
reading the same before and after: the vault's files (by their bytes) and its ``documents``,
``grants``, ``statements`` and ``key_cards`` tables, the chain's record count and the statuses
of the model's records.

Invariants after every step: each record's ``vault.grants`` readers are exactly the model's;
the vault holds exactly the model's documents, each under its record (nothing filed without
one), one file each, and exactly the model's key cards; the disclosures recorded are exactly
the successful shares and the policies exactly the successful ``set_policy``s, and a desk
sees the model's escrow; each record on chain has the model's registrant, counterparty, type,
parent and status, and what it anchored (``doc_hash``) is the commitment recomputed here with
plain keccak from the pair's salt, never the content's bare keccak; the registry's statuses
are the model's.

Not modelled: KYC evidence (``put_kyc``, ``get_kyc``, ``share_kyc``); vouchers and their
trails (``disclose``, ``verify_trail``); documents between other pairs than a supplier and the
hospital; rejected records; swapped files, links, forged key wraps, cards or policies, a lost
file, another deployment's vault (all in ``test_vault_attacks.py``); a put cut short between
filing and anchoring (its resumption).

Each example starts from a fresh vault folder and an anvil snapshot (reverted at teardown),
and every document's content carries a counter, unique in the session. CI's budget is small;
``SCF_FUZZ_EXAMPLES`` and ``SCF_FUZZ_STEPS`` raise it (``tests.support.fuzz_budget``).
"""

from __future__ import annotations

import hashlib
import itertools
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_keys import keys
from eth_utils import keccak
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from scf.chain.devnet import revert, snapshot
from scf.chain.reverts import ContractRevert
from scf.contracts import DocType, MemberStatus, RecordStatus
from scf.vault import Vault, VaultDesk, VaultError
from scf.vault.sealing import pair_salt
from tests.support import CNY, fuzz_budget

FACE = 1_000_000 * CNY
PEOPLE = ("hospital", "tier1", "tier2", "tier3", "bank", "auditor", "operator", "outsider")
MEMBERS = ("hospital", "tier1", "tier2", "tier3", "bank", "auditor")  # admitted by conftest
SUPPLIERS = ("tier1", "tier2", "tier3")
CARDED = ("hospital", "tier1", "tier2", "bank", "auditor")  # key cards published up front
KINDS = (DocType.ORDER, DocType.DELIVERY_NOTE, DocType.INVOICE)
MAX_SUSPENDED = 2
# The actions of ``VaultMachine.step``, as often as they come up.
ACTIONS = ("put", "put", "put_again", "confirm", "share", "share", "membership", "membership", "set_policy", "tamper",
           "get", "get")
OUTCOMES: Counter[str] = Counter()


@dataclass
class Doc:
    """The model of one trade record filed through the vault."""

    record: int
    commitment: bytes
    registrant: str  # a name of PEOPLE
    doc_type: DocType
    parent: int
    content: bytes
    file_name: str
    readers: set[str]
    status: RecordStatus = RecordStatus.REGISTERED
    tampered: bool = False
    counterparty: str = "hospital"


@dataclass
class Refusal:
    """What the model predicts for a refused action: the exception and a regex of its message."""

    error: type[Exception]
    match: str
    why: str  # the outcome's label


@dataclass
class Names:
    """Address <-> cast name."""

    accounts: dict[str, LocalAccount] = field(default_factory=dict)

    def address(self, name: str) -> str:
        return str(self.accounts[name].address)

    def name(self, address: str) -> str:
        return next(n for n, a in self.accounts.items() if a.address == address)


def vault_state(vault: Vault, suite, records: list[int]) -> dict[str, Any]:
    """Everything an action could write: the vault's files by their bytes and its tables, the
    chain's record count and the statuses of ``records``."""
    rows = vault.db.execute
    return {
        "files": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in vault.blobs.iterdir()},
        "documents": rows("SELECT * FROM documents ORDER BY commitment").fetchall(),
        "grants": rows("SELECT * FROM grants ORDER BY commitment, reader").fetchall(),
        "statements": rows("SELECT * FROM statements ORDER BY id").fetchall(),
        "key_cards": rows("SELECT * FROM key_cards ORDER BY address").fetchall(),
        "record count": suite.trade.call("recordCount"),
        "record statuses": {r: suite.trade.record(r).status for r in records},
    }


def _difference(before: Any, after: Any) -> Any:
    """What changed in one part of ``vault_state``, briefly: rows and files added or gone."""
    if isinstance(before, dict) and isinstance(after, dict):
        return {k: (before.get(k), after.get(k)) for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    if isinstance(before, list) and isinstance(after, list):
        return {"added": [r[:2] for r in after if r not in before], "gone": [r[:2] for r in before if r not in after]}
    return (before, after)


class VaultMachine(RuleBasedStateMachine):
    """Who may open which document (the module docstring), one example per fresh vault."""

    # Bound by the test function below.
    suite: Any = None
    w3: Any = None
    names: Names = Names()
    base: Path = Path()
    counter: Iterator[int] = itertools.count(1)

    def __init__(self) -> None:
        super().__init__()
        self.snapshot_id = snapshot(self.w3)
        self.vault = Vault(Path(tempfile.mkdtemp(prefix="example-", dir=self.base)))
        self.desks = {name: VaultDesk(self.vault, self.suite, self.names.accounts[name]) for name in PEOPLE}
        self.first_record = self.suite.trade.call("recordCount") + 1
        self.docs: dict[int, Doc] = {}
        self.status = {name: MemberStatus.ACTIVE for name in MEMBERS}
        for name in MEMBERS:
            assert self.suite.registry.status_of(self.names.address(name)) == MemberStatus.ACTIVE, name
        self.cards: set[str] = set()
        for name in CARDED:
            self.desks[name].publish_key()
            self.cards.add(name)
        self.escrow: list[str] = []
        self.policies = 0
        self.disclosures = 0

    def teardown(self) -> None:
        try:
            for name in MEMBERS:
                address = self.names.address(name)
                if self.suite.registry.status_of(address) == MemberStatus.SUSPENDED:
                    self.suite.registry.reinstate(self.names.accounts["operator"], address)
                assert self.suite.registry.status_of(address) == MemberStatus.ACTIVE, name
        finally:
            self.vault.close()
            revert(self.w3, self.snapshot_id)

    # ---------------------------------------------------------------- plumbing

    def active(self, name: str) -> bool:
        return self.status.get(name) == MemberStatus.ACTIVE

    def state(self) -> dict[str, Any]:
        return vault_state(self.vault, self.suite, sorted(self.docs))

    def attempt(self, outcome: str, refusal: Refusal | None, action: Callable[[], Any]) -> Any:
        """Runs ``action``: it must succeed when the model predicts no refusal; otherwise it
        must raise the predicted error, with the predicted words, and write nothing."""
        if refusal is None:
            result = action()
            OUTCOMES[outcome] += 1
            return result
        before = self.state()
        with pytest.raises(refusal.error, match=refusal.match) as caught:
            action()
        after = self.state()
        changed = {k: _difference(before[k], after[k]) for k in before if before[k] != after[k]}
        assert not changed, f"{outcome} refused ({caught.value}) but wrote: {changed}"
        OUTCOMES[f"{outcome} refused ({refusal.why})"] += 1
        return None

    def entitled(self, name: str, what: str) -> Refusal | None:
        """``VaultDesk._entitled``'s refusal of ``name`` as ``what``, as the model sees it."""
        address = re.escape(self.names.address(name))
        if name not in self.status:
            return Refusal(VaultError, f"{what} {address} is not a member", f"{what} not a member")
        if not self.active(name):
            return Refusal(VaultError, f"{what} {address} is suspended", f"{what} suspended")
        if name not in self.cards:
            return Refusal(VaultError, f"{what} {address} has not published its vault key", f"{what} without a card")
        return None

    def opening(self, name: str, doc: Doc) -> Refusal | None:
        """``get_record``'s refusal of ``doc`` to ``name``: the file is checked before the key."""
        if doc.tampered:
            return Refusal(VaultError, "was altered on disk", "altered file")
        if name not in doc.readers:
            return Refusal(VaultError, f"{re.escape(self.names.address(name))} is not entitled to document",
                           "not entitled")
        return None

    def expected_commitment(self, registrant: str, content: bytes) -> bytes:
        """keccak(salt ‖ keccak(content)) with the pair's salt, which either party derives."""
        accounts = self.names.accounts
        public = {n: keys.PrivateKey(bytes(accounts[n].key)).public_key for n in (registrant, "hospital")}
        salt = pair_salt(accounts[registrant], public["hospital"], content)
        assert salt == pair_salt(accounts["hospital"], public[registrant], content)
        return keccak(salt + keccak(content))

    def shareable(self, name: str) -> list[int]:
        """The records ``name`` may share: it is a party to them and the file is intact."""
        return sorted(r for r, d in self.docs.items() if name in (d.registrant, d.counterparty) and not d.tampered)

    def pick_record(self, data: st.DataObject, suited: list[int], label: str) -> int:
        """Mostly (three times in four) a record the action suits, when there is one, else any
        of the model's."""
        aimed = data.draw(st.sampled_from([True, True, True, False]), label=f"{label} aimed")
        return data.draw(st.sampled_from(suited if aimed and suited else sorted(self.docs)), label=label)

    # ---------------------------------------------------------------- rules

    @initialize(escrow=st.booleans())
    def two_documents(self, escrow: bool) -> None:
        """A policy, a pending order of tier 1 and a confirmed invoice of tier 2 with the
        hospital: every rule has something to act on from the first step."""
        self._set_policy("operator", escrow)
        self._put("tier1", DocType.ORDER, 0)
        invoice = self._put("tier2", DocType.INVOICE, 0)
        assert invoice is not None
        self._confirm(invoice, "hospital")

    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        """One action, drawn here rather than as separate rules (as ``test_registry_model``
        does): hypothesis' swarm testing switches whole rules off per example, and with ten
        examples that leaves runs where suspensions are never reinstated or a rule is never
        reached. Tampering waits while a third of the documents are tampered with already."""
        tampered = sum(d.tampered for d in self.docs.values())
        actions = [a for a in ACTIONS if a != "tamper" or 3 * tampered < len(self.docs) - 1]
        getattr(self, data.draw(st.sampled_from(actions), label="action"))(data)

    def put(self, data: st.DataObject) -> None:
        """Mostly an active supplier; else any supplier (suspended maybe) or the bank, who may
        not anchor trade documents."""
        kind = data.draw(st.sampled_from(KINDS), label="type")
        active = [s for s in SUPPLIERS if self.active(s)]
        who = data.draw(st.sampled_from(["an active supplier"] * 2 + ["any supplier", "the bank"]), label="who")
        pool = {"an active supplier": active or SUPPLIERS, "any supplier": SUPPLIERS, "the bank": ["bank"]}[who]
        registrant = data.draw(st.sampled_from(pool), label="registrant")
        pair = sorted(r for r, d in self.docs.items() if d.registrant == registrant)
        parent = data.draw(st.sampled_from([0, 0, *pair]), label="parent")
        self._put(registrant, kind, parent)

    def _put(self, registrant: str, kind: DocType, parent: int) -> int | None:
        content = f"{kind.name} #{next(self.counter)} of the vault model: {registrant} to the hospital".encode()
        file_name = f"{kind.name.lower()}.txt"
        refusal = self.entitled("hospital", "counterparty")
        for regulator in self.escrow:
            refusal = refusal or self.entitled(regulator, "escrow regulator")
        # The registration is simulated before anything is filed: the chain's own refusals.
        if refusal is None and not self.active(registrant):
            refusal = Refusal(ContractRevert, r"\[TradeRegistry.NotActiveMember\]", "the chain: registrant suspended")
        if refusal is None and registrant not in SUPPLIERS:
            refusal = Refusal(ContractRevert, r"\[TradeRegistry.NotTradingParty\]", "the chain: not a trading party")
        desk = self.desks[registrant]
        result = self.attempt("put", refusal, lambda: desk.put_trade_document(
            kind, content, file_name, self.names.address("hospital"), FACE, parent))
        if result is None:
            return None
        record, commitment = result
        assert record == self.first_record + len(self.docs), "records are numbered in order"
        assert commitment == self.expected_commitment(registrant, content)
        self.docs[record] = Doc(record, commitment, registrant, kind, parent, content, file_name,
                                readers={registrant, "hospital", *self.escrow})
        self.cards.add(registrant)  # its first put files its key card
        return record

    def put_again(self, data: st.DataObject) -> None:
        """The same content between the same pair, from either side and as any type."""
        doc = self.docs[data.draw(st.sampled_from(sorted(self.docs)), label="record")]
        kind = data.draw(st.sampled_from(KINDS), label="type")
        from_hospital = data.draw(st.booleans(), label="from the hospital")
        putter, other = ("hospital", doc.registrant) if from_hospital else (doc.registrant, "hospital")
        refusal = self.entitled(other, "counterparty")
        for regulator in self.escrow:
            refusal = refusal or self.entitled(regulator, "escrow regulator")
        refusal = refusal or Refusal(
            VaultError, f"this {kind.name.lower()} is already anchored with {re.escape(self.names.address(other))} "
            f"as trade record {doc.record}$", "already anchored")
        self.attempt("put again", refusal, lambda: self.desks[putter].put_trade_document(
            kind, doc.content, doc.file_name, self.names.address(other), FACE))

    def confirm(self, data: st.DataObject) -> None:
        record = self.pick_record(data, [r for r, d in self.docs.items() if d.status == RecordStatus.REGISTERED],
                                  "record")
        by_counterparty = data.draw(st.sampled_from([True, True, False]), label="by the counterparty")
        caller = "hospital" if by_counterparty else data.draw(st.sampled_from(PEOPLE), label="caller")
        self._confirm(record, caller)

    def _confirm(self, record: int, caller: str) -> None:
        doc = self.docs[record]
        refusal = self.opening(caller, doc)
        if refusal is None and caller != doc.counterparty:
            refusal = Refusal(VaultError, f"is not the counterparty of trade record {record}$", "not the counterparty")
        if refusal is None and doc.status != RecordStatus.REGISTERED:
            refusal = Refusal(ContractRevert, r"\[TradeRegistry.RecordNotPending\]", "not pending")
        if refusal is None and not self.active(caller):
            refusal = Refusal(ContractRevert, r"\[TradeRegistry.NotActiveMember\]", "counterparty suspended")
        checked = self.attempt("confirm", refusal, lambda: self.desks[caller].confirm(record))
        if checked is not None:
            assert checked.opening.content == doc.content
            doc.status = RecordStatus.CONFIRMED

    def share(self, data: st.DataObject) -> None:
        """Mostly aimed at a share the model allows (an active party, intact records of its own,
        an active recipient with a card), else drawn from everyone and every record."""
        aimed = data.draw(st.sampled_from([True, True, False]), label="aimed")
        sharers = [m for m in MEMBERS if self.active(m) and self.shareable(m)]
        if aimed and sharers:
            sharer = data.draw(st.sampled_from(sharers), label="sharer")
            records = data.draw(st.lists(st.sampled_from(self.shareable(sharer)), min_size=1, max_size=3,
                                         unique=True), label="records")
            eligible = [m for m in MEMBERS if m != sharer and self.active(m) and m in self.cards]
            newcomers = [m for m in eligible if m not in self.docs[records[0]].readers]
            recipient = data.draw(st.sampled_from(newcomers * 2 + eligible or list(PEOPLE)), label="recipient")
        else:
            records = data.draw(st.lists(st.sampled_from(sorted(self.docs)), min_size=1, max_size=3, unique=True),
                                label="records")
            sharer = data.draw(st.sampled_from([*sorted(self.docs[records[0]].readers)] * 2 + list(PEOPLE)),
                               label="sharer")
            recipient = data.draw(st.sampled_from([sharer, *PEOPLE]), label="recipient")
        # Each record's party first, then each document opened, then the recipient, then the sharer.
        refusal = None
        for record in records:
            if sharer not in (self.docs[record].registrant, self.docs[record].counterparty):
                refusal = refusal or Refusal(
                    VaultError, f"{re.escape(self.names.address(sharer))} is not a party to trade record {record}:",
                    "not a party")
        for record in records:
            refusal = refusal or self.opening(sharer, self.docs[record])
        if refusal is None and recipient == sharer:
            refusal = Refusal(VaultError, "does not share documents with itself", "to itself")
        refusal = refusal or self.entitled(recipient, "recipient")
        if refusal is None and not self.active(sharer):
            refusal = Refusal(VaultError, f"{re.escape(self.names.address(sharer))} is suspended: a member that is "
                              "not active shares no documents", "sharer suspended")
        statement = self.attempt("share", refusal, lambda: self.desks[sharer].share(
            records, self.names.address(recipient), purpose="vault model"))
        if statement is None:
            return
        self.disclosures += 1
        for record in records:
            self.docs[record].readers.add(recipient)
        body = statement.body
        assert (statement.author, body["by"], body["to"], body["purpose"]) == (
            self.names.address(sharer), self.names.address(sharer), self.names.address(recipient), "vault model")
        assert body["documents"] == [{"record": r, "commitment": "0x" + self.docs[r].commitment.hex()}
                                     for r in records]

    def membership(self, data: st.DataObject) -> None:
        """The operator suspends an active member (up to MAX_SUSPENDED at a time) or reinstates
        a suspended one."""
        suspended = [m for m in MEMBERS if self.status[m] == MemberStatus.SUSPENDED]
        if suspended and (len(suspended) >= MAX_SUSPENDED or data.draw(st.booleans(), label="reinstate")):
            self.reinstate(data.draw(st.sampled_from(suspended), label="member"))
        else:
            self.suspend(data)

    def suspend(self, data: st.DataObject) -> None:
        active = [m for m in MEMBERS if self.active(m)]
        # The auditor more often, most of all while the policy names it: it then stops every put.
        weight = (6 if "auditor" in self.escrow else 2) * ("auditor" in active)
        name = data.draw(st.sampled_from(active + ["auditor"] * weight), label="member")
        self.suite.registry.suspend(self.names.accounts["operator"], self.names.address(name))
        self.status[name] = MemberStatus.SUSPENDED
        OUTCOMES[f"suspend {'the auditor' if name == 'auditor' else 'a member'}"] += 1
        suppliers = [s for s in SUPPLIERS if self.active(s)]
        if name in self.escrow and suppliers:  # the regulator of the policy: no document is filed now
            registrant = data.draw(st.sampled_from(suppliers), label="registrant")
            assert self._put(registrant, DocType.INVOICE, 0) is None

    def reinstate(self, name: str) -> None:
        self.suite.registry.reinstate(self.names.accounts["operator"], self.names.address(name))
        self.status[name] = MemberStatus.ACTIVE
        OUTCOMES["reinstate"] += 1

    def set_policy(self, data: st.DataObject) -> None:
        with_auditor = data.draw(st.booleans(), label="escrow the auditor")
        by_operator = data.draw(st.sampled_from([True, True, True, False]), label="by the operator")
        self._set_policy("operator" if by_operator else "tier1", with_auditor)

    def _set_policy(self, signer: str, with_auditor: bool) -> None:
        escrow = ["auditor"] if with_auditor else []
        refusal = None
        if signer != "operator":
            refusal = Refusal(VaultError, "is not an operator of the registry", "not an operator")
        elif with_auditor:
            refusal = self.entitled("auditor", "escrow regulator")
        done = self.attempt(f"set policy {escrow}", refusal, lambda: self.desks[signer].set_policy(
            [self.names.address(n) for n in escrow]))
        if done is not None:
            self.escrow = escrow
            self.policies += 1

    def tamper(self, data: st.DataObject) -> None:
        """An attacker with write access to the folder flips one byte of a document's file."""
        record = data.draw(st.sampled_from([r for r, d in self.docs.items() if not d.tampered]), label="record")
        stored = self.vault.document_of_record(record)
        assert stored is not None
        path = self.vault.blobs / stored.blob
        blob = bytearray(path.read_bytes())
        at = data.draw(st.integers(0, len(blob) - 1), label="byte")
        blob[at] ^= data.draw(st.integers(1, 255), label="mask")
        path.write_bytes(bytes(blob))
        doc = self.docs[record]
        doc.tampered = True
        OUTCOMES["tamper"] += 1
        # Whoever opens it now, a reader included, is refused: no content comes out of it.
        for caller in [*sorted(doc.readers), "outsider"]:
            refusal = self.opening(caller, doc)
            assert refusal is not None and refusal.why == "altered file"
            self.attempt("get", refusal, lambda c=caller: self.desks[c].get_record(record))

    def get(self, data: st.DataObject) -> None:
        unregistered = self.first_record + len(self.docs)
        record = data.draw(st.sampled_from([*sorted(self.docs)] * 4 + [unregistered]), label="record")
        doc = self.docs.get(record)
        readers = sorted(doc.readers) if doc else []
        caller = data.draw(st.sampled_from(readers * 2 + list(PEOPLE)), label="caller")
        if doc is None:
            refusal: Refusal | None = Refusal(VaultError, f"trade record {record} does not exist on chain", "no record")
        else:
            refusal = self.opening(caller, doc)
        checked = self.attempt("get", refusal, lambda: self.desks[caller].get_record(record))
        if checked is None:
            return
        assert doc is not None
        opening = checked.opening
        assert (opening.content, opening.name, opening.kind) == (doc.content, doc.file_name, doc.doc_type.name.lower())
        assert keccak(opening.salt + keccak(doc.content)) == doc.commitment == checked.commitment
        assert checked.record is not None and checked.record.status == doc.status

    # ---------------------------------------------------------------- invariants

    @invariant()
    def readers_are_the_models(self) -> None:
        for record, doc in self.docs.items():
            readers = {g.reader for g in self.vault.grants(doc.commitment)}
            assert readers == {self.names.address(n) for n in doc.readers}, (
                f"record {record}: the vault wraps its key for {sorted(map(self.names.name, readers))}, "
                f"the model says {sorted(doc.readers)}")

    @invariant()
    def the_vault_holds_the_models_documents_cards_and_statements(self) -> None:
        documents = self.vault.documents()
        assert {(d.commitment, d.record) for d in documents} == {(d.commitment, r) for r, d in self.docs.items()}
        assert len(list(self.vault.blobs.iterdir())) == len(self.docs)
        cards = {row[0] for row in self.vault.db.execute("SELECT address FROM key_cards")}
        assert cards == {self.names.address(n) for n in self.cards}
        assert len(self.vault.statements("disclosure")) == self.disclosures
        assert len(self.vault.statements("policy")) == self.policies
        assert self.desks["tier3"].escrow() == [self.names.address(n) for n in self.escrow]

    @invariant()
    def the_chain_anchors_the_models_records(self) -> None:
        assert self.suite.trade.call("recordCount") == self.first_record - 1 + len(self.docs)
        for record, doc in self.docs.items():
            on_chain = self.suite.trade.record(record)
            assert (on_chain.registrant, on_chain.counterparty, on_chain.doc_type, on_chain.parent_id,
                    on_chain.status) == (self.names.address(doc.registrant), self.names.address(doc.counterparty),
                                         doc.doc_type, doc.parent, doc.status), f"record {record}"
            anchored = self.suite.trade.doc_hash(record)
            assert anchored == doc.commitment and anchored != keccak(doc.content), f"record {record}"
        for name, status in self.status.items():
            assert self.suite.registry.status_of(self.names.address(name)) == status, name


# Every rule, and the refusals the brief names: these outcomes, and one of each family.
REACHED = (
    "put", "put refused (escrow regulator suspended)", "put again refused (already anchored)", "confirm", "share",
    "suspend a member", "suspend the auditor", "reinstate", "set policy []", "set policy ['auditor']", "tamper", "get",
    "get refused (not entitled)", "get refused (altered file)",
)
REACHED_ONE_OF = ("put refused (the chain: ", "confirm refused (", "share refused (")


def test_who_may_open_which_document_follows_the_model(suite, cast, w3, tmp_path):
    VaultMachine.suite = suite
    VaultMachine.w3 = w3
    VaultMachine.names = Names({name: getattr(cast, name) for name in PEOPLE})
    VaultMachine.base = tmp_path
    VaultMachine.counter = itertools.count(1)

    OUTCOMES.clear()
    run_state_machine_as_test(VaultMachine, settings=fuzz_budget(examples=10, steps=25, database=None))
    print(f"\n{sum(OUTCOMES.values())} actions fuzzed:", ", ".join(f"{k} x{n}" for k, n in sorted(OUTCOMES.items())))
    missing = [r for r in REACHED if r not in OUTCOMES]
    missing += [f"{r}...)" for r in REACHED_ONE_OF if not any(k.startswith(r) for k in OUTCOMES)]
    assert not missing, f"the fuzz never reached {sorted(missing)}: {sorted(OUTCOMES)}"


# ---------------------------------------------------- a refused put, deterministically
# Found while writing this model, against the vault before 2a7702a: a put by a registrant the
# chain refuses (a suspended supplier) filed the document, its key wraps and the registrant's
# key card before ``register`` reverted, and putting the same file again later anchored it with
# those stale wraps, past the policy then in force. 2a7702a simulates the registration first;
# with that simulation taken out, the machine above fails again in two steps (a put by the bank)
# and these two tests pin the case without hypothesis.


@pytest.fixture
def desks(vault, suite, cast):
    """The parties' and the regulator's desks, tier 3 without a key card yet (this module's own, in place
    of conftest's every-member `desks`)."""
    names = ("hospital", "tier3", "auditor", "operator")
    people = {name: VaultDesk(vault, suite, getattr(cast, name)) for name in names}
    for name in ("hospital", "auditor"):
        people[name].publish_key()
    return people


@contextmanager
def suspended(suite, cast, account) -> Iterator[None]:
    suite.registry.suspend(cast.operator, account.address)
    try:
        yield
    finally:
        if suite.registry.status_of(account.address) == MemberStatus.SUSPENDED:
            suite.registry.reinstate(cast.operator, account.address)


def test_a_put_by_a_suspended_registrant_files_nothing(suite, cast, desks, vault):
    desks["operator"].set_policy([cast.auditor.address])
    before = vault_state(vault, suite, [])
    with suspended(suite, cast, cast.tier3), pytest.raises(ContractRevert, match="NotActiveMember"):
        desks["tier3"].put_trade_document(DocType.INVOICE, b"INVOICE of a suspended supplier (vault model)",
                                          "invoice.txt", cast.hospital.address, FACE)
    assert vault_state(vault, suite, []) == before
    assert vault.key_card(cast.tier3.address) is None


def test_a_file_refused_once_is_filed_later_under_the_policy_then_in_force(suite, cast, desks, vault):
    """Refused while the policy names no regulator, put again once it names the auditor: the
    document is wrapped for the auditor, not with the wraps of the refused attempt."""
    content = b"ORDER of a supplier suspended once (vault model)"
    desks["operator"].set_policy([])
    with suspended(suite, cast, cast.tier3), pytest.raises(ContractRevert, match="NotActiveMember"):
        desks["tier3"].put_trade_document(DocType.ORDER, content, "order.txt", cast.hospital.address, FACE)
    desks["operator"].set_policy([cast.auditor.address])  # the same second: the newer record counts
    assert desks["tier3"].escrow() == [cast.auditor.address]
    record, commitment = desks["tier3"].put_trade_document(DocType.ORDER, content, "order.txt",
                                                           cast.hospital.address, FACE)
    assert {g.reader for g in vault.grants(commitment)} == {cast.tier3.address, cast.hospital.address,
                                                            cast.auditor.address}
    assert desks["auditor"].get_record(record).opening.content == content
