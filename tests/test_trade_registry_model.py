"""The trade registry fuzzed against a small Python model of it.

Random registrations among three trading members (and a financier, who may not anchor), from a
pool of three document hashes so that the same hash comes back often (for the same pair in
either order, for another pair, after a rejection), with parents that exist, were rejected,
link other parties or do not exist, amounts up to and beyond the largest; confirmations and
rejections by the counterparty or by someone else; reservations and releases by a ledger.
After every step each record on chain, every hash's record for every pair and the record count
must agree with the model, and every refused action must be mined as a failed transaction
with the very error the model predicts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from scf.chain.devnet import revert, set_balance, snapshot
from scf.chain.reverts import ContractRevert
from scf.contracts import DocType, RecordStatus, TradeRecord
from tests.support import ETHER, MAX_AMOUNT, fuzz_budget, member_key, mined_refusal

HASHES = [keccak(text=f"model document {i}") for i in range(3)]
OUTCOMES: Counter[str] = Counter()


@dataclass
class Refusal:
    error: str
    args: dict[str, Any]


class TradeMachine(RuleBasedStateMachine):
    trade: Any
    w3: Any
    parties: list[LocalAccount]  # hospital (core enterprise), tier 1, tier 2 (suppliers)
    financier: LocalAccount
    ledger: LocalAccount
    ledger_id: int
    first_record: int

    def __init__(self) -> None:
        super().__init__()
        self.snapshot_id = snapshot(self.w3)
        self.records: dict[int, TradeRecord] = {}
        self.latest: dict[tuple[bytes, frozenset[str]], int] = {}

    def teardown(self) -> None:
        revert(self.w3, self.snapshot_id)

    def act(self, name: str, refusal: Refusal | None, signer: LocalAccount, function: str, *args: Any) -> bool:
        """Sends the action; a refusal must be mined and name the predicted error. True if done."""
        if refusal is not None:
            e: ContractRevert = mined_refusal(self.trade, signer, function, *args)
            assert (e.error, e.args_by_name) == (refusal.error, refusal.args), f"{name}{args}"
            OUTCOMES[f"{name} refused ({refusal.error})"] += 1
            return False
        self.trade.send(signer, function, *args)
        OUTCOMES[name] += 1
        return True

    def live(self, doc_hash: bytes, a: str, b: str) -> int:
        """The record holding ``doc_hash`` for the pair, 0 if none or rejected."""
        found = self.latest.get((doc_hash, frozenset((a, b))), 0)
        return 0 if found == 0 or self.records[found].status == RecordStatus.REJECTED else found

    def some_record(self, data: st.DataObject, aim: Callable[[TradeRecord], bool]) -> int:
        """Mostly a record the action suits (so that lifecycles get somewhere), else any, or
        the next id (not registered yet)."""
        suited = [i for i, r in self.records.items() if aim(r)]
        pool = [*suited, *suited, *suited, *self.records, self.first_record + len(self.records)]
        return data.draw(st.sampled_from(pool), label="record")

    # ---------------------------------------------------------------------- rules

    @rule(data=st.data(), doc=st.sampled_from(HASHES), invoice=st.booleans(),
          amount=st.sampled_from([500] * 4 + [1, MAX_AMOUNT, MAX_AMOUNT + 1, 0]))
    def register(self, data: st.DataObject, doc: bytes, invoice: bool, amount: int) -> None:
        who = data.draw(st.sampled_from([*self.parties] * 3 + [self.financier]), label="registrant")
        # Mostly another trading party; sometimes the financier or the registrant itself.
        others = [p for p in self.parties if p is not who]
        other = data.draw(st.sampled_from(others * 4 + [self.financier, who]), label="counterparty")
        parent = data.draw(st.sampled_from([0, 0, *self.records, 999_999]), label="parent")
        self._register(who, other, doc, DocType.INVOICE if invoice else DocType.ORDER, amount, parent)

    @initialize()
    def two_documents(self) -> None:
        """A pending order (hospital to tier 1) and a confirmed invoice (tier 1 to the hospital)
        with 200 of its 500 reserved: every rule has something to act on from the first step,
        so each run reaches every action (checked at the end)."""
        hospital, tier1 = self.parties[:2]
        self._register(hospital, tier1, HASHES[0], DocType.ORDER, 500, 0)
        self._register(tier1, hospital, HASHES[1], DocType.INVOICE, 500, 0)
        invoice = max(self.records)
        self.act("confirm", None, hospital, "confirm", invoice)
        self.act("reserve", None, self.ledger, "reserve", invoice, tier1.address, hospital.address, 200)
        self.records[invoice] = replace(self.records[invoice], status=RecordStatus.CONFIRMED, reserved=200,
                                        ledger_id=self.ledger_id)

    def _register(self, who: LocalAccount, other: LocalAccount, doc: bytes, doc_type: DocType, amount: int,
                  parent: int) -> None:
        me, them = who.address, other.address
        existing = self.live(doc, me, them)
        p = self.records.get(parent)
        refusal = None
        if them == me:
            refusal = Refusal("SelfCounterparty", {"account": me})
        elif amount == 0:
            refusal = Refusal("ZeroAmount", {})
        elif amount > MAX_AMOUNT:
            refusal = Refusal("AmountTooLarge", {"amount": amount})
        elif who is self.financier:
            refusal = Refusal("NotTradingParty", {"account": me})
        elif other is self.financier:
            refusal = Refusal("NotTradingParty", {"account": them})
        elif existing:
            refusal = Refusal("DuplicateDocument", {"docHash": doc, "existingRecordId": existing})
        elif parent and p is None:
            refusal = Refusal("UnknownRecord", {"recordId": parent})
        elif p is not None and p.status == RecordStatus.REJECTED:
            refusal = Refusal("ParentRejected", {"parentId": parent})
        elif p is not None and {p.registrant, p.counterparty} != {me, them}:
            refusal = Refusal("ParentPartiesMismatch", {"parentId": parent})
        if self.act("register", refusal, who, "register", int(doc_type), doc, them, amount, parent):
            record_id = self.first_record + len(self.records)
            self.records[record_id] = TradeRecord(record_id, me, doc_type, RecordStatus.REGISTERED, 0, 0, them,
                                                  amount, parent)
            self.latest[(doc, frozenset((me, them)))] = record_id

    @rule(data=st.data(), confirm=st.booleans())
    def decide(self, data: st.DataObject, confirm: bool) -> None:
        record_id = self.some_record(data, lambda r: r.status == RecordStatus.REGISTERED)
        r = self.records.get(record_id)
        anyone = [*self.parties, self.financier]
        right = r is not None and data.draw(st.sampled_from([True, True, True, False]), label="by the counterparty")
        caller = self._party(r.counterparty) if r and right else data.draw(st.sampled_from(anyone), label="caller")
        refusal = None
        if r is None:
            refusal = Refusal("UnknownRecord", {"recordId": record_id})
        elif caller.address != r.counterparty:
            refusal = Refusal("NotCounterparty", {"recordId": record_id, "caller": caller.address})
        elif r.status != RecordStatus.REGISTERED:
            refusal = Refusal("RecordNotPending", {"recordId": record_id, "status": r.status})
        name = "confirm" if confirm else "reject"
        if self.act(name, refusal, caller, name, record_id) and r is not None:
            status = RecordStatus.CONFIRMED if confirm else RecordStatus.REJECTED
            self.records[record_id] = replace(r, status=status)

    @rule(data=st.data(), amount=st.sampled_from([1, 200, 500, MAX_AMOUNT]), swap=st.sampled_from([False] * 4 + [True]))
    def reserve(self, data: st.DataObject, amount: int, swap: bool) -> None:
        open_invoice = (DocType.INVOICE, RecordStatus.CONFIRMED)
        record_id = self.some_record(data, lambda r: (r.doc_type, r.status) == open_invoice and r.reserved < r.amount)
        r = self.records.get(record_id)
        creditor, debtor = (r.registrant, r.counterparty) if r else (self.parties[1].address, self.parties[0].address)
        if swap:
            creditor, debtor = debtor, creditor
        refusal = None
        if r is None:
            refusal = Refusal("UnknownRecord", {"recordId": record_id})
        elif r.doc_type != DocType.INVOICE:
            refusal = Refusal("NotAnInvoice", {"recordId": record_id, "docType": r.doc_type})
        elif r.status != RecordStatus.CONFIRMED:
            refusal = Refusal("InvoiceNotConfirmed", {"recordId": record_id, "status": r.status})
        elif swap:
            refusal = Refusal("InvoicePartiesMismatch", {"recordId": record_id, "creditor": creditor, "debtor": debtor})
        elif amount > r.amount - r.reserved:
            refusal = Refusal("InsufficientInvoiceAmount",
                              {"recordId": record_id, "available": r.amount - r.reserved, "needed": amount})
        if self.act("reserve", refusal, self.ledger, "reserve", record_id, creditor, debtor, amount) and r:
            self.records[record_id] = replace(r, reserved=r.reserved + amount, ledger_id=self.ledger_id)

    @rule(data=st.data(), share=st.sampled_from([1, 2, 0]))
    def release(self, data: st.DataObject, share: int) -> None:
        record_id = self.some_record(data, lambda r: r.reserved > 0)
        r = self.records.get(record_id)
        amount = (r.reserved // share if share else r.reserved + 1) if r and r.reserved else 1
        refusal = None
        if r is None:
            refusal = Refusal("UnknownRecord", {"recordId": record_id})
        elif amount > r.reserved:
            refusal = Refusal("ReleaseExceedsReserved", {"recordId": record_id, "reserved": r.reserved,
                                                         "released": amount})
        if self.act("release", refusal, self.ledger, "release", record_id, amount) and r:
            left = r.reserved - amount
            self.records[record_id] = replace(r, reserved=left, ledger_id=self.ledger_id if left else 0)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def the_chain_agrees_with_the_model(self) -> None:
        assert self.trade.call("recordCount") == self.first_record - 1 + len(self.records)
        for record_id, expected in self.records.items():
            assert self.trade.record(record_id) == expected, f"record {record_id}"
        for doc in HASHES:
            for i, a in enumerate(self.parties):
                for b in self.parties[i + 1:]:
                    assert self.trade.record_id_of(doc, a.address, b.address) == self.live(doc, a.address, b.address)

    def _party(self, address: str) -> LocalAccount:
        return next(p for p in [*self.parties, self.financier] if p.address == address)


def test_the_trade_registry_behaves_like_its_model_under_random_documents(suite, cast, w3):
    trade = suite.trade
    ledger = member_key("trade model ledger")
    set_balance(w3, ledger.address, 100 * ETHER)
    trade.set_ledger(cast.governance, ledger.address)

    TradeMachine.trade = trade
    TradeMachine.w3 = w3
    TradeMachine.parties = [cast.hospital, cast.tier1, cast.tier2]
    TradeMachine.financier = cast.bank
    TradeMachine.ledger = ledger
    TradeMachine.ledger_id = trade.call("ledgerIdOf", ledger.address)
    TradeMachine.first_record = trade.call("recordCount") + 1

    OUTCOMES.clear()
    run_state_machine_as_test(TradeMachine, settings=fuzz_budget(examples=12, steps=25, database=None))
    print(f"\n{sum(OUTCOMES.values())} actions fuzzed:", ", ".join(f"{k} x{n}" for k, n in sorted(OUTCOMES.items())))
    done = {k for k in OUTCOMES if "refused" not in k}
    reached = {"register", "confirm", "reject", "reserve", "release"}
    assert reached <= done, f"the fuzz reached too little: {sorted(OUTCOMES)}"
    assert any("DuplicateDocument" in k for k in OUTCOMES), "no hash came back while live"
