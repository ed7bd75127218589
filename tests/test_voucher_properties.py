"""Property test of the voucher ledger: random financing histories among many members (two
core enterprises, five suppliers, two banks and an outsider), every action checked against a
Python model of the ledger, and the ledger's invariants read back from the chain after every
step. The invariants are stated in ``VoucherLedgerMachine``'s docstring.

The budget is small for CI (8 histories of 25 steps); ``SCF_FUZZ_EXAMPLES`` and
``SCF_FUZZ_STEPS`` raise it for a deeper run, e.g.
``SCF_FUZZ_EXAMPLES=200 SCF_FUZZ_STEPS=50 ape test tests/test_voucher_properties.py``, and
``SCF_FUZZ_VERBOSE=1`` prints every step. Run with ``-s`` to see how often each action
succeeded or failed with which error.
"""

from __future__ import annotations

import copy
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from hypothesis import Verbosity
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from scf.chain.devnet import increase_time, revert, set_balance, snapshot
from scf.chain.errors import ContractRevert
from scf.contracts import DocType, MemberStatus, Role, SlotInfo, SlotStatus, token_id
from scf.contracts import label as voucher_label
from scf.typed_data import DiscountOffer
from tests.conftest import CNY, DAY, member_key
from tests.support import fuzz_budget

T = TypeVar("T")
OUTCOMES: Counter[str] = Counter()

FUZZ_BUDGET = fuzz_budget(
    examples=8,
    steps=25,
    print_blob=True,
    verbosity=Verbosity.debug if os.environ.get("SCF_FUZZ_VERBOSE") else Verbosity.normal,
)

HOUR = 3_600
SERIAL_BITS = 32
SERIAL_MASK = (1 << SERIAL_BITS) - 1
MAX_UINT256 = 2**256 - 1
YEAR_BASIS = 360 * DAY * 10_000  # DiscountDesk: ACT/360 times basis points
MAX_RATE_BPS = 10_000

CORE_CREDIT_LIMITS = (1_500_000 * CNY, 800_000 * CNY)
CORE_OPENING_CASH = 10_000_000 * CNY
BANK_OPENING_CASH = 100_000_000 * CNY
SUPPLIERS = 5
MAX_FACE = 400_000 * CNY
GAS_MONEY = 10**21


def slot_of(token: int) -> int:
    return token >> SERIAL_BITS


def serial_of(token: int) -> int:
    return token & SERIAL_MASK


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# ------------------------------------------------------------------------ the model


@dataclass(frozen=True)
class Revert:
    """A custom error the model predicts, with the arguments it must carry (a subset)."""

    error: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class SlotModel:
    slot: int
    debtor: str
    creditor: str
    face: int
    maturity: int
    record: int
    status: SlotStatus = SlotStatus.ISSUED
    funded: int = 0
    redeemed: int = 0
    last_serial: int = 0
    overdue_at: int = 0


@dataclass
class VoucherModel:
    token: int
    owner: str
    value: int
    parent: int
    frozen: bool = False


@dataclass
class InvoiceModel:
    record: int
    creditor: str
    debtor: str
    amount: int
    reserved: int = 0


@dataclass
class Ledger:
    """What the chain must hold, kept by hand from the rules' outcomes."""

    status: dict[str, MemberStatus]
    cash: dict[str, int]
    voucher_cash: int = 0
    slots: dict[int, SlotModel] = field(default_factory=dict)
    live: dict[int, VoucherModel] = field(default_factory=dict)
    parents: dict[int, int] = field(default_factory=dict)  # every voucher ever minted
    invoices: dict[int, InvoiceModel] = field(default_factory=dict)
    used_nonces: set[tuple[str, int]] = field(default_factory=set)

    def status_of(self, account: str) -> MemberStatus:
        return self.status.get(account, MemberStatus.NONE)

    def outstanding(self, debtor: str) -> int:
        return sum(
            s.face
            for s in self.slots.values()
            if s.debtor == debtor and s.status in (SlotStatus.ISSUED, SlotStatus.ACCEPTED)
        )

    def mint(self, slot: SlotModel, owner: str, value: int, parent: int) -> int:
        slot.last_serial += 1
        token = token_id(slot.slot, slot.last_serial)
        self.live[token] = VoucherModel(token, owner, value, parent)
        self.parents[token] = parent
        return token


def expect(what: str, expected: Revert | None, action: Callable[[], T]) -> T | None:
    """Runs ``action``; asserts it succeeds when ``expected`` is None, else that it reverts with
    exactly that custom error and arguments. Returns the action's result on success. Outcomes are
    counted in ``OUTCOMES``, which the test prints (``-s``) to show what the run covered."""
    OUTCOMES[f"{what}: {expected.error if expected else 'ok'}"] += 1
    try:
        result = action()
    except ContractRevert as exc:
        if expected is None:
            raise AssertionError(f"the model expected success, the chain reverted with {exc.describe()}") from exc
        assert exc.error == expected.error, f"the model expected {expected}, the chain reverted with {exc.describe()}"
        for name, value in expected.args.items():
            assert exc.args_by_name.get(name) == value, (
                f"the model expected {expected}, the chain reverted with {exc.describe()}"
            )
        return None
    assert expected is None, f"the model expected {expected}, the chain accepted it"
    return result


def parse_label(text: str) -> int:
    """``"3.2"`` -> the token id of slot 3's second voucher (the inverse of ``voucher_label``)."""
    slot, serial = text.split(".")
    return token_id(int(slot), int(serial))


def draw_voucher(data: st.DataObject, tokens: Iterable[int], name: str) -> int:
    """One of ``tokens``, drawn by its ``slot.serial`` label so that examples read well."""
    return parse_label(data.draw(st.sampled_from([voucher_label(t) for t in sorted(tokens)]), label=name))


def choose(data: st.DataObject, label: str, weights: dict[str, int]) -> str:
    """A weighted choice among named options; shrinks towards the first (the ordinary case)."""
    population = [name for name, weight in weights.items() for _ in range(weight)]
    return data.draw(st.sampled_from(population), label=label)


def abi_type(param: dict[str, Any]) -> str:
    kind = param["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(abi_type(c) for c in param["components"]) + ")" + kind[5:]
    return kind


class BatchReader:
    """Reads many contract views at the latest block in one JSON-RPC batch: the invariants read
    the whole ledger after every step, and one round trip per step keeps that cheap."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self._calls: list[tuple[str, str, list[str]]] = []

    def add(self, client: Any, function: str, *args: Any) -> int:
        """Queues ``function(*args)`` of ``client``'s contract; returns its index in ``run()``."""
        (abi,) = (i for i in client.contract.abi if i.get("type") == "function" and i["name"] == function)
        data = client.contract.encode_abi(function, args=list(args))
        self._calls.append((client.address, data, [abi_type(o) for o in abi["outputs"]]))
        return len(self._calls) - 1

    def run(self) -> list[Any]:
        w3 = self.conn.w3
        requests = [("eth_call", [{"to": to, "data": data}, "latest"]) for to, data, _ in self._calls]
        responses = w3.provider.make_batch_request(requests)
        assert isinstance(responses, list), f"the batch read failed: {responses}"
        results = []
        for (to, data, types), response in zip(self._calls, responses, strict=True):
            if "error" in response:
                raise AssertionError(
                    f"view {data[:10]} of {to} reverted: {self.conn.errors.decode(response['error'].get('data'))}"
                )
            values = w3.codec.decode(types, bytes.fromhex(response["result"][2:]))
            results.append(values[0] if len(values) == 1 else tuple(values))
        return results


@dataclass
class ChainView:
    """What the invariants read from the chain after a step."""

    block: int
    slot_count: int
    slots: dict[int, SlotInfo]
    vouchers: dict[int, tuple[str, int, int, int, bool]]  # tokenInfo of every voucher ever minted
    parent_of: dict[int, int]  # parentOf of every live voucher
    status: dict[str, MemberStatus]  # of every holder
    balances: dict[str, int]  # settlement cash of every account that may hold any
    supply: int
    outstanding: dict[str, int]
    records: dict[int, tuple[int, int]]  # invoice -> (amount, reserved)


# ----------------------------------------------------------------- the state machine


class VoucherLedgerMachine(RuleBasedStateMachine):
    """Random issuance, acceptance, cancellation, split-transfer, merge, whole transfer,
    discounting at banks, partial and full funding, time travel, redemption (single and batch),
    freezes, member suspensions and overdue reports, each checked against the model.

    Invariants, read from the chain after every step:

    - Every action succeeds exactly when the model says it must, and otherwise reverts with
      the custom error (and arguments) the model predicts.
    - Per slot, the values of its live vouchers plus what was redeemed equal its face value,
      and the chain holds no voucher the model does not know.
    - The settlement token's supply is what was minted and equals the sum of all accounts'
      balances plus the voucher contract's, which holds exactly sum(funded - redeemed) over slots.
    - Every live voucher is held by an admitted member (active or suspended, never an outsider).
    - Every voucher's lineage via parentOf reaches its slot's root (serial 1) through strictly
      smaller serials of the same slot, so in finitely many steps.
    - Each debtor's outstandingOf equals the face value of its issued or accepted unsettled
      slots and never exceeds its credit limit.
    - An invoice's reserved amount equals the face value of the uncancelled vouchers issued
      against it and never exceeds the invoice amount (no double financing).
    """

    # Bound by the test function below (pytest fixtures cannot reach a machine directly).
    conn: Any = None
    w3: Any = None
    cast: Any = None
    suite: Any = None

    def __init__(self) -> None:
        super().__init__()
        self.snapshot_id = snapshot(self.w3)
        try:
            self._found_consortium()
        except BaseException:
            revert(self.w3, self.snapshot_id)
            raise

    def teardown(self) -> None:
        revert(self.w3, self.snapshot_id)

    # ------------------------------------------------------------------ set-up

    def _found_consortium(self) -> None:
        suite, operator = self.suite, self.cast.operator
        names = [
            *(f"core {i}" for i in range(len(CORE_CREDIT_LIMITS))),
            *(f"supplier {i}" for i in range(SUPPLIERS)),
            "bank 0",
            "bank 1",
            "outsider",  # never admitted
            "forger",  # signs offers it has no right to sign
        ]
        self.by_name = {name: member_key(f"property {name}") for name in names}
        self.name_of = {account.address: name for name, account in self.by_name.items()}
        self.cores = [account for name, account in self.by_name.items() if name.startswith("core")]
        self.suppliers = [account for name, account in self.by_name.items() if name.startswith("supplier")]
        self.banks = [account for name, account in self.by_name.items() if name.startswith("bank")]
        self.outsider, self.forger = self.by_name["outsider"], self.by_name["forger"]
        self.members: list[LocalAccount] = self.cores + self.suppliers + self.banks
        self.key = {a.address: a for a in self.by_name.values()}
        self.limit = {core.address: limit for core, limit in zip(self.cores, CORE_CREDIT_LIMITS, strict=True)}

        self.cast_accounts = sorted({a.address for a in vars(self.cast).values()})
        self.supply_at_start = suite.token.total_supply()
        self.cast_cash = {a: suite.token.balance_of(a) for a in self.cast_accounts}
        assert sum(self.cast_cash.values()) + suite.token.balance_of(suite.voucher.address) == self.supply_at_start

        kyc = keccak(text="property test kyc evidence")
        for account in self.key.values():
            set_balance(self.w3, account.address, GAS_MONEY)
        for i, core in enumerate(self.cores):
            suite.registry.admit(operator, core.address, f"Core {i}", Role.CORE_ENTERPRISE, kyc, CORE_CREDIT_LIMITS[i])
        for i, supplier in enumerate(self.suppliers):
            suite.registry.admit(operator, supplier.address, f"Supplier {i}", Role.SUPPLIER, kyc)
        for i, bank in enumerate(self.banks):
            suite.registry.admit(operator, bank.address, f"Bank {i}", Role.FINANCIER, kyc)

        cash = {a.address: 0 for a in [*self.members, self.outsider]}
        for core in self.cores:
            suite.token.mint(operator, core.address, CORE_OPENING_CASH)
            cash[core.address] = CORE_OPENING_CASH
        for bank in self.banks:
            suite.token.mint(operator, bank.address, BANK_OPENING_CASH)
            suite.token.approve(bank, suite.desk.address, MAX_UINT256)  # the bank's discounting line
            cash[bank.address] = BANK_OPENING_CASH
        self.minted = len(self.cores) * CORE_OPENING_CASH + len(self.banks) * BANK_OPENING_CASH

        self.m = Ledger(status={a.address: MemberStatus.ACTIVE for a in self.members}, cash=cash)
        max_tenor, grace, *_ = suite.voucher.call("parameters")
        self.max_tenor, self.grace = int(max_tenor), int(grace)
        self.first_slot = suite.voucher.call("slotCount") + 1
        # Every time boundary of the run (maturities, grace ends, offer deadlines) sits half a
        # day off the clock's whole days, and time travels in whole days, so the few seconds a
        # block's timestamp drifts from the latest one can never decide an outcome.
        self.base = self.conn.block_timestamp()
        self.counter = 0
        self.executed_offers: list[tuple[DiscountOffer, bytes]] = []
        self._view: ChainView | None = None

    # ----------------------------------------------------------------- helpers

    def _who(self, address: str) -> str:
        return self.name_of.get(address, address)

    def _next(self) -> int:
        self.counter += 1
        return self.counter

    def _now(self) -> int:
        return self.conn.block_timestamp()

    def _day(self, now: int) -> int:
        return (now - self.base) // DAY

    @staticmethod
    def _reached(boundary: int, now: int) -> bool:
        assert abs(now - boundary) > HOUR, "test design: a time boundary too close to call"
        return now >= boundary

    def _pick(self, data: st.DataObject, group: list[LocalAccount], label: str) -> LocalAccount:
        """One of ``group``, drawn by name so that a falsifying example reads as a story."""
        return self.by_name[data.draw(st.sampled_from([self.name_of[a.address] for a in group]), label=label)]

    def _member(self, data: st.DataObject, label: str, *, outsider_weight: int = 0) -> str:
        if (
            outsider_weight
            and choose(data, f"{label} is", {"member": 10 - outsider_weight, "outsider": outsider_weight}) == "outsider"
        ):
            return self.outsider.address
        return self._pick(data, self.members, label).address

    def _owner_or_other(self, data: st.DataObject, owner: str, label: str) -> str:
        if choose(data, f"{label} is", {"the holder": 6, "someone else": 1}) == "the holder":
            return owner
        return self._member(data, label, outsider_weight=1)

    def _value(self, data: st.DataObject, available: int, label: str, *, all_weight: int = 2) -> int:
        """Part of ``available`` mostly, all of it (which may leave an empty voucher behind), or
        one unit too much, or nothing."""
        kind = choose(data, f"{label} kind", {"part": 4, "all": all_weight, "too much": 1, "zero": 1})
        if kind == "part" and available >= 2:
            return data.draw(st.integers(1, available - 1), label=label)
        if kind in ("part", "all"):
            return available
        return available + 1 if kind == "too much" else 0

    def _supplier(self, data: st.DataObject, status: MemberStatus) -> str:
        fitting = [a for a in self.suppliers if self.m.status_of(a.address) == status]
        if fitting and choose(data, "supplier pick", {f"{status.name.lower()}": 5, "any": 1}) != "any":
            return self._pick(data, fitting, "supplier").address
        return self._pick(data, self.suppliers, "supplier").address

    def _redeemable(self, token: int, now: int) -> bool:
        v, s = self.m.live[token], self.m.slots[slot_of(token)]
        return (
            not v.frozen
            and self._reached(s.maturity, now)
            and s.funded == s.face
            and (v.value == 0 or self.m.status_of(v.owner) == MemberStatus.ACTIVE)
        )

    def _movable(self, v: VoucherModel, now: int) -> bool:
        """Whether ``v`` has value that may move now."""
        return (
            v.value > 0
            and not v.frozen
            and not self._reached(self.m.slots[slot_of(v.token)].maturity, now)
            and self.m.status_of(v.owner) == MemberStatus.ACTIVE
        )

    def _live_token(self, data: st.DataObject, now: int, label: str = "voucher") -> int:
        """A live voucher, mostly one that may move now (frozen, matured and suspended holders'
        vouchers are picked too, to see them refused)."""
        movable = sorted(t for t, v in self.m.live.items() if self._movable(v, now))
        if movable and choose(data, f"{label} pick", {"movable": 5, "any": 1}) == "movable":
            return draw_voucher(data, movable, label)
        return draw_voucher(data, self.m.live, label)

    def _slot(self, data: st.DataObject, preferred: Callable[[SlotModel], bool], label: str = "slot") -> int:
        candidates = sorted(s.slot for s in self.m.slots.values() if preferred(s))
        if candidates and choose(data, f"{label} pick", {"fitting": 5, "any": 1}) == "fitting":
            return data.draw(st.sampled_from(candidates), label=label)
        return data.draw(st.sampled_from(sorted(self.m.slots)), label=label)

    def _merge_error(self, source: int, target: int, spender: str, value: int, now: int) -> Revert | None:
        """What refuses a merge once the spender may act, in the contract's order of checks."""
        if spender != self.m.live[source].owner and value > 0:
            return Revert("InsufficientAllowance", {"tokenId": source, "spender": spender, "allowance": 0, "needed": value})
        if target == source:
            return Revert("SameVoucher", {"tokenId": source})
        if slot_of(target) != slot_of(source):
            return Revert("SlotMismatch", {"fromTokenId": source, "toTokenId": target})
        if self.m.live[target].frozen:
            return Revert("VoucherFrozen", {"tokenId": target})
        return self._movable_error(self.m, source, self.m.live[target].owner, now)

    def _spender_error(self, spender: str, owner: str) -> Revert | None:
        """ReceivableVoucher._checkSpender: whoever moves value for its holder must be active."""
        if spender != owner and self.m.status_of(spender) != MemberStatus.ACTIVE:
            return Revert("NotActiveMember", {"account": spender})
        return None

    def _movable_error(self, ledger: Ledger, token: int, to: str, now: int) -> Revert | None:
        """ReceivableVoucher._checkMovable, in its order of checks."""
        v, s = ledger.live[token], ledger.slots[slot_of(token)]
        if v.frozen:
            return Revert("VoucherFrozen", {"tokenId": token})
        if self._reached(s.maturity, now):
            return Revert("SlotMatured", {"slot": s.slot, "maturity": s.maturity})
        if ledger.status_of(v.owner) != MemberStatus.ACTIVE:
            return Revert("NotActiveMember", {"account": v.owner})
        if ledger.status_of(to) != MemberStatus.ACTIVE:
            return Revert("NotActiveMember", {"account": to})
        return None

    def _redeem_in(self, ledger: Ledger, token: int, now: int) -> Revert | None:
        """Redeems ``token`` in ``ledger`` as the contract must; the error if it must revert."""
        v = ledger.live.get(token)
        if v is None:
            return Revert("UnknownVoucher", {"tokenId": token})
        if v.frozen:
            return Revert("VoucherFrozen", {"tokenId": token})
        s = ledger.slots[slot_of(token)]
        if not self._reached(s.maturity, now):
            return Revert("SlotNotMatured", {"slot": s.slot, "maturity": s.maturity})
        if s.funded < s.face:
            return Revert("SlotNotFullyFunded", {"slot": s.slot, "funded": s.funded, "faceValue": s.face})
        if v.value != 0 and ledger.status_of(v.owner) != MemberStatus.ACTIVE:
            return Revert("NotPermittedHolder", {"account": v.owner})  # the cash leg refuses it
        del ledger.live[token]
        s.redeemed += v.value
        if s.redeemed == s.face and s.status != SlotStatus.SETTLED:
            s.status = SlotStatus.SETTLED
        ledger.voucher_cash -= v.value
        ledger.cash[v.owner] += v.value
        return None

    def _new_invoice(self, creditor: LocalAccount, debtor: LocalAccount, amount: int) -> InvoiceModel | None:
        """The supplier anchors an invoice, the core enterprise confirms it."""
        doc_hash = keccak(text=f"property invoice {self._next()}")
        registered = expect(
            "register invoice",
            None
            if self.m.status_of(creditor.address) == MemberStatus.ACTIVE
            else Revert("NotActiveMember", {"account": creditor.address}),
            lambda: self.suite.trade.register(creditor, DocType.INVOICE, doc_hash, debtor.address, amount),
        )
        if registered is None:
            return None
        record, _ = registered
        self.suite.trade.confirm(debtor, record)
        invoice = self.m.invoices[record] = InvoiceModel(record, creditor.address, debtor.address, amount)
        return invoice

    def _issue(
        self, debtor: LocalAccount, creditor: LocalAccount, face: int, days: int, invoice: InvoiceModel
    ) -> int | None:
        """Issues a voucher due ``days`` (whole days plus half a day) from today; the slot if issued."""
        now = self._now()
        maturity = self.base + (self._day(now) + days) * DAY + DAY // 2
        needed = self.m.outstanding(debtor.address) + face
        expected = None
        if self._reached(maturity, now):
            expected = Revert("MaturityNotInFuture", {"maturity": maturity})
        elif not self._reached(maturity, now + self.max_tenor):
            expected = Revert("MaturityBeyondTenor", {"maturity": maturity})
        elif self.m.status_of(creditor.address) != MemberStatus.ACTIVE:
            expected = Revert("NotActiveMember", {"account": creditor.address})
        elif needed > self.limit[debtor.address]:
            expected = Revert(
                "CreditLimitExceeded", {"debtor": debtor.address, "limit": self.limit[debtor.address], "needed": needed}
            )
        elif face > invoice.amount - invoice.reserved:
            expected = Revert(
                "InsufficientInvoiceAmount",
                {"recordId": invoice.record, "available": invoice.amount - invoice.reserved, "needed": face},
            )
        issued = expect(
            "issue",
            expected,
            lambda: self.suite.voucher.issue(debtor, creditor.address, face, maturity, invoice.record),
        )
        if issued is None:
            return None
        slot, _ = issued
        assert slot == self.first_slot + len(self.m.slots), "slots are numbered sequentially"
        self.m.slots[slot] = SlotModel(slot, debtor.address, creditor.address, face, maturity, invoice.record)
        invoice.reserved += face
        return slot

    def _accept(self, slot: int, caller: str) -> None:
        s = self.m.slots[slot]
        now = self._now()
        expected = None
        if s.status != SlotStatus.ISSUED:
            expected = Revert("UnexpectedSlotStatus", {"slot": slot, "status": int(s.status)})
        elif caller != s.creditor:
            expected = Revert("NotCreditor", {"slot": slot, "caller": caller})
        elif self._reached(s.maturity, now):
            expected = Revert("SlotMatured", {"slot": slot, "maturity": s.maturity})
        elif self.m.status_of(caller) != MemberStatus.ACTIVE:
            expected = Revert("NotActiveMember", {"account": caller})
        accepted = expect("accept", expected, lambda: self.suite.voucher.accept(self.key[caller], slot))
        if accepted is not None:
            s.status = SlotStatus.ACCEPTED
            root = self.m.mint(s, caller, s.face, 0)
            assert accepted[0] == root == token_id(slot, 1)

    # ------------------------------------------------------------------- rules

    @initialize(data=st.data())
    def open_the_books(self, data: st.DataObject) -> None:
        """Every history starts with one to three accepted vouchers, so that no example spends
        its steps waiting for a first issuance."""
        for n in range(data.draw(st.integers(1, 3), label="opening vouchers")):
            debtor = self.cores[n % len(self.cores)]
            creditor = self._pick(data, self.suppliers, "creditor")
            face = data.draw(st.integers(1, MAX_FACE // 2), label="face value")
            invoice = self._new_invoice(creditor, debtor, face)
            assert invoice is not None
            days = data.draw(st.one_of(st.integers(10, 40), st.integers(10, 170)), label="days")
            slot = self._issue(debtor, creditor, face, days, invoice)
            assert slot is not None
            self._accept(slot, creditor.address)

    @rule(data=st.data())
    def issue(self, data: st.DataObject) -> None:
        """A core enterprise issues a voucher against an invoice its supplier registered and it
        confirmed (or an earlier invoice between them, which may not have enough left)."""
        debtor = self._pick(data, self.cores, "debtor")
        creditor = self._pick(data, self.suppliers, "creditor")
        tiny = choose(data, "face value kind", {"any": 3, "tiny": 1}) == "tiny"
        face = data.draw(st.integers(1, 1_000 if tiny else MAX_FACE), label="face value")
        tenor = choose(data, "tenor", {"10-170 days": 8, "in the past": 1, "beyond max tenor": 1})
        days = {"in the past": -1, "beyond max tenor": 190}.get(tenor) or data.draw(st.integers(10, 170), label="days")
        earlier = [i for i in self.m.invoices.values() if (i.creditor, i.debtor) == (creditor.address, debtor.address)]
        if earlier and choose(data, "invoice", {"new": 3, "earlier": 1}) == "earlier":
            invoice: InvoiceModel | None = data.draw(st.sampled_from(earlier), label="earlier invoice")
        else:
            headroom = data.draw(st.sampled_from([0, 0, face // 2, face]), label="invoice headroom")
            invoice = self._new_invoice(creditor, debtor, face + headroom)
        if invoice is not None:
            self._issue(debtor, creditor, face, days, invoice)

    @precondition(lambda self: any(s.status == SlotStatus.ISSUED for s in self.m.slots.values()))
    @rule(data=st.data())
    def accept(self, data: st.DataObject) -> None:
        """The creditor signs for an issuance; the root voucher holds the whole face value."""
        slot = self._slot(data, lambda s: s.status == SlotStatus.ISSUED)
        caller = self.m.slots[slot].creditor
        if choose(data, "accepted by", {"the creditor": 6, "someone else": 1}) == "someone else":
            caller = self._pick(data, self.suppliers, "caller").address
        self._accept(slot, caller)

    @precondition(lambda self: any(s.status == SlotStatus.ISSUED for s in self.m.slots.values()))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        """The debtor withdraws an issuance not yet accepted; credit and invoice are released."""
        slot = self._slot(data, lambda s: s.status == SlotStatus.ISSUED)
        s = self.m.slots[slot]
        caller = self._pick(data, self.cores, "caller").address
        expected = None
        if caller != s.debtor:
            expected = Revert("NotDebtor", {"slot": slot, "caller": caller})
        elif s.status != SlotStatus.ISSUED:
            expected = Revert("UnexpectedSlotStatus", {"slot": slot, "status": int(s.status)})
        if expect("cancel", expected, lambda: self.suite.voucher.cancel(self.key[caller], slot)) is not None:
            s.status = SlotStatus.CANCELLED
            self.m.invoices[s.record].reserved -= s.face

    @precondition(lambda self: self.m.live)
    @rule(data=st.data())
    def split_transfer(self, data: st.DataObject) -> None:
        """A holder pays its own supplier with part (or all) of a voucher."""
        now = self._now()
        token = self._live_token(data, now)
        v = self.m.live[token]
        spender = self._owner_or_other(data, v.owner, "spender")
        to = self._member(data, "recipient", outsider_weight=1)
        value = self._value(data, v.value, "value")
        expected = self._spender_error(spender, v.owner)
        if expected is None and spender != v.owner and value > 0:
            expected = Revert(
                "InsufficientAllowance", {"tokenId": token, "spender": spender, "allowance": 0, "needed": value}
            )
        elif expected is None:
            expected = self._movable_error(self.m, token, to, now)
        if expected is None and value == 0:
            expected = Revert("ZeroAmount")
        elif expected is None and value > v.value:
            expected = Revert("InsufficientValue", {"tokenId": token, "value": v.value, "needed": value})
        moved = expect(
            "split-transfer", expected, lambda: self.suite.voucher.split_transfer(self.key[spender], token, to, value)
        )
        if moved is not None:
            v.value -= value
            new = self.m.mint(self.m.slots[slot_of(token)], to, value, token)
            assert moved[0] == new, "the new voucher takes the slot's next serial"

    @precondition(lambda self: self.m.live)
    @rule(data=st.data())
    def merge(self, data: st.DataObject) -> None:
        """A holder moves value of a voucher into another voucher of the same slot (possibly
        someone else's: a payment into an existing voucher)."""
        now = self._now()
        paired = sorted(
            t
            for t, v in self.m.live.items()
            if self._movable(v, now) and any(slot_of(u) == slot_of(t) and u != t for u in self.m.live)
        )
        if paired and choose(data, "from voucher pick", {"one with a sibling": 5, "any": 1}) != "any":
            source = draw_voucher(data, paired, "from voucher")
        else:
            source = self._live_token(data, now, "from voucher")
        v = self.m.live[source]
        same_slot = sorted(t for t in self.m.live if slot_of(t) == slot_of(source) and t != source)
        other_slot = sorted(t for t in self.m.live if slot_of(t) != slot_of(source))
        kind = choose(data, "into", {"same slot": 6, "itself": 1, "other slot": 1})
        target = source
        if kind == "same slot" and same_slot:
            target = draw_voucher(data, same_slot, "to voucher")
        elif kind == "other slot" and other_slot:
            target = draw_voucher(data, other_slot, "to voucher")
        spender = self._owner_or_other(data, v.owner, "spender")
        value = self._value(data, v.value, "value")
        expected = self._spender_error(spender, v.owner) or self._merge_error(source, target, spender, value, now)
        if expected is None and value == 0:
            expected = Revert("ZeroAmount")
        elif expected is None and value > v.value:
            expected = Revert("InsufficientValue", {"tokenId": source, "value": v.value, "needed": value})
        if (
            expect("merge", expected, lambda: self.suite.voucher.merge(self.key[spender], source, target, value))
            is not None
        ):
            v.value -= value
            self.m.live[target].value += value

    @precondition(lambda self: self.m.live)
    @rule(data=st.data())
    def transfer_whole(self, data: st.DataObject) -> None:
        """A holder hands a whole voucher (ERC-721 transfer) to another member."""
        now = self._now()
        token = self._live_token(data, now)
        v = self.m.live[token]
        spender = self._owner_or_other(data, v.owner, "spender")
        holder = self._owner_or_other(data, v.owner, "named holder")
        to = self._member(data, "recipient", outsider_weight=1)
        if holder != v.owner:
            expected = Revert("NotHolder", {"tokenId": token, "account": holder})
        elif spender != v.owner:
            expected = Revert("NotAuthorized", {"tokenId": token, "spender": spender})
        else:
            expected = self._movable_error(self.m, token, to, now)
        if (
            expect(
                "whole transfer",
                expected,
                lambda: self.suite.voucher.transfer_whole(self.key[spender], holder, to, token),
            )
            is not None
        ):
            v.owner = to

    @precondition(lambda self: self.m.live)
    @rule(data=st.data())
    def discount(self, data: st.DataObject) -> None:
        """A holder sells part or all of a voucher to a bank by the bank's signed offer: cash
        at the ACT/360 price against the value, in one transaction."""
        kind = choose(data, "offer", {"signed by the bank": 6, "forged": 1, "expired": 1, "replayed": 1})
        now = self._now()
        if kind == "replayed" and self.executed_offers:
            offer, signature = data.draw(st.sampled_from(self.executed_offers), label="replayed offer")
            genuine = True
        else:
            token = self._live_token(data, now)
            bank = self._pick(data, self.banks, "bank")
            value = self._value(data, self.m.live[token].value, "value")
            usurious = choose(data, "rate kind", {"market": 9, "above 100 %": 1}) != "market"
            rate = MAX_RATE_BPS + 1 if usurious else data.draw(st.integers(0, 1_500), label="rate bps")
            deadline = now + DAY // 2 if kind != "expired" else now - DAY // 2
            offer = DiscountOffer(token, value, rate, deadline, self._next(), bank.address)
            genuine = kind != "forged"
            signature = self.suite.desk.sign(bank.key if genuine else self.forger.key, offer)
        token, value, bank_address = offer.token_id, offer.value, offer.financier
        v = self.m.live.get(token)
        submitter = self._owner_or_other(data, v.owner, "submitter") if v else self._member(data, "submitter")

        expected = None
        if value == 0:
            expected = Revert("ZeroAmount")
        elif self._reached(offer.deadline + 1, now):
            expected = Revert("OfferExpired", {"deadline": offer.deadline})
        elif (bank_address, offer.nonce) in self.m.used_nonces:
            expected = Revert("OfferAlreadyUsed", {"financier": bank_address, "nonce": offer.nonce})
        elif not genuine:
            expected = Revert("InvalidOfferSignature", {"financier": bank_address})
        elif offer.rate_bps > MAX_RATE_BPS:
            expected = Revert("RateTooHigh", {"rateBps": offer.rate_bps, "max": MAX_RATE_BPS})
        elif v is None:
            expected = Revert("UnknownVoucher", {"tokenId": token})
        elif self._reached(self.m.slots[slot_of(token)].maturity, now):
            expected = Revert("VoucherMatured", {"tokenId": token, "maturity": self.m.slots[slot_of(token)].maturity})
        elif ceil_div(value * offer.rate_bps * (self.m.slots[slot_of(token)].maturity - now), YEAR_BASIS) >= value:
            # The desk refuses a sale at a price of nothing (a tiny value with the discount
            # rounded up in the holder's disfavour takes all of it).
            expected = Revert("DiscountExceedsValue", {"value": value})
        elif self.m.status_of(submitter) != MemberStatus.ACTIVE:
            expected = Revert("NotPermittedHolder", {"account": submitter})  # the price is paid to it
        elif submitter != v.owner:
            expected = Revert("NotHolder", {"tokenId": token, "account": submitter})
        else:
            expected = self._movable_error(self.m, token, bank_address, now)
            if expected is None and value > v.value:
                expected = Revert("InsufficientValue", {"tokenId": token, "value": v.value, "needed": value})
        done = expect("discount", expected, lambda: self.suite.desk.discount(self.key[submitter], offer, signature))
        if done is None:
            return
        financier_token, price, tx = done
        assert v is not None
        s = self.m.slots[slot_of(token)]
        paid_at = self.conn.block_timestamp(tx.block_number)
        assert price == value - ceil_div(value * offer.rate_bps * (s.maturity - paid_at), YEAR_BASIS), "ACT/360 price"
        self.m.used_nonces.add((bank_address, offer.nonce))
        self.executed_offers.append((offer, signature))
        self.m.cash[bank_address] -= price
        self.m.cash[submitter] += price
        if value == v.value:
            v.owner = bank_address
            assert financier_token == token, "all of a voucher moves whole"
        else:
            v.value -= value
            assert financier_token == self.m.mint(s, bank_address, value, token)

    def _fund(self, data: st.DataObject, amount_of: Callable[[int], int]) -> None:
        """The debtor approves the voucher contract for ``amount_of(unfunded)`` settlement tokens
        and pays them toward a slot, most often one that is due (or overdue) soonest."""
        owed = sorted(
            (s for s in self.m.slots.values() if s.status == SlotStatus.ACCEPTED and s.funded < s.face),
            key=lambda s: s.maturity,
        )
        if owed and choose(data, "slot pick", {"due soonest": 3, "random": 1}) == "due soonest":
            slot = owed[0].slot
        else:
            slot = self._slot(data, lambda s: s.status == SlotStatus.ACCEPTED and s.funded < s.face)
        s = self.m.slots[slot]
        caller = s.debtor
        if choose(data, "funded by", {"the debtor": 8, "the other core": 1}) != "the debtor":
            caller = next(c.address for c in self.cores if c.address != s.debtor)
        amount = amount_of(s.face - s.funded)
        expected = None
        if caller != s.debtor:
            expected = Revert("NotDebtor", {"slot": slot, "caller": caller})
        elif s.status != SlotStatus.ACCEPTED:
            expected = Revert("UnexpectedSlotStatus", {"slot": slot, "status": int(s.status)})
        elif amount == 0:
            expected = Revert("ZeroAmount")
        elif amount > s.face - s.funded:
            expected = Revert("OverFunding", {"slot": slot, "unfunded": s.face - s.funded, "amount": amount})
        elif amount > self.m.cash[caller]:
            expected = Revert("ERC20InsufficientBalance", {"sender": caller})
        self.suite.token.approve(self.key[caller], self.suite.voucher.address, amount)
        if expect("fund", expected, lambda: self.suite.voucher.fund(self.key[caller], slot, amount)) is not None:
            s.funded += amount
            self.m.cash[caller] -= amount
            self.m.voucher_cash += amount

    @precondition(
        lambda self: any(s.status == SlotStatus.ACCEPTED and s.funded < s.face for s in self.m.slots.values())
    )
    @rule(data=st.data())
    def fund_in_part(self, data: st.DataObject) -> None:
        """The debtor pays part of what a slot still owes (or, to be refused, nothing)."""
        self._fund(data, lambda unfunded: self._value(data, unfunded, "amount", all_weight=0))

    @precondition(
        lambda self: any(s.status == SlotStatus.ACCEPTED and s.funded < s.face for s in self.m.slots.values())
    )
    @rule(data=st.data())
    def fund_in_full(self, data: st.DataObject) -> None:
        """The debtor pays all that a slot still owes (or, to be refused, one unit more)."""
        self._fund(
            data,
            lambda unfunded: unfunded + (choose(data, "amount", {"the rest": 9, "one unit more": 1}) != "the rest"),
        )

    @rule(days=st.integers(1, 14))
    def days_pass(self, days: int) -> None:
        """The calendar moves on by a few whole days."""
        increase_time(self.w3, days * DAY)

    @rule(days=st.integers(15, 60))
    def weeks_pass(self, days: int) -> None:
        """The calendar moves on by weeks (time matters enough to the ledger to be drawn twice as
        often as any other action: maturity, grace periods and redemption all wait for it)."""
        increase_time(self.w3, days * DAY)

    @precondition(lambda self: self.m.live)
    @rule(data=st.data())
    def redeem(self, data: st.DataObject) -> None:
        """Anyone triggers the redemption of a voucher; the holder is paid its value."""
        now = self._now()
        ready = sorted(t for t in self.m.live if self._redeemable(t, now))
        burned = sorted(set(self.m.parents) - set(self.m.live))
        kind = choose(data, "voucher pick", {"redeemable": 6, "any live": 2, "burned": 1})
        pool = {"redeemable": ready, "burned": burned}.get(kind) or sorted(self.m.live) or burned
        token = draw_voucher(data, pool, "voucher")
        caller = self._member(data, "caller", outsider_weight=2)
        after = copy.deepcopy(self.m)
        expected = self._redeem_in(after, token, now)
        if expect("redeem", expected, lambda: self.suite.voucher.redeem(self.key[caller], token)) is not None:
            self.m = after

    @precondition(lambda self: self.m.live)
    @rule(data=st.data())
    def redeem_batch(self, data: st.DataObject) -> None:
        """Anyone redeems the vouchers of a matured slot in one transaction; it reverts whole if
        any of them cannot be redeemed."""
        now = self._now()
        slots = sorted({slot_of(t) for t in self.m.live})
        ready = [slot for slot in slots if all(self._redeemable(t, now) for t in self.m.live if slot_of(t) == slot)]
        slot = data.draw(st.sampled_from(ready if ready else slots), label="slot")
        in_slot = [voucher_label(t) for t in sorted(self.m.live) if slot_of(t) == slot]
        tokens = [parse_label(t) for t in data.draw(st.permutations(in_slot), label="vouchers")]
        extra = choose(data, "batch", {"just the slot": 6, "a voucher twice": 1, "a foreign voucher": 1})
        if extra == "a voucher twice":
            tokens = [*tokens, tokens[0]]
        elif extra == "a foreign voucher":
            tokens = [*tokens, draw_voucher(data, self.m.live, "foreign voucher")]
        caller = self._member(data, "caller", outsider_weight=2)
        after = copy.deepcopy(self.m)
        expected = None
        for token in tokens:
            expected = self._redeem_in(after, token, now)
            if expected is not None:
                break
        if (
            expect("redeem batch", expected, lambda: self.suite.voucher.redeem_batch(self.key[caller], list(tokens)))
            is not None
        ):
            self.m = after

    @precondition(lambda self: self.m.live)
    @rule(data=st.data())
    def freeze_or_unfreeze(self, data: st.DataObject) -> None:
        """The operator freezes a disputed voucher or lifts the freeze."""
        freeze = choose(data, "action", {"freeze": 1, "unfreeze": 1}) == "freeze"
        burned = sorted(set(self.m.parents) - set(self.m.live))
        fitting = sorted(t for t, v in self.m.live.items() if v.frozen != freeze)
        pick = choose(data, "voucher pick", {"fitting": 6, "any live": 2, "burned": 1})
        pool = {"fitting": fitting, "burned": burned}.get(pick) or sorted(self.m.live)
        token = draw_voucher(data, pool, "voucher")
        by_operator = choose(data, "caller", {"operator": 8, "a supplier": 1}) == "operator"
        caller = self.cast.operator if by_operator else self.suppliers[0]
        v = self.m.live.get(token)
        expected = None
        if not by_operator:
            expected = Revert("NotOperator", {"account": caller.address})
        elif v is None:
            expected = Revert("UnknownVoucher", {"tokenId": token})
        elif freeze and v.frozen:
            expected = Revert("VoucherFrozen", {"tokenId": token})
        elif not freeze and not v.frozen:
            expected = Revert("VoucherNotFrozen", {"tokenId": token})
        reason = keccak(text=f"court order {self._next()}")
        action = (
            (lambda: self.suite.voucher.freeze(caller, token, reason))
            if freeze
            else (lambda: self.suite.voucher.unfreeze(caller, token))
        )
        if expect("freeze" if freeze else "unfreeze", expected, action) is not None:
            assert v is not None
            v.frozen = freeze

    @precondition(lambda self: MemberStatus.ACTIVE in (self.m.status_of(a.address) for a in self.suppliers))
    @rule(data=st.data())
    def suspend(self, data: st.DataObject) -> None:
        """The operator suspends a supplier (it may then neither send nor receive)."""
        supplier = self._supplier(data, MemberStatus.ACTIVE)
        status = self.m.status_of(supplier)
        expected = (
            None
            if status == MemberStatus.ACTIVE
            else Revert("UnexpectedStatus", {"account": supplier, "actual": int(status)})
        )
        if expect("suspend", expected, lambda: self.suite.registry.suspend(self.cast.operator, supplier)) is not None:
            self.m.status[supplier] = MemberStatus.SUSPENDED

    @precondition(lambda self: MemberStatus.SUSPENDED in (self.m.status_of(a.address) for a in self.suppliers))
    @rule(data=st.data())
    def reinstate(self, data: st.DataObject) -> None:
        """The operator reinstates a supplier."""
        supplier = self._supplier(data, MemberStatus.SUSPENDED)
        status = self.m.status_of(supplier)
        expected = (
            None
            if status == MemberStatus.SUSPENDED
            else Revert("UnexpectedStatus", {"account": supplier, "actual": int(status)})
        )
        if (
            expect("reinstate", expected, lambda: self.suite.registry.reinstate(self.cast.operator, supplier))
            is not None
        ):
            self.m.status[supplier] = MemberStatus.ACTIVE

    @precondition(
        lambda self: any(s.status == SlotStatus.ACCEPTED and s.funded < s.face for s in self.m.slots.values())
    )
    @rule(data=st.data())
    def mark_overdue(self, data: st.DataObject) -> None:
        """Anyone reports a slot unfunded after maturity plus the grace period."""
        now = self._now()
        slot = self._slot(
            data,
            lambda s: (
                s.status == SlotStatus.ACCEPTED and s.funded < s.face and self._reached(s.maturity + self.grace, now)
            ),
        )
        s = self.m.slots[slot]
        caller = self._member(data, "caller", outsider_weight=2)
        expected = None
        if s.status != SlotStatus.ACCEPTED:
            expected = Revert("UnexpectedSlotStatus", {"slot": slot, "status": int(s.status)})
        elif s.overdue_at:
            expected = Revert("AlreadyOverdue", {"slot": slot, "overdueAt": s.overdue_at})
        elif not self._reached(s.maturity + self.grace, now):
            expected = Revert("GracePeriodNotOver", {"slot": slot, "overdueFrom": s.maturity + self.grace})
        elif s.funded >= s.face:
            expected = Revert("SlotFullyFunded", {"slot": slot})
        tx = expect("mark overdue", expected, lambda: self.suite.voucher.mark_overdue(self.key[caller], slot))
        if tx is not None:
            s.overdue_at = self.conn.block_timestamp(tx.block_number)

    # -------------------------------------------------------------- invariants

    def _chain(self) -> ChainView:
        """The ledger as the chain holds it now, read in one round trip and shared by the
        invariants of a step (every change of state mines a block, so the block number keys it)."""
        block = self.w3.eth.block_number
        if self._view is not None and self._view.block == block:
            return self._view
        suite, read = self.suite, BatchReader(self.conn)
        slot_count = read.add(suite.voucher, "slotCount")
        slots = {slot: read.add(suite.voucher, "slotInfo", slot) for slot in self.m.slots}
        vouchers = {
            token_id(slot, serial): read.add(suite.voucher, "tokenInfo", token_id(slot, serial))
            for slot, s in self.m.slots.items()
            for serial in range(1, s.last_serial + 1)
        }
        parents = {token: read.add(suite.voucher, "parentOf", token) for token in self.m.live}
        holders = {v.owner for v in self.m.live.values()}
        status = {holder: read.add(suite.registry, "statusOf", holder) for holder in holders}
        accounts = [*self.m.cash, *self.cast_accounts, suite.voucher.address, suite.desk.address]
        balances = {account: read.add(suite.token, "balanceOf", account) for account in accounts}
        supply = read.add(suite.token, "totalSupply")
        outstanding = {core.address: read.add(suite.voucher, "outstandingOf", core.address) for core in self.cores}
        records = {record: read.add(suite.trade, "recordOf", record) for record in self.m.invoices}
        got = read.run()
        self._view = ChainView(
            block=block,
            slot_count=got[slot_count],
            slots={slot: SlotInfo(slot, *got[i][:2], SlotStatus(got[i][2]), *got[i][3:]) for slot, i in slots.items()},
            vouchers={token: (to_checksum_address(got[i][0]), *got[i][1:]) for token, i in vouchers.items()},
            parent_of={token: got[i] for token, i in parents.items()},
            status={holder: MemberStatus(got[i]) for holder, i in status.items()},
            balances={account: got[i] for account, i in balances.items()},
            supply=got[supply],
            outstanding={core: got[i] for core, i in outstanding.items()},
            records={record: (got[i][7], got[i][8]) for record, i in records.items()},
        )
        return self._view

    @invariant()
    def every_slot_keeps_its_face_value(self) -> None:
        chain = self._chain()
        assert chain.slot_count == self.first_slot - 1 + len(self.m.slots)
        for slot, s in self.m.slots.items():
            info = chain.slots[slot]
            assert (info.status, info.funded, info.redeemed, info.last_serial, info.overdue_at) == (
                s.status,
                s.funded,
                s.redeemed,
                s.last_serial,
                s.overdue_at,
            ), f"slot {slot}: chain {info}, model {s}"
            live_value = 0
            for serial in range(1, s.last_serial + 1):
                token = token_id(slot, serial)
                owner, _slot, value, _parent, frozen = chain.vouchers[token]
                model = self.m.live.get(token)
                if model is None:
                    assert int(owner, 16) == 0, f"voucher {slot}.{serial} should be burned: {self._who(owner)} holds it"
                    continue
                assert (owner, value, frozen) == (model.owner, model.value, model.frozen), (
                    f"voucher {slot}.{serial}: chain {(self._who(owner), value, frozen)}, model {model}"
                )
                live_value += value
            if s.status in (SlotStatus.ACCEPTED, SlotStatus.SETTLED):
                assert live_value + info.redeemed == info.face_value, f"slot {slot} lost or gained value"

    @invariant()
    def settlement_cash_is_conserved(self) -> None:
        chain, voucher, desk = self._chain(), self.suite.voucher.address, self.suite.desk.address
        assert chain.supply == self.supply_at_start + self.minted, "settlement tokens were created or destroyed"
        assert chain.supply == sum(chain.balances.values()), "someone outside the ledger holds settlement tokens"
        assert {a: chain.balances[a] for a in self.m.cash} == self.m.cash, "members' cash differs from the model"
        assert {a: chain.balances[a] for a in self.cast_accounts} == self.cast_cash
        assert chain.balances[desk] == 0, "the desk never keeps cash"
        in_escrow = sum(s.funded - s.redeemed for s in self.m.slots.values())
        assert chain.balances[voucher] == self.m.voucher_cash == in_escrow

    @invariant()
    def vouchers_are_held_by_members_and_trace_back_to_their_root(self) -> None:
        chain = self._chain()
        for holder, status in chain.status.items():
            assert status in (MemberStatus.ACTIVE, MemberStatus.SUSPENDED), (
                f"{self._who(holder)} holds a voucher while {status.name}"
            )
        for token, parent in chain.parent_of.items():
            assert parent == self.m.parents[token], f"parentOf({voucher_label(token)}) = {voucher_label(parent)}"
        for token in self.m.live:
            # Burned ancestors are no longer on chain; their parents were checked while alive.
            current, steps = token, 0
            while serial_of(current) != 1:
                parent = chain.parent_of.get(current, self.m.parents[current])
                assert parent != 0, f"voucher {voucher_label(current)} is neither a root nor has a parent"
                assert slot_of(parent) == slot_of(current) and serial_of(parent) < serial_of(current)
                current, steps = parent, steps + 1
                assert steps <= self.m.slots[slot_of(token)].last_serial
            assert self.m.parents[current] == 0 and chain.parent_of.get(current, 0) == 0, "a root has no parent"

    @invariant()
    def outstanding_debt_is_unsettled_face_value(self) -> None:
        chain = self._chain()
        for core in self.cores:
            expected = self.m.outstanding(core.address)
            assert chain.outstanding[core.address] == expected, f"outstandingOf({self._who(core.address)})"
            assert expected <= self.limit[core.address]

    @invariant()
    def no_invoice_finances_more_than_its_amount(self) -> None:
        chain = self._chain()
        for record, invoice in self.m.invoices.items():
            amount, reserved = chain.records[record]
            backing = sum(
                s.face for s in self.m.slots.values() if s.record == record and s.status != SlotStatus.CANCELLED
            )
            assert reserved == invoice.reserved == backing <= amount == invoice.amount, f"invoice {record}"


def test_random_financing_histories_keep_the_ledger_whole(conn, w3, cast, suite):
    """Every action of a random history does what the model says, and the ledger's invariants
    (``VoucherLedgerMachine``) hold after every step."""
    VoucherLedgerMachine.conn = conn
    VoucherLedgerMachine.w3 = w3
    VoucherLedgerMachine.cast = cast
    VoucherLedgerMachine.suite = suite
    OUTCOMES.clear()
    run_state_machine_as_test(VoucherLedgerMachine, settings=FUZZ_BUDGET)
    print(f"\n{sum(OUTCOMES.values())} actions fuzzed:", ", ".join(f"{k} x{n}" for k, n in sorted(OUTCOMES.items())))


def test_burning_an_emptied_voucher_after_settlement_does_not_release_the_credit_line_twice(
    suite, cast, invoice, now, travel
):
    """Found by the state machine above. Slot A (1,000.00) is paid out in full to tier2, which
    leaves tier1's root voucher empty (value 0) but alive. Redeeming tier2's voucher settles A;
    burning the empty root afterwards must not settle A a second time: the hospital still owes
    slot B's 5,000.00 and its credit line must say so."""
    voucher, hospital, tier1, tier2 = suite.voucher, cast.hospital, cast.tier1, cast.tier2
    face_a, face_b = 1_000 * CNY, 5_000 * CNY
    slot_a, _ = voucher.issue(hospital, tier1.address, face_a, now + 30 * DAY, invoice(amount=face_a))
    root_a, _ = voucher.accept(tier1, slot_a)
    slot_b, _ = voucher.issue(hospital, tier1.address, face_b, now + 90 * DAY, invoice(amount=face_b))
    voucher.accept(tier1, slot_b)
    paid_to_tier2, _ = voucher.split_transfer(tier1, root_a, tier2.address, face_a)
    assert voucher.value_of(root_a) == 0
    suite.token.approve(hospital, voucher.address, face_a)
    voucher.fund(hospital, slot_a, face_a)
    travel(31 * DAY)

    voucher.redeem(tier2, paid_to_tier2)
    assert voucher.slot(slot_a).status == SlotStatus.SETTLED
    assert voucher.outstanding_of(hospital.address) == face_b

    voucher.redeem(tier1, root_a)  # the empty voucher is burned ...
    assert voucher.slot(slot_a).redeemed == face_a
    assert voucher.outstanding_of(hospital.address) == face_b  # ... and the hospital still owes B
