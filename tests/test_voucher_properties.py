"""Property test of the voucher ledger: random financing histories among many members (two
core enterprises, five suppliers, two banks, an insurer, an auditor and an outsider), with the
PayoutKeeper and the CreditDesk, every action checked against a Python model of the ledger,
and the ledger's invariants read back from the chain after every step. The invariants are
stated in ``VoucherLedgerMachine``'s docstring.

Every action goes out with a fixed gas limit, so a refusal is mined as a failed transaction
(its error decoded by replay) and the invariants then compare the whole ledger with the model:
a refusal that changed anything would show.

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
from enum import Enum
from typing import Any, TypeVar

from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address
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
from scf.chain.reverts import ContractRevert
from scf.contracts import CoverState, DocType, MemberStatus, Recovery, Role, SlotInfo, SlotStatus, token_id
from scf.contracts import label as voucher_label
from scf.contracts.base import ZERO_ADDRESS
from scf.contracts.voucher import MERGE, SPLIT_TRANSFER, WHOLE_TRANSFER
from scf.typed_data import DiscountOffer
from tests.support import CNY, DAY, REFUSAL_GAS, YEAR_BASIS, fuzz_budget, member_key, mined_refusal

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
UNLIMITED = 2**96 - 1  # ReceivableVoucher: a value allowance this large is never spent down
MAX_UINT64 = 2**64 - 1  # CreditDesk: the largest premium
APPROVE_VALUE = "approve(uint256,address,uint256)"
MAX_RATE_BPS = 10_000
VOUCHER_HOLDER_ROLES = Role.CORE_ENTERPRISE | Role.SUPPLIER | Role.FINANCIER | Role.INSURER
SLOT_WRITTEN_OFF = 1  # ReceivableVoucher's slot flags: some voucher of the slot was written off
SLOT_ROUTED = 2  # an insurance claim was paid: only the CreditDesk funds the slot

CORE_CREDIT_LIMITS = (1_500_000 * CNY, 800_000 * CNY)
CORE_OPENING_CASH = 10_000_000 * CNY
BANK_OPENING_CASH = 100_000_000 * CNY
INSURER_OPENING_CASH = 20_000_000 * CNY
SUPPLIERS = 5
MAX_FACE = 400_000 * CNY
MAX_STRAY = 5_000 * CNY
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


class Change(Enum):
    """What ``ReceivableVoucher._update`` is asked to do (the moves the model checks there)."""

    SPLIT = "split"
    MERGE = "merge"
    MOVE = "move"


@dataclass
class SlotModel:
    slot: int
    debtor: str
    creditor: str
    face: int
    maturity: int
    record: int
    issued_at: int
    status: SlotStatus = SlotStatus.ISSUED
    funded: int = 0
    redeemed: int = 0  # every unit paid out: redemptions and pro-rata payouts
    last_serial: int = 0
    overdue_at: int = 0
    written_off: int = 0  # value holders gave up, beyond what those vouchers had been paid
    written_off_paid: int = 0  # what the written-off vouchers had been paid before
    flags: int = 0  # SLOT_WRITTEN_OFF, SLOT_ROUTED

    @property
    def unfunded(self) -> int:
        """What ``fund`` may still take: face value - funded - written off."""
        return self.face - self.funded - self.written_off

    @property
    def live_value(self) -> int:
        """What the slot's live vouchers still claim."""
        return self.face - self.redeemed - self.written_off


@dataclass
class VoucherModel:
    token: int
    owner: str
    value: int
    parent: int
    frozen: bool = False
    paid_out: int = 0  # cash received from pro-rata payouts of its overdue slot (paidOutOf)
    approved: str | None = None  # the ERC-721 approved address
    allowances: dict[str, tuple[str, int]] = field(default_factory=dict)  # spender -> (grantor, amount)


@dataclass
class PolicyModel:
    """CreditDesk's policy on a slot: the insurer escrowed ``cover`` at the offer."""

    insurer: str
    deadline: int
    state: CoverState
    order: Recovery
    cover: int
    premium: int
    buyer: str = ZERO_ADDRESS
    claim_paid: int = 0
    recovered: int = 0

    @property
    def escrow(self) -> int:
        """What the desk holds for this policy."""
        return self.cover if self.state in (CoverState.OFFERED, CoverState.ACTIVE) else 0

    @property
    def insurer_owed(self) -> int:
        return self.claim_paid - self.recovered if self.state == CoverState.CLAIMED else 0


@dataclass
class PledgeModel:
    """A voucher in the CreditDesk's custody as collateral; ``nominal`` is its value when pledged."""

    pledgor: str
    pledgee: str
    due_date: int
    nominal: int
    secured: int
    pledgee_paid: int = 0
    distributed: int = 0


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
    roles: dict[str, int]
    cash: dict[str, int]
    owed: int = 0  # settlement funded into slots and not yet paid out
    excess: int = 0  # settlement sent to the ledger by mistake and not yet returned
    desk_excess: int = 0  # the same, sent to the discount desk
    slots: dict[int, SlotModel] = field(default_factory=dict)
    live: dict[int, VoucherModel] = field(default_factory=dict)
    parents: dict[int, int] = field(default_factory=dict)  # every voucher ever minted
    invoices: dict[int, InvoiceModel] = field(default_factory=dict)
    used_nonces: set[tuple[str, int]] = field(default_factory=set)
    agents: set[tuple[str, str]] = field(default_factory=set)  # (holder, operator approved for all)
    pauses: dict[str, list[list[int | None]]] = field(default_factory=lambda: {"ledger": [], "token": []})
    policies: dict[int, PolicyModel] = field(default_factory=dict)  # slot -> the CreditDesk's policy
    pledges: dict[int, PledgeModel] = field(default_factory=dict)  # voucher -> its pledge record
    held: dict[str, int] = field(default_factory=dict)  # cash the CreditDesk keeps for an account (heldFor)

    def status_of(self, account: str) -> MemberStatus:
        return self.status.get(account, MemberStatus.NONE)

    def active(self, account: str) -> bool:
        return self.status_of(account) == MemberStatus.ACTIVE

    def paused(self, contract: str) -> bool:
        return bool(self.pauses[contract]) and self.pauses[contract][-1][1] is None

    def paused_seconds(self, contract: str, start: int, end: int) -> int:
        """Seconds ``contract`` was paused within [start, end), from the model's own record of
        the pause and unpause blocks."""
        total = 0
        for since, until in self.pauses[contract]:
            stop = end if until is None else min(until, end)
            total += max(0, stop - max(since, start))
        return total

    def overdue_from(self, s: SlotModel, now: int, grace: int) -> int:
        """Maturity + grace + every second the ledger and the token were each paused since issue."""
        stopped = self.paused_seconds("ledger", s.issued_at, now) + self.paused_seconds("token", s.issued_at, now)
        return s.maturity + grace + stopped

    def outstanding(self, debtor: str) -> int:
        """Face value of the debtor's issued slots and of its accepted (or settled) slots not
        complete: the fund call, or the write-off, that makes funded + written off reach the
        face value releases the credit line (nothing more can be funded then)."""
        return sum(
            s.face
            for s in self.slots.values()
            if s.debtor == debtor
            and (
                s.status == SlotStatus.ISSUED
                or (s.status in (SlotStatus.ACCEPTED, SlotStatus.SETTLED) and s.funded + s.written_off < s.face)
            )
        )

    def is_agent(self, v: VoucherModel, account: str) -> bool:
        return (v.owner, account) in self.agents or v.approved == account

    def allowance(self, v: VoucherModel, spender: str) -> int:
        """What ``allowance(token, spender)`` must read: 0 once an agent that granted it lost
        its approval or its membership."""
        grantor, amount = v.allowances.get(spender, ("", 0))
        if not grantor or (grantor != v.owner and not (self.is_agent(v, grantor) and self.active(grantor))):
            return 0
        return MAX_UINT256 if amount == UNLIMITED else amount

    def mint(self, slot: SlotModel, owner: str, value: int, parent: int) -> int:
        slot.last_serial += 1
        token = token_id(slot.slot, slot.last_serial)
        self.live[token] = VoucherModel(token, owner, value, parent)
        self.parents[token] = parent
        return token

    def move(self, v: VoucherModel, to: str) -> None:
        """A whole move: the new holder starts with no approvals and no value allowances."""
        v.owner, v.approved, v.allowances = to, None, {}


def owing(s: SlotModel) -> bool:
    """An accepted slot that ``fund`` may still take cash for."""
    return s.status == SlotStatus.ACCEPTED and s.unfunded > 0


def pro_rata_due(v: VoucherModel, s: SlotModel) -> int:
    """What voucher ``v`` of the overdue slot ``s``, not fully funded, is due now: its nominal
    (value plus what it was paid before) x (funded - written-off vouchers' payouts) / (face -
    written-off value - those payouts), rounded down, less what it was paid before (issue 16)."""
    nominal = v.value + v.paid_out
    share = nominal * (s.funded - s.written_off_paid) // (s.face - s.written_off - s.written_off_paid)
    assert share >= v.paid_out, f"the pro-rata share {share} of {v} fell below what it was paid before"
    return share - v.paid_out


@dataclass(frozen=True)
class Call:
    """One transaction of the machine: sent with fixed gas (REFUSAL_GAS), so that a refusal is mined."""

    client: Any
    signer: LocalAccount
    function: str
    args: tuple[Any, ...]

    def send(self) -> Any:
        return self.client.send(self.signer, self.function, *self.args, gas=REFUSAL_GAS)


def expect(what: str, expected: Revert | None, call: Call) -> Any:
    """Sends ``call``; asserts it succeeds when ``expected`` is None, else that it is mined as
    failed with exactly that custom error and arguments. Returns the transaction on success.
    Outcomes are counted in ``OUTCOMES``, which the test prints (``-s``) to show what the run
    covered."""
    OUTCOMES[f"{what}: {expected.error if expected else 'ok'}"] += 1
    if expected is not None:
        exc = mined_refusal(call.client, call.signer, call.function, *call.args)
        assert exc.error == expected.error, f"the model expected {expected}, the chain reverted with {exc.describe()}"
        for name, value in expected.args.items():
            assert exc.args_by_name.get(name) == value, (
                f"the model expected {expected}, the chain reverted with {exc.describe()}"
            )
        return None
    try:
        return call.send()
    except ContractRevert as exc:
        raise AssertionError(f"the model expected success, the chain reverted with {exc.describe()}") from exc


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


def error_selectors(*clients: Any) -> dict[bytes, str]:
    """4-byte selector -> custom error name, from the clients' ABIs."""
    return {
        function_signature_to_4byte_selector(f"{e['name']}({','.join(abi_type(i) for i in e['inputs'])})"): e["name"]
        for client in clients
        for e in client.contract.abi
        if e.get("type") == "error"
    }


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
    timestamp: int
    slot_count: int
    slots: dict[int, SlotInfo]
    overdue_from: dict[int, int]  # overdueFromOf of every slot
    vouchers: dict[int, tuple[str, int, int, int, bool]]  # tokenInfo of every voucher ever minted
    parent_of: dict[int, int]  # parentOf of every live voucher
    paid_out: dict[int, int]  # paidOutOf of every live voucher
    allowances: dict[tuple[int, str], int]  # allowance of every spender the model knows, per live voucher
    holders: dict[str, tuple[MemberStatus, int]]  # status and roles of every holder
    balances: dict[str, int]  # settlement cash of every account that may hold any
    supply: int
    owed: int  # settlementOwed
    excess: int  # excessSettlement
    outstanding: dict[str, int]
    records: dict[int, tuple[int, int]]  # invoice -> (amount, reserved)
    policies: dict[int, tuple[Any, ...]]  # CreditDesk.policyOf of every slot the model knows
    insurer_owed: dict[int, int]  # CreditDesk.insurerOwed of every slot the model knows
    pledges: dict[int, tuple[Any, ...]]  # CreditDesk.pledgeOf of every voucher ever pledged
    held: dict[str, int]  # CreditDesk.heldFor of every account the model knows


# ----------------------------------------------------------------- the state machine


class VoucherLedgerMachine(RuleBasedStateMachine):
    """Random issuance, acceptance, cancellation, split-transfer, split, merge, whole transfer,
    agents and value allowances, discounting at banks, partial and full funding (by the debtor
    or a guarantor), time travel, redemption (single, and in batches through the PayoutKeeper
    with junk entries), freezes, court-ordered transfers, member suspensions, removals and
    reinstatements (debtors' too), pauses of the ledger and the settlement token, overdue
    reports (also at the very second), a debtor's default (pro-rata payouts of an overdue slot,
    write-offs, late funding), the CreditDesk's credit insurance (cover offered, bought,
    withdrawn, claimed once; payments through the desk in the policy's order) and pledges
    (vouchers in custody, released, enforced, reclaimed, ended by a court order, their payouts
    collected and passed on to the pledgee first; cash the desk keeps for a member it could not
    pay, withdrawn or sent to a successor), stray cash sent to the ledger or the discount desk
    and its return, each checked against the model. The model computes every payout itself
    from issue 16's rules.

    Invariants, read from the chain after every step:

    - Every action succeeds exactly when the model says it must, and otherwise is mined as a
      failed transaction with the custom error (and arguments) the model predicts.
    - Per slot, the values of its live vouchers plus what was paid out (redeemed) plus what was
      written off equal its face value, the slot's funded, redeemed and written-off figures
      and its written-off and routed flags are the model's, and the chain holds no voucher the
      model does not know.
    - Every live voucher's paidOutOf is what the model paid it pro rata.
    - The CreditDesk's policies, pledge records and cash kept for members it could not pay
      (heldFor) are the model's, and it holds exactly the insurers' escrow (cover offered or in
      force), the pledge payouts not yet passed on and that kept cash.
    - The settlement token's supply is what the operator minted (no voucher action creates or
      burns a cent) and equals the sum of all accounts' balances plus the contracts'; the
      payout keeper holds none.
    - The ledger's settlementOwed() is the sum over slots of funded - redeemed (the model's and
      the chain's slotInfo alike), and its settlement balance is that plus the stray cash not
      yet returned, so never below what it owes.
    - Every live voucher is held by an admitted member with a voucher-holder role (never an
      outsider, never the auditor-only member).
    - Every voucher's lineage via parentOf reaches its slot's root (serial 1) through strictly
      smaller serials of the same slot, so in finitely many steps.
    - Each debtor's outstandingOf equals the face value of its issued slots and of its accepted
      (or settled) slots not yet fully funded, and never exceeds its credit limit.
    - An invoice's reserved amount equals the face value of the uncancelled vouchers issued
      against it and never exceeds the invoice amount (no double financing).
    - Every slot's overdueFromOf is its maturity plus the grace period plus the seconds the
      ledger and the token were each paused since its issue, as the model timed the pauses.
    - Every value allowance reads what its grantor left of it, and 0 once a grantor that was
      only an agent lost its approval or its membership.
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
            "insurer 0",  # offers credit insurance through the CreditDesk; may hold vouchers too
            "auditor",  # an active member whose only role may hold no voucher
            "outsider",  # never admitted
            "forger",  # signs offers it has no right to sign
        ]
        self.by_name = {name: member_key(f"property {name}") for name in names}
        self.name_of = {account.address: name for name, account in self.by_name.items()}
        self.cores = [account for name, account in self.by_name.items() if name.startswith("core")]
        self.suppliers = [account for name, account in self.by_name.items() if name.startswith("supplier")]
        self.banks = [account for name, account in self.by_name.items() if name.startswith("bank")]
        self.insurers = [account for name, account in self.by_name.items() if name.startswith("insurer")]
        self.auditor, self.outsider = self.by_name["auditor"], self.by_name["outsider"]
        self.forger = self.by_name["forger"]
        self.members: list[LocalAccount] = self.cores + self.suppliers + self.banks + self.insurers  # may hold vouchers
        self.key = {a.address: a for a in self.by_name.values()}
        self.credit = suite.credit.address  # the CreditDesk: a member (financier) holding pledged vouchers
        self.name_of[self.credit] = "the credit desk"
        self.limit = {core.address: limit for core, limit in zip(self.cores, CORE_CREDIT_LIMITS, strict=True)}

        self.cast_accounts = sorted({a.address for a in vars(self.cast).values()})
        self.supply_at_start = suite.token.total_supply()
        self.cast_cash = {a: suite.token.balance_of(a) for a in self.cast_accounts}
        # The contracts that may hold settlement cash: the ledger, the discount desk, the
        # credit desk (escrow, pledge payouts in passing) and the payout keeper (never any).
        self.system = [suite.voucher.address, suite.desk.address, suite.credit.address, suite.keeper.address]
        in_system = sum(suite.token.balance_of(a) for a in self.system)
        assert sum(self.cast_cash.values()) + in_system == self.supply_at_start
        assert [suite.token.balance_of(a) for a in self.system[1:]] == [0, 0, 0]
        self.owed_at_start = suite.voucher.call("settlementOwed")
        assert suite.token.balance_of(suite.voucher.address) == self.owed_at_start, "the suite starts with no excess"

        kyc = keccak(text="property test kyc evidence")
        for account in self.key.values():
            set_balance(self.w3, account.address, GAS_MONEY)
        roles: dict[str, int] = {}
        for i, core in enumerate(self.cores):
            suite.registry.admit(operator, core.address, f"Core {i}", Role.CORE_ENTERPRISE, kyc, CORE_CREDIT_LIMITS[i])
            roles[core.address] = Role.CORE_ENTERPRISE
        for i, supplier in enumerate(self.suppliers):
            suite.registry.admit(operator, supplier.address, f"Supplier {i}", Role.SUPPLIER, kyc)
            roles[supplier.address] = Role.SUPPLIER
        for i, bank in enumerate(self.banks):
            suite.registry.admit(operator, bank.address, f"Bank {i}", Role.FINANCIER, kyc)
            roles[bank.address] = Role.FINANCIER
        for i, insurer in enumerate(self.insurers):
            suite.registry.admit(operator, insurer.address, f"Insurer {i}", Role.INSURER, kyc)
            roles[insurer.address] = Role.INSURER
        suite.registry.admit(operator, self.auditor.address, "Auditor", Role.AUDITOR, kyc)
        roles[self.auditor.address] = Role.AUDITOR
        assert suite.registry.status_of(self.credit) == MemberStatus.ACTIVE, "deployment admits the credit desk"
        roles[self.credit] = Role.FINANCIER

        cash = {a.address: 0 for a in [*self.members, self.auditor, self.outsider]}
        for core in self.cores:
            suite.token.mint(operator, core.address, CORE_OPENING_CASH)
            cash[core.address] = CORE_OPENING_CASH
        for bank in self.banks:
            suite.token.mint(operator, bank.address, BANK_OPENING_CASH)
            suite.token.approve(bank, suite.desk.address, MAX_UINT256)  # the bank's discounting line
            cash[bank.address] = BANK_OPENING_CASH
        for insurer in self.insurers:
            suite.token.mint(operator, insurer.address, INSURER_OPENING_CASH)
            cash[insurer.address] = INSURER_OPENING_CASH
        cash[self.credit] = 0  # insurers' escrow and pledge payouts not yet passed on
        self.minted = (
            len(self.cores) * CORE_OPENING_CASH
            + len(self.banks) * BANK_OPENING_CASH
            + len(self.insurers) * INSURER_OPENING_CASH
        )

        status = {a: MemberStatus.ACTIVE for a in roles}
        self.m = Ledger(status=status, roles=roles, cash=cash)
        max_tenor, grace, _desk, paused, _descriptor = suite.voucher.call("parameters")
        assert not paused and not suite.token.call("paused")
        self.max_tenor, self.grace = int(max_tenor), int(grace)
        assert self.grace % DAY == 0, "test design: the grace period keeps boundaries off whole days"
        self.first_slot = suite.voucher.call("slotCount") + 1
        self.selectors = error_selectors(suite.voucher, suite.token, suite.keeper)
        self.ever_pledged: set[int] = set()
        # Every time boundary of the run (maturities, grace ends, offer deadlines) sits half a
        # day off the clock's whole days, and time travels in whole days, so the few seconds a
        # block's timestamp drifts from the latest one can never decide an outcome. Pauses last
        # whole days plus seconds, which shifts overdue times by those seconds only.
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

    def _mined_at(self, tx: Any) -> int:
        return self.conn.block_timestamp(tx.block_number)

    @staticmethod
    def _reached(boundary: int, now: int) -> bool:
        assert abs(now - boundary) > HOUR, "test design: a time boundary too close to call"
        return now >= boundary

    def _pick(self, data: st.DataObject, group: list[LocalAccount], label: str) -> LocalAccount:
        """One of ``group``, drawn by name so that a falsifying example reads as a story."""
        return self.by_name[data.draw(st.sampled_from([self.name_of[a.address] for a in group]), label=label)]

    def _member(self, data: st.DataObject, label: str, *, outsider_weight: int = 0, auditor_weight: int = 0) -> str:
        """A member that may hold vouchers, mostly; the outsider or the auditor-only member with
        the given weights (out of 10)."""
        kind = choose(
            data,
            f"{label} is",
            {"member": 10 - outsider_weight - auditor_weight, "outsider": outsider_weight, "auditor": auditor_weight},
        )
        if kind == "outsider":
            return self.outsider.address
        if kind == "auditor":
            return self.auditor.address
        return self._pick(data, self.members, label).address

    def _owner_or_other(self, data: st.DataObject, owner: str, label: str) -> str:
        if choose(data, f"{label} is", {"the holder": 6, "someone else": 1}) == "the holder":
            return owner
        return self._member(data, label, outsider_weight=1, auditor_weight=1)

    def _spender(self, data: st.DataObject, v: VoucherModel) -> str:
        """Who moves value of ``v``: its holder mostly, else an agent of it, a spender it granted
        a value allowance, or someone with no right to."""
        agents = self._agents_of(v)
        granted = sorted(set(v.allowances) & set(self.key))  # the CreditDesk spends only in a pledge
        kind = choose(data, "spender is", {"the holder": 5, "an agent": 2, "an allowance holder": 2, "anyone": 1})
        if kind == "an agent" and agents:
            return data.draw(st.sampled_from(agents), label="agent")
        if kind == "an allowance holder" and granted:
            return data.draw(st.sampled_from(granted), label="allowance holder")
        if kind == "anyone":
            return self._member(data, "spender", outsider_weight=1, auditor_weight=1)
        return self._signer(v)

    def _agents_of(self, v: VoucherModel) -> list[str]:
        """The members that may act for ``v``'s holder (the CreditDesk, approved for a pledge,
        acts only within one)."""
        approved = {v.approved} if v.approved and v.approved != self.credit else set()
        return sorted({a for (o, a) in self.m.agents if o == v.owner} | approved)

    def _signer(self, v: VoucherModel) -> str:
        """Who acts as ``v``'s holder: the holder, or for a voucher in the CreditDesk's custody
        its pledgor (whose attempts to move it the ledger refuses: the desk holds it)."""
        return self.m.pledges[v.token].pledgor if v.owner == self.credit else v.owner

    def _value(self, data: st.DataObject, available: int, label: str, *, all_weight: int = 2) -> int:
        """Part of ``available`` mostly, all of it (which may leave an empty voucher behind), or
        one unit too much, or nothing."""
        kind = choose(data, f"{label} kind", {"part": 4, "all": all_weight, "too much": 1, "zero": 1})
        if kind == "part" and available >= 2:
            return data.draw(st.integers(1, available - 1), label=label)
        if kind in ("part", "all"):
            return available
        return available + 1 if kind == "too much" else 0

    def _account(self, data: st.DataObject, status: MemberStatus, label: str = "member") -> str:
        """A member in ``status`` mostly (any member that may hold vouchers otherwise)."""
        fitting = [a for a in self.members if self.m.status_of(a.address) == status]
        if fitting and choose(data, f"{label} pick", {f"{status.name.lower()}": 5, "any": 1}) != "any":
            return self._pick(data, fitting, label).address
        return self._pick(data, self.members, label).address

    def _redeemable(self, token: int, now: int) -> bool:
        """Whether a redeem of ``token`` would pay something (or burn an empty voucher) now."""
        return isinstance(self._payout(self.m, token, now), int)

    def _movable(self, v: VoucherModel, now: int) -> bool:
        """Whether ``v`` has value that may move now."""
        s = self.m.slots[slot_of(v.token)]
        return (
            v.value > 0
            and v.owner != self.credit
            and not v.frozen
            and not self._reached(s.maturity, now)
            and self.m.active(v.owner)
            and self.m.active(s.debtor)
        )

    def _live_token(self, data: st.DataObject, now: int, label: str = "voucher") -> int:
        """A live voucher, mostly one that may move now (frozen, matured, watched and suspended
        holders' vouchers are picked too, to see them refused)."""
        movable = sorted(t for t, v in self.m.live.items() if self._movable(v, now))
        if movable and choose(data, f"{label} pick", {"movable": 5, "any": 1}) == "movable":
            return draw_voucher(data, movable, label)
        return draw_voucher(data, self.m.live, label)

    def _slot(self, data: st.DataObject, preferred: Callable[[SlotModel], bool], label: str = "slot") -> int:
        candidates = sorted(s.slot for s in self.m.slots.values() if preferred(s))
        if candidates and choose(data, f"{label} pick", {"fitting": 5, "any": 1}) == "fitting":
            return data.draw(st.sampled_from(candidates), label=label)
        return data.draw(st.sampled_from(sorted(self.m.slots)), label=label)

    # ---------------------------------------------------- the contract's rules

    def _party_error(self, s: SlotModel, giver: str | None, to: str) -> Revert | None:
        """ReceivableVoucher._checkParties, in its order: the giving holder (none for the root
        voucher's mint), the slot's debtor (the watch), the receiver and its roles."""
        if giver is not None and not self.m.active(giver):
            return Revert("NotActiveMember", {"account": giver})
        if not self.m.active(s.debtor):
            return Revert("DebtorNotActive", {"slot": s.slot, "debtor": s.debtor})
        if not self.m.active(to):
            return Revert("NotActiveMember", {"account": to})
        roles = self.m.roles.get(to, 0)
        if roles & VOUCHER_HOLDER_ROLES == 0:
            return Revert("CannotHoldVouchers", {"account": to, "roles": roles})
        return None

    def _update_error(
        self, change: Change, token: int, to: str, value: int, now: int, target: int | None = None
    ) -> Revert | None:
        """ReceivableVoucher._update for a split, merge or whole move, in its order of checks."""
        if self.m.paused("ledger"):
            return Revert("SystemPaused")
        v = self.m.live.get(token)
        if v is None:
            return Revert("UnknownVoucher", {"tokenId": token})
        if v.frozen:
            return Revert("VoucherFrozen", {"tokenId": token})
        if change == Change.MERGE:
            assert target is not None
            if target == token:
                return Revert("SameVoucher", {"tokenId": token})
            if slot_of(target) != slot_of(token):
                return Revert("SlotMismatch", {"fromTokenId": token, "toTokenId": target})
            u = self.m.live.get(target)
            if u is None:
                return Revert("UnknownVoucher", {"tokenId": target})
            if u.frozen:
                return Revert("VoucherFrozen", {"tokenId": target})
            to = u.owner
        s = self.m.slots[slot_of(token)]
        if self._reached(s.maturity, now):
            return Revert("SlotMatured", {"slot": s.slot, "maturity": s.maturity})
        refused = self._party_error(s, v.owner, to)
        if refused or change == Change.MOVE:
            return refused
        if value == 0:
            return Revert("ZeroAmount")
        if value > v.value:
            return Revert("InsufficientValue", {"tokenId": token, "value": v.value, "needed": value})
        return None

    def _spend_error(self, token: int, spender: str, value: int) -> Revert | None:
        """ReceivableVoucher._spendValue: the holder and its agents move any value (an agent
        only while active); anyone else spends a value allowance that still stands."""
        v = self.m.live.get(token)
        if v is None:
            return Revert("UnknownVoucher", {"tokenId": token})
        if spender == v.owner:
            return None
        if not self.m.active(spender):
            return Revert("NotActiveMember", {"account": spender})
        if self.m.is_agent(v, spender):
            return None
        allowed = self.m.allowance(v, spender)
        if allowed < value:
            return Revert(
                "InsufficientAllowance", {"tokenId": token, "spender": spender, "allowance": allowed, "needed": value}
            )
        return None

    def _spend(self, v: VoucherModel, spender: str, value: int) -> None:
        """The allowance a successful move by ``spender`` used up."""
        if spender == v.owner or self.m.is_agent(v, spender):
            return
        grantor, amount = v.allowances[spender]
        if amount != UNLIMITED:
            v.allowances[spender] = (grantor, amount - value)

    def _authorize_whole_error(self, token: int, holder: str, spender: str) -> Revert | None:
        """ReceivableVoucher._authorizeWhole: the named holder is the holder, and the caller
        is it or an active agent of it."""
        v = self.m.live.get(token)
        if v is None:
            return Revert("UnknownVoucher", {"tokenId": token})
        if holder != v.owner:
            return Revert("NotHolder", {"tokenId": token, "account": holder})
        if spender != v.owner:
            if not self.m.is_agent(v, spender):
                return Revert("NotAuthorized", {"tokenId": token, "spender": spender})
            if not self.m.active(spender):
                return Revert("NotActiveMember", {"account": spender})
        return None

    def _payout(self, ledger: Ledger, token: int, now: int, *, write_off: bool = False) -> Revert | int:
        """ReceivableVoucher._update for a payout (Burn) or a write-off of ``token``, in its order
        of checks (the ledger not paused; ``writeOff``'s holder check comes before): the cash
        the holder is paid now, or the refusal. A fully funded slot (funded + written off ==
        face) pays the whole value; an overdue one its pro-rata share."""
        v = ledger.live.get(token)
        if v is None:
            return Revert("UnknownVoucher", {"tokenId": token})
        if v.frozen:
            return Revert("VoucherFrozen", {"tokenId": token})
        s = ledger.slots[slot_of(token)]
        if not self._reached(s.maturity, now):
            return Revert("SlotNotMatured", {"tokenId": token, "slot": s.slot, "maturity": s.maturity})
        if not ledger.active(v.owner):
            return Revert("NotActiveMember", {"account": v.owner})
        if s.funded + s.written_off >= s.face:
            if write_off:
                return Revert("SlotFullyFunded", {"slot": s.slot})
            paid = v.value
        elif not s.overdue_at:
            if write_off:
                return Revert("SlotNotOverdue", {"slot": s.slot})
            return Revert(
                "SlotNotFullyFunded", {"tokenId": token, "slot": s.slot, "funded": s.funded, "faceValue": s.face}
            )
        else:
            paid = pro_rata_due(v, s)
            if paid == 0 and not write_off:
                return Revert("NothingToPay", {"tokenId": token})
        if paid and ledger.paused("token"):
            return Revert("TokenPaused")  # the payment leg refuses it
        return paid

    def _redeem_in(self, ledger: Ledger, token: int, now: int, *, write_off: bool = False) -> Revert | None:
        """Redeems (or writes off) ``token`` in ``ledger`` as the contract must (the ledger not
        paused); the error if it must revert. A voucher paid whole, or written off, is burned;
        one paid its pro-rata share lives on with its value down by the payment. The change
        that leaves the slot's live vouchers with no value (a voucher of value 0 aside) settles it."""
        paid = self._payout(ledger, token, now, write_off=write_off)
        if isinstance(paid, Revert):
            return paid
        v, s = ledger.live[token], ledger.slots[slot_of(token)]
        whole = s.funded + s.written_off >= s.face
        value = v.value
        s.redeemed += paid
        ledger.owed -= paid
        ledger.cash[v.owner] += paid
        if whole or write_off:
            del ledger.live[token]
            if not whole:
                s.written_off += value - paid
                s.written_off_paid += v.paid_out + paid
                s.flags |= SLOT_WRITTEN_OFF
        else:
            v.value -= paid
            v.paid_out += paid
        if value and s.live_value == 0:
            s.status = SlotStatus.SETTLED
        return None

    def _cash_error(self, sender: str, to: str, amount: int, *, balance_known: bool = True) -> Revert | None:
        """SettlementToken._update: pause, then both sides' permission, then the balance
        (system contracts may always hold; the model's accounts are members). Without
        ``balance_known`` (the CreditDesk passing on cash it took in the same transaction) the
        balance is not checked."""
        system = (self.suite.voucher.address, self.suite.desk.address)
        if self.m.paused("token"):
            return Revert("TokenPaused")
        if sender not in system and not self.m.active(sender):
            return Revert("NotPermittedHolder", {"account": sender})
        if to not in system and not self.m.active(to):
            return Revert("NotPermittedHolder", {"account": to})
        balance = {self.suite.voucher.address: self.m.owed + self.m.excess, self.suite.desk.address: self.m.desk_excess}
        if balance_known and amount > balance.get(sender, self.m.cash.get(sender, 0)):
            return Revert("ERC20InsufficientBalance", {"sender": sender})
        return None

    def _new_invoice(self, creditor: LocalAccount, debtor: LocalAccount, amount: int) -> InvoiceModel | None:
        """The supplier anchors an invoice, the core enterprise confirms it."""
        doc_hash = keccak(text=f"property invoice {self._next()}")
        expected = None
        if not self.m.active(creditor.address):
            expected = Revert("NotActiveMember", {"account": creditor.address})
        elif not self.m.active(debtor.address):
            expected = Revert("NotActiveMember", {"account": debtor.address})
        trade = self.suite.trade
        args = (int(DocType.INVOICE), doc_hash, debtor.address, amount, 0)
        registered = expect("register invoice", expected, Call(trade, creditor, "register", args))
        if registered is None:
            return None
        (event,) = registered.events(trade.contract, "DocumentRegistered")
        record = int(event["args"]["recordId"])
        self.suite.trade.confirm(debtor, record)
        invoice = self.m.invoices[record] = InvoiceModel(record, creditor.address, debtor.address, amount)
        return invoice

    def _issue(self, debtor: LocalAccount, creditor: str, face: int, days: int, invoice: InvoiceModel) -> int | None:
        """Issues a voucher due ``days`` (whole days plus half a day) from today; the slot if issued."""
        now = self._now()
        maturity = self.base + (self._day(now) + days) * DAY + DAY // 2
        needed = self.m.outstanding(debtor.address) + face
        roles = self.m.roles.get(creditor, 0)
        expected = None
        if self.m.paused("ledger"):
            expected = Revert("SystemPaused")
        elif self._reached(maturity, now):
            expected = Revert("MaturityNotInFuture", {"maturity": maturity})
        elif not self._reached(maturity, now + self.max_tenor):
            expected = Revert("MaturityBeyondTenor", {"maturity": maturity})
        elif not self.m.active(debtor.address):
            expected = Revert("NotCoreEnterprise", {"account": debtor.address})
        elif not self.m.active(creditor):
            expected = Revert("NotActiveMember", {"account": creditor})
        elif roles & VOUCHER_HOLDER_ROLES == 0:
            expected = Revert("CannotHoldVouchers", {"account": creditor, "roles": roles})
        elif needed > self.limit[debtor.address]:
            expected = Revert(
                "CreditLimitExceeded", {"debtor": debtor.address, "limit": self.limit[debtor.address], "needed": needed}
            )
        elif face > invoice.amount - invoice.reserved:
            expected = Revert(
                "InsufficientInvoiceAmount",
                {"recordId": invoice.record, "available": invoice.amount - invoice.reserved, "needed": face},
            )
        voucher = self.suite.voucher
        tx = expect("issue", expected, Call(voucher, debtor, "issue", (creditor, face, maturity, invoice.record)))
        if tx is None:
            return None
        (event,) = tx.events(voucher.contract, "VoucherIssued")
        slot = int(event["args"]["slot"])
        assert slot == self.first_slot + len(self.m.slots), "slots are numbered sequentially"
        self.m.slots[slot] = SlotModel(
            slot, debtor.address, creditor, face, maturity, invoice.record, issued_at=self._mined_at(tx)
        )
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
        elif self.m.paused("ledger"):
            expected = Revert("SystemPaused")
        elif self._reached(s.maturity, now):
            expected = Revert("SlotMatured", {"slot": slot, "maturity": s.maturity})
        else:
            expected = self._party_error(s, None, caller)
        tx = expect("accept", expected, Call(self.suite.voucher, self.key[caller], "accept", (slot,)))
        if tx is not None:
            s.status = SlotStatus.ACCEPTED
            root = self.m.mint(s, caller, s.face, 0)
            (event,) = tx.events(self.suite.voucher.contract, "VoucherAccepted")
            assert int(event["args"]["tokenId"]) == root == token_id(slot, 1)

    def _minted(self, tx: Any, from_token: int) -> list[int]:
        """The vouchers a split or split-transfer of ``from_token`` minted, in order."""
        events = tx.events(self.suite.voucher.contract, "TransferValue")
        return [int(e["args"]["_toTokenId"]) for e in events if e["args"]["_fromTokenId"] == from_token]

    # ------------------------------------------------------------------- rules

    @initialize(data=st.data())
    def open_the_books(self, data: st.DataObject) -> None:
        """Every history starts with one to three accepted vouchers, so that no example spends
        its steps waiting for a first issuance; in about two of three the first debtor has
        already defaulted (``_open_with_a_default``)."""
        slots = []
        for n in range(data.draw(st.integers(1, 3), label="opening vouchers")):
            debtor = self.cores[n % len(self.cores)]
            creditor = self._pick(data, self.suppliers, "creditor")
            face = data.draw(st.integers(1, MAX_FACE // 2), label="face value")
            invoice = self._new_invoice(creditor, debtor, face)
            assert invoice is not None
            days = data.draw(st.one_of(st.integers(10, 40), st.integers(10, 170)), label="days")
            slot = self._issue(debtor, creditor.address, face, days, invoice)
            assert slot is not None
            self._accept(slot, creditor.address)
            slots.append(slot)
        if choose(data, "the first debtor", {"has not defaulted yet": 1, "has defaulted": 2}) == "has defaulted":
            self._open_with_a_default(data, self.m.slots[slots[0]])

    def _open_with_a_default(self, data: st.DataObject, s: SlotModel) -> None:
        """Issue 16's story, so that a short history reaches it: the first slot's root voucher
        is paid on to up to three other members, the debtor (or a guarantor) funds part of the
        face value (maybe nothing), the clock runs past maturity and the grace period, and
        someone marks the slot overdue. Before that, maybe a holder pledged its voucher to a bank
        and maybe the debtor bought credit insurance on the slot. What follows (pro-rata
        payouts, write-offs, claims, late funding) is left to the rules."""
        root = token_id(s.slot, 1)
        for _ in range(data.draw(st.integers(0, 3), label="payments onward")):
            v = self.m.live[root]
            if v.value < 2:
                break
            to = self._pick(data, [m for m in self.suppliers + self.banks if m.address != v.owner], "paid to")
            value = data.draw(st.integers(1, v.value - 1), label="value paid on")
            call = Call(self.suite.voucher, self.key[v.owner], SPLIT_TRANSFER, (root, to.address, value))
            tx = expect("split-transfer", None, call)
            v.value -= value
            assert self._minted(tx, root) == [self.m.mint(s, to.address, value, root)]
        now = self._now()
        if choose(data, "a holder", {"keeps its voucher": 1, "pledges it to a bank": 1}) != "keeps its voucher":
            token = draw_voucher(data, sorted(t for t in self.m.live if slot_of(t) == s.slot), "pledged voucher")
            v = self.m.live[token]
            bank = self._pick(data, [b for b in self.banks if b.address != v.owner], "pledgee").address
            value = data.draw(st.sampled_from([v.value, max(1, v.value // 2)]), label="value pledged")
            secured = data.draw(st.sampled_from([value, max(1, value * 3 // 4)]), label="secured")
            self._pledge(v.owner, token, value, bank, secured, self._deadline(now, 5), approve=True)
        if choose(data, "the slot", {"is not insured": 1, "is insured": 1}) == "is insured":
            insurer = self._pick(data, self.insurers, "insurer").address
            cover = data.draw(st.sampled_from([s.face, max(1, s.face // 2)]), label="cover")
            order = data.draw(st.sampled_from(list(Recovery)), label="recovery order")
            self._offer_cover(insurer, s, cover, cover // 50, order, self._deadline(now, 3))
            s = self.m.slots[s.slot]  # the offer replaced the model (computed on a copy)
            self._buy_cover(s.debtor, s, 0, (insurer, cover, cover // 50, order))
        payer = s.debtor
        if choose(data, "part paid by", {"the debtor": 2, "a guarantor": 1}) == "a guarantor":
            payer = self._pick(data, [m for m in self.members if m.address != s.debtor], "guarantor").address
        fraction = data.draw(st.sampled_from([50, 10, 90, 1, 99, 0]), label="percent funded")
        if s.face * fraction // 100:
            self._fund_slot(s, payer, s.face * fraction // 100)
        now = self._now()
        increase_time(self.w3, ceil_div(self.m.overdue_from(s, now, self.grace) - now, DAY) * DAY)
        reporter = self._member(data, "reporter", outsider_weight=2)
        tx = expect("mark overdue", None, Call(self.suite.voucher, self.key[reporter], "markOverdue", (s.slot,)))
        s.overdue_at = self._mined_at(tx)

    @rule(data=st.data())
    def issue(self, data: st.DataObject) -> None:
        """A core enterprise issues a voucher against an invoice its supplier registered and it
        confirmed (or an earlier invoice between them, which may not have enough left), now and
        then to the auditor-only member, which may hold no voucher."""
        debtor = self._pick(data, self.cores, "debtor")
        creditor = self._pick(data, self.suppliers, "creditor")
        tiny = choose(data, "face value kind", {"any": 3, "tiny": 1}) == "tiny"
        face = data.draw(st.integers(1, 1_000 if tiny else MAX_FACE), label="face value")
        tenor = choose(data, "tenor", {"10-170 days": 8, "in the past": 1, "beyond max tenor": 1})
        days = {"in the past": -1, "beyond max tenor": 190}.get(tenor) or data.draw(st.integers(10, 170), label="days")
        if choose(data, "to", {"a supplier": 9, "the auditor": 1}) == "the auditor":
            # Refused before the invoice is looked at: any invoice of the debtor serves.
            invoices = [i for i in self.m.invoices.values() if i.debtor == debtor.address] or list(
                self.m.invoices.values()
            )
            invoice = data.draw(st.sampled_from(invoices), label="invoice")
            self._issue(debtor, self.auditor.address, face, days, invoice)
            return
        earlier = [i for i in self.m.invoices.values() if (i.creditor, i.debtor) == (creditor.address, debtor.address)]
        if earlier and choose(data, "invoice", {"new": 3, "earlier": 1}) == "earlier":
            invoice: InvoiceModel | None = data.draw(st.sampled_from(earlier), label="earlier invoice")
        else:
            headroom = data.draw(st.sampled_from([0, 0, face // 2, face]), label="invoice headroom")
            invoice = self._new_invoice(creditor, debtor, face + headroom)
        if invoice is not None:
            self._issue(debtor, creditor.address, face, days, invoice)

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
        if self.m.paused("ledger"):
            expected = Revert("SystemPaused")
        elif caller != s.debtor:
            expected = Revert("NotDebtor", {"slot": slot, "caller": caller})
        elif s.status != SlotStatus.ISSUED:
            expected = Revert("UnexpectedSlotStatus", {"slot": slot, "status": int(s.status)})
        if expect("cancel", expected, Call(self.suite.voucher, self.key[caller], "cancel", (slot,))) is not None:
            s.status = SlotStatus.CANCELLED
            self.m.invoices[s.record].reserved -= s.face

    @precondition(lambda self: self.m.live)
    @rule(data=st.data())
    def split_transfer(self, data: st.DataObject) -> None:
        """A holder (or its agent, or a spender it granted a value allowance) pays a supplier
        with part or all of a voucher."""
        now = self._now()
        token = self._live_token(data, now)
        v = self.m.live[token]
        spender = self._spender(data, v)
        to = self._member(data, "recipient", outsider_weight=1, auditor_weight=1)
        value = self._value(data, v.value, "value")
        expected = self._spend_error(token, spender, value) or self._update_error(Change.SPLIT, token, to, value, now)
        call = Call(self.suite.voucher, self.key[spender], SPLIT_TRANSFER, (token, to, value))
        tx = expect("split-transfer", expected, call)
        if tx is not None:
            self._spend(v, spender, value)
            v.value -= value
            new = self.m.mint(self.m.slots[slot_of(token)], to, value, token)
            assert self._minted(tx, token) == [new], "the new voucher takes the slot's next serial"

    @precondition(lambda self: self.m.live)
    @rule(data=st.data())
    def split(self, data: st.DataObject) -> None:
        """A holder splits a voucher into new ones it keeps (an empty list changes nothing)."""
        now = self._now()
        token = self._live_token(data, now)
        v = self.m.live[token]
        caller = self._owner_or_other(data, self._signer(v), "caller")
        values: list[int] = []
        left = v.value
        for _ in range(data.draw(st.integers(0, 3), label="parts")):
            values.append(self._value(data, left, "part", all_weight=1))
            left = max(0, left - values[-1])
        expected = None
        if caller != v.owner:
            expected = Revert("NotHolder", {"tokenId": token, "account": caller})
        else:
            rest = v.value
            for value in values:
                expected = self._update_error(Change.SPLIT, token, caller, value, now)
                if expected is None and value > rest:
                    expected = Revert("InsufficientValue", {"tokenId": token, "value": rest, "needed": value})
                if expected is not None:
                    break
                rest -= value
        tx = expect("split", expected, Call(self.suite.voucher, self.key[caller], "split", (token, values)))
        if tx is not None:
            s = self.m.slots[slot_of(token)]
            new = []
            for value in values:
                v.value -= value
                new.append(self.m.mint(s, caller, value, token))
            assert self._minted(tx, token) == new

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
        spender = self._spender(data, v)
        value = self._value(data, v.value, "value")
        expected = self._spend_error(source, spender, value) or self._update_error(
            Change.MERGE, source, "", value, now, target=target
        )
        if expected is None and self.m.live[target].owner == self.credit:
            # The CreditDesk accepts value only from its own pledge: the collateral stays as pledged.
            expected = Revert("InvalidReceiver", {"receiver": self.credit})
        call = Call(self.suite.voucher, self.key[spender], MERGE, (source, target, value))
        if expect("merge", expected, call) is not None:
            self._spend(v, spender, value)
            v.value -= value
            self.m.live[target].value += value

    @precondition(lambda self: self.m.live)
    @rule(data=st.data())
    def transfer_whole(self, data: st.DataObject) -> None:
        """A holder (or its agent) hands a whole voucher (ERC-721 transfer) to another member."""
        now = self._now()
        token = self._live_token(data, now)
        v = self.m.live[token]
        spender = self._spender(data, v)
        holder = self._owner_or_other(data, self._signer(v), "named holder")
        to = self._member(data, "recipient", outsider_weight=1, auditor_weight=1)
        expected = self._authorize_whole_error(token, holder, spender) or self._update_error(
            Change.MOVE, token, to, 0, now
        )
        call = Call(self.suite.voucher, self.key[spender], WHOLE_TRANSFER, (holder, to, token))
        if expect("whole transfer", expected, call) is not None:
            self.m.move(v, to)

    @rule(data=st.data())
    def appoint_agent(self, data: st.DataObject) -> None:
        """A holder approves an operator for all its vouchers or revokes it, or approves an
        address for one voucher (the holder's agent for all may do that too)."""
        if self.m.live and choose(data, "approval", {"for all": 2, "for one voucher": 1}) == "for one voucher":
            token = draw_voucher(data, self.m.live, "voucher")
            v = self.m.live[token]
            agents = sorted(a for (o, a) in self.m.agents if o == v.owner)
            caller = self._signer(v)
            if agents and choose(data, "approved by", {"the holder": 2, "its agent": 1}) == "its agent":
                caller = data.draw(st.sampled_from(agents), label="agent")
            caller = caller if choose(data, "caller", {"as drawn": 6, "anyone": 1}) == "as drawn" else (
                self._member(data, "caller", outsider_weight=1)
            )
            to = self._member(data, "approved", outsider_weight=1)
            expected = None
            if to == v.owner:
                expected = Revert("SelfApproval", {"owner": v.owner})
            elif caller != v.owner and (v.owner, caller) not in self.m.agents:
                expected = Revert("NotAuthorized", {"tokenId": token, "spender": caller})
            elif caller != v.owner and not self.m.active(caller):
                expected = Revert("NotActiveMember", {"account": caller})
            call = Call(self.suite.voucher, self.key[caller], "approve(address,uint256)", (to, token))
            if expect("approve voucher", expected, call) is not None:
                v.approved = to
            return
        holders = sorted({v.owner for v in self.m.live.values()} - {self.credit}) or [a.address for a in self.members]
        holder = data.draw(st.sampled_from(holders), label="holder")
        mine = sorted(a for (o, a) in self.m.agents if o == holder)
        approved = not mine or choose(data, "for all", {"approve": 1, "revoke": 1}) == "approve"
        agent = self._member(data, "agent", outsider_weight=1) if approved else data.draw(st.sampled_from(mine))
        expected = Revert("SelfApproval", {"owner": holder}) if agent == holder else None
        call = Call(self.suite.voucher, self.key[holder], "setApprovalForAll", (agent, approved))
        if expect("approve for all" if approved else "revoke for all", expected, call) is not None:
            (self.m.agents.add if approved else self.m.agents.discard)((holder, agent))

    @precondition(lambda self: self.m.live)
    @rule(data=st.data())
    def grant_value_allowance(self, data: st.DataObject) -> None:
        """A holder, or its agent, lets another member move part of a voucher's value."""
        token = draw_voucher(data, self.m.live, "voucher")
        v = self.m.live[token]
        agents = self._agents_of(v)
        caller = self._signer(v)
        kind = choose(data, "granted by", {"the holder": 3, "its agent": 2, "anyone": 1})
        if kind == "its agent" and agents:
            caller = data.draw(st.sampled_from(agents), label="agent")
        elif kind == "anyone":
            caller = self._member(data, "caller", outsider_weight=1)
        spender = self._member(data, "spender", outsider_weight=1)
        amount = choose(data, "amount", {"part": 3, "all": 1, "unlimited": 1, "zero": 1})
        value = {"all": v.value, "unlimited": MAX_UINT256, "zero": 0}.get(amount)
        if value is None:
            value = data.draw(st.integers(1, max(1, v.value)), label="allowance")
        expected = None
        if spender == v.owner:
            expected = Revert("SelfApproval", {"owner": v.owner})
        elif caller != v.owner and not self.m.is_agent(v, caller):
            expected = Revert("NotAuthorized", {"tokenId": token, "spender": caller})
        elif caller != v.owner and not self.m.active(caller):
            expected = Revert("NotActiveMember", {"account": caller})
        call = Call(self.suite.voucher, self.key[caller], "approve(uint256,address,uint256)", (token, spender, value))
        if expect("grant value allowance", expected, call) is not None:
            v.allowances[spender] = (caller, min(value, UNLIMITED))

    @precondition(lambda self: self.m.live)
    @rule(data=st.data())
    def discount(self, data: st.DataObject) -> None:
        """A holder sells part or all of a voucher to a bank by the bank's signed offer naming
        it as the seller: cash at the ACT/360 price against the value, in one transaction."""
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
            seller = self._owner_or_other(data, self._signer(self.m.live[token]), "named seller")
            offer = DiscountOffer(token, value, rate, deadline, self._next(), bank.address, seller)
            genuine = kind != "forged"
            signature = self.suite.desk.sign(bank.key if genuine else self.forger.key, offer)
        token, value, bank_address = offer.token_id, offer.value, offer.financier
        v = self.m.live.get(token)
        submitter = offer.seller
        if choose(data, "submitted by", {"the named seller": 8, "someone else": 1}) != "the named seller":
            submitter = self._signer(v) if v and self._signer(v) != offer.seller else self._member(data, "submitter")

        s = self.m.slots[slot_of(token)]
        expected = None
        if submitter != offer.seller:
            expected = Revert("NotOfferSeller", {"seller": offer.seller, "caller": submitter})
        elif value == 0:
            expected = Revert("ZeroAmount")
        elif self._reached(offer.deadline + 1, now):
            expected = Revert("OfferExpired", {"deadline": offer.deadline})
        elif (bank_address, offer.nonce) in self.m.used_nonces:
            expected = Revert("OfferAlreadyUsed", {"financier": bank_address, "nonce": offer.nonce})
        elif not genuine:
            expected = Revert("InvalidOfferSignature", {"financier": bank_address})
        elif not self.m.active(bank_address):
            expected = Revert("NotFinancier", {"account": bank_address})
        elif offer.rate_bps > MAX_RATE_BPS:
            expected = Revert("RateTooHigh", {"rateBps": offer.rate_bps, "max": MAX_RATE_BPS})
        elif v is None:
            expected = Revert("UnknownVoucher", {"tokenId": token})
        elif self._reached(s.maturity, now):
            expected = Revert("VoucherMatured", {"tokenId": token, "maturity": s.maturity})
        elif ceil_div(value * offer.rate_bps * (s.maturity - now), YEAR_BASIS) >= value:
            # The desk refuses a sale at a price of nothing (a tiny value with the discount
            # rounded up in the holder's disfavour takes all of it).
            expected = Revert("DiscountExceedsValue", {"value": value})
        else:
            # The price is paid first (the token's rules: pause, both parties, the balance),
            # then the desk moves the value: whole if it is all of it, else by a split.
            expected = self._cash_error(bank_address, submitter, value) or (
                Revert("NotHolder", {"tokenId": token, "account": submitter}) if submitter != v.owner else None
            )
            if expected is None:
                change = Change.MOVE if value == v.value else Change.SPLIT
                expected = self._update_error(change, token, bank_address, value, now)
        call = Call(self.suite.desk, self.key[submitter], "discount", (offer.as_tuple(), signature))
        tx = expect("discount", expected, call)
        if tx is None:
            return
        assert v is not None
        (event,) = tx.events(self.suite.desk.contract, "OfferExecuted")
        financier_token, price = int(event["args"]["financierTokenId"]), int(event["args"]["price"])
        paid_at = self._mined_at(tx)
        assert price == value - ceil_div(value * offer.rate_bps * (s.maturity - paid_at), YEAR_BASIS), "ACT/360 price"
        self.m.used_nonces.add((bank_address, offer.nonce))
        self.executed_offers.append((offer, signature))
        self.m.cash[bank_address] -= price
        self.m.cash[submitter] += price
        if value == v.value:
            self.m.move(v, bank_address)
            assert financier_token == token, "all of a voucher moves whole"
        else:
            v.value -= value
            assert financier_token == self.m.mint(s, bank_address, value, token)

    def _fund(self, data: st.DataObject, amount_of: Callable[[int], int]) -> None:
        """The debtor, or another account paying on its behalf (a guarantor: any active member;
        to be refused, the outsider), approves the voucher contract for ``amount_of(unfunded)``
        settlement tokens and pays them toward a slot, most often one that is due (or overdue)
        soonest. A debtor that is not active cannot pay: the settlement token refuses it as a
        holder. The credit line released by the completing payment is the debtor's, whoever pays.
        What holders wrote off is never funded: at most face - funded - written off."""
        owed = sorted((s for s in self.m.slots.values() if owing(s)), key=lambda s: s.maturity)
        if owed and choose(data, "slot pick", {"due soonest": 3, "random": 1}) == "due soonest":
            slot = owed[0].slot
        else:
            slot = self._slot(data, owing)
        s = self.m.slots[slot]
        caller = s.debtor
        if choose(data, "funded by", {"the debtor": 6, "a guarantor": 3}) != "the debtor":
            others = [a for a in (*self.members, self.auditor, self.outsider) if a.address != s.debtor]
            caller = self._pick(data, others, "guarantor").address
        self._fund_slot(s, caller, amount_of(s.unfunded))

    def _fund_slot(self, s: SlotModel, caller: str, amount: int) -> None:
        expected = self._fund_error(s, caller, amount)
        self.suite.token.approve(self.key[caller], self.suite.voucher.address, amount)
        if expect("fund", expected, Call(self.suite.voucher, self.key[caller], "fund", (s.slot, amount))) is not None:
            s.funded += amount
            self.m.cash[caller] -= amount
            self.m.owed += amount

    def _fund_error(self, s: SlotModel, caller: str, amount: int, *, balance_known: bool = True) -> Revert | None:
        """ReceivableVoucher.fund by ``caller``, in its order of checks."""
        if self.m.paused("ledger"):
            return Revert("SystemPaused")
        if s.flags & SLOT_ROUTED and caller != self.credit:
            return Revert("FundThroughDesk", {"slot": s.slot, "desk": self.credit})
        if caller != s.debtor and not (self.m.active(caller) and self.m.roles.get(caller, 0)):
            return Revert("NotActiveMember", {"account": caller})
        if s.status != SlotStatus.ACCEPTED:
            return Revert("UnexpectedSlotStatus", {"slot": s.slot, "status": int(s.status)})
        if amount == 0:
            return Revert("ZeroAmount")
        if amount > s.unfunded:
            return Revert("OverFunding", {"slot": s.slot, "unfunded": s.unfunded, "amount": amount})
        return self._cash_error(caller, self.suite.voucher.address, amount, balance_known=balance_known)

    @precondition(lambda self: any(owing(s) for s in self.m.slots.values()))
    @rule(data=st.data())
    def fund_in_part(self, data: st.DataObject) -> None:
        """The debtor pays part of what a slot still owes (or, to be refused, nothing)."""
        self._fund(data, lambda unfunded: self._value(data, unfunded, "amount", all_weight=0))

    @precondition(lambda self: any(owing(s) for s in self.m.slots.values()))
    @rule(data=st.data())
    def fund_in_full(self, data: st.DataObject) -> None:
        """The debtor pays all that a slot still owes (or, to be refused, one unit more); the
        payment completing the face value releases its credit line."""
        self._fund(
            data,
            lambda unfunded: unfunded + (choose(data, "amount", {"the rest": 9, "one unit more": 1}) != "the rest"),
        )

    def _time_passes(self, data: st.DataObject, days: int) -> None:
        increase_time(self.w3, days * DAY)
        paused = [c for c in ("ledger", "token") if self.m.paused(c)]
        if paused and choose(data, "then", {"the operator resumes": 2, "the pause goes on": 1}) != "the pause goes on":
            self._pause_or_resume(data.draw(st.sampled_from(paused), label="resumed"), self.cast.operator, pause=False)

    @rule(data=st.data(), days=st.integers(1, 14))
    def days_pass(self, data: st.DataObject, days: int) -> None:
        """The calendar moves on by a few whole days (a pause in force mostly ends then)."""
        self._time_passes(data, days)

    @rule(data=st.data(), days=st.integers(15, 60))
    def weeks_pass(self, data: st.DataObject, days: int) -> None:
        """The calendar moves on by weeks (time matters enough to the ledger to be drawn twice as
        often as any other action: maturity, grace periods and redemption all wait for it)."""
        self._time_passes(data, days)

    def _burned(self) -> list[int]:
        return sorted(set(self.m.parents) - set(self.m.live))

    def _not_yet_overdue(self) -> list[SlotModel]:
        now = self._now()
        return [
            s
            for s in self.m.slots.values()
            if owing(s) and not s.overdue_at and self.m.overdue_from(s, now, self.grace) > now
        ]

    @precondition(lambda self: self._not_yet_overdue())
    @rule(data=st.data())
    def time_runs_past_a_grace_period(self, data: st.DataObject) -> None:
        """The calendar moves on to the first whole day past an unpaid slot's overdue time
        (maturity, grace period, every second paused), so that defaults come within reach of
        a short history."""
        s = data.draw(st.sampled_from(sorted(self._not_yet_overdue(), key=lambda s: s.slot)), label="slot")
        now = self._now()
        self._time_passes(data, ceil_div(self.m.overdue_from(s, now, self.grace) - now, DAY))

    @precondition(lambda self: self.m.live)
    @rule(data=st.data())
    def redeem(self, data: st.DataObject) -> None:
        """Anyone triggers the redemption of a voucher: the holder is paid its whole value (a
        fully funded slot; the voucher is burned) or its pro-rata share of what an overdue slot
        was funded (the voucher lives on for the rest), as the model computes it."""
        now = self._now()
        ready = sorted(t for t in self.m.live if self._redeemable(t, now))
        kind = choose(data, "voucher pick", {"redeemable": 6, "any live": 2, "burned": 1})
        pool = {"redeemable": ready, "burned": self._burned()}.get(kind) or sorted(self.m.live) or self._burned()
        token = draw_voucher(data, pool, "voucher")
        caller = self._member(data, "caller", outsider_weight=2)
        after = copy.deepcopy(self.m)
        expected = Revert("SystemPaused") if self.m.paused("ledger") else self._redeem_in(after, token, now)
        tx = expect("redeem", expected, Call(self.suite.voucher, self.key[caller], "redeem", (token,)))
        if tx is None:
            return
        if token in after.live:
            OUTCOMES["redeem: ok, paid pro rata"] += 1
            v = after.live[token]
            (event,) = tx.events(self.suite.voucher.contract, "VoucherPartlyPaid")
            paid = v.paid_out - self.m.live[token].paid_out
            assert (event["args"]["amount"], event["args"]["paidOut"], event["args"]["value"]) == (
                paid, v.paid_out, v.value
            ), f"VoucherPartlyPaid {dict(event['args'])}, model paid {paid}, {v}"
        self.m = after

    @precondition(lambda self: self.m.live)
    @rule(data=st.data())
    def redeem_batch(self, data: st.DataObject) -> None:
        """A keeper redeems many vouchers in one transaction through the PayoutKeeper; entries
        that cannot be redeemed (already burned, frozen, unfunded and not overdue, nothing due,
        not matured, held by a member not active, or a duplicate already paid in this batch)
        are skipped with the error a lone redeem would raise, the rest are paid. While the
        ledger is paused the whole batch is refused (LedgerPaused)."""
        now = self._now()
        ready = sorted(t for t in self.m.live if self._redeemable(t, now))
        tokens: list[int] = []
        for _ in range(data.draw(st.integers(1, 5), label="entries")):
            kind = choose(data, "entry", {"redeemable": 5, "any live": 2, "burned": 1, "a duplicate": 1})
            pool = {"redeemable": ready, "burned": self._burned(), "a duplicate": tokens}.get(kind)
            tokens.append(draw_voucher(data, pool or sorted(self.m.live), "entry voucher"))
        caller = self._member(data, "caller", outsider_weight=2)
        after = copy.deepcopy(self.m)
        skipped: list[tuple[int, str]] = []
        expected = None
        if self.m.paused("ledger"):
            expected = Revert("LedgerPaused")
        else:
            for token in tokens:
                refused = self._redeem_in(after, token, now)
                if refused is not None:
                    skipped.append((token, refused.error))
                    OUTCOMES[f"redeem batch entry skipped: {refused.error}"] += 1
        keeper = self.suite.keeper
        tx = expect("redeem batch", expected, Call(keeper, self.key[caller], "redeemBatch", (tokens,)))
        if tx is None:
            return
        events = tx.events(keeper.contract, "RedemptionSkipped")
        on_chain = [(int(e["args"]["tokenId"]), self.selectors.get(bytes(e["args"]["reason"]), "?")) for e in events]
        assert on_chain == skipped, f"skipped on chain {on_chain}, by the model {skipped}"
        self.m = after

    @precondition(lambda self: self.m.live)
    @rule(data=st.data())
    def write_off(self, data: st.DataObject) -> None:
        """The holder of a voucher of an overdue slot gives up the rest of its claim: the
        voucher is paid its due share first (possibly nothing), then burned, and the rest is
        recorded on the slot as written off. Refused for anyone but the holder, before
        maturity, for a slot not overdue or fully funded, a frozen voucher, a holder not
        active, and while the ledger is paused."""
        now = self._now()
        overdue = sorted(
            t
            for t, v in self.m.live.items()
            if (s := self.m.slots[slot_of(t)]).overdue_at and s.funded + s.written_off < s.face
        )
        kind = choose(data, "voucher pick", {"of an overdue slot": 6, "any live": 2, "burned": 1})
        pool = {"of an overdue slot": overdue, "burned": self._burned()}.get(kind) or sorted(self.m.live)
        token = draw_voucher(data, pool, "voucher")
        v = self.m.live.get(token)
        holder = self._signer(v) if v is not None else self._member(data, "holder")
        caller = self._owner_or_other(data, holder, "caller")
        after = copy.deepcopy(self.m)
        if self.m.paused("ledger"):
            expected: Revert | None = Revert("SystemPaused")
        elif v is None or caller != v.owner:
            expected = Revert("NotHolder", {"tokenId": token, "account": caller})
        else:
            expected = self._redeem_in(after, token, now, write_off=True)
        tx = expect("write off", expected, Call(self.suite.voucher, self.key[caller], "writeOff", (token,)))
        if tx is None:
            return
        assert v is not None
        s, was = after.slots[slot_of(token)], self.m.slots[slot_of(token)]
        (event,) = tx.events(self.suite.voucher.contract, "VoucherWrittenOff")
        written_off, paid = s.written_off - was.written_off, s.redeemed - was.redeemed
        assert (event["args"]["writtenOff"], event["args"]["paid"]) == (written_off, paid), (
            f"VoucherWrittenOff {dict(event['args'])}, model wrote off {written_off} after paying {paid}"
        )
        self.m = after

    def _operators_act_on(self, data: st.DataObject, token: int) -> tuple[LocalAccount, Revert | None]:
        """An operator's act on a voucher (freeze, unfreeze, court order), now and then tried by a
        supplier: the caller, and the refusal every such act shares (not an operator, no voucher)."""
        by_operator = choose(data, "caller", {"operator": 8, "a supplier": 1}) == "operator"
        caller = self.cast.operator if by_operator else self.suppliers[0]
        if not by_operator:
            return caller, Revert("NotOperator", {"account": caller.address})
        if token not in self.m.live:
            return caller, Revert("UnknownVoucher", {"tokenId": token})
        return caller, None

    def _court_order_refusal(self, token: int, v: Any, to: str) -> Revert | None:
        """What the ledger refuses a court order of a live voucher for, in its order of checks."""
        if not v.frozen and self.m.active(v.owner):
            return Revert("HolderInGoodStanding", {"tokenId": token, "holder": v.owner})
        if self.m.paused("ledger"):
            return Revert("SystemPaused")
        if not self.m.active(to):
            return Revert("NotActiveMember", {"account": to})
        if self.m.roles[to] & VOUCHER_HOLDER_ROLES == 0:
            return Revert("CannotHoldVouchers", {"account": to, "roles": self.m.roles[to]})
        return None

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
        caller, expected = self._operators_act_on(data, token)
        v = self.m.live.get(token)
        if expected is None and v.frozen == freeze:
            expected = Revert("VoucherFrozen" if freeze else "VoucherNotFrozen", {"tokenId": token})
        reason = keccak(text=f"court order {self._next()}")
        call = Call(self.suite.voucher, caller, "freeze", (token, reason)) if freeze else (
            Call(self.suite.voucher, caller, "unfreeze", (token,))
        )
        if expect("freeze" if freeze else "unfreeze", expected, call) is not None:
            assert v is not None
            v.frozen = freeze

    @precondition(lambda self: any(self.m.active(a.address) for a in self.members))
    @rule(data=st.data())
    def suspend_or_remove(self, data: st.DataObject) -> None:
        """The operator suspends a member (a supplier, a bank, or a debtor: its slots are then
        under watch), or removes it for good (its vouchers wait for a court order)."""
        remove = choose(data, "act", {"suspend": 4, "remove": 1}) == "remove"
        account = self._account(data, MemberStatus.ACTIVE)
        status = self.m.status_of(account)
        allowed = (MemberStatus.ACTIVE, MemberStatus.SUSPENDED) if remove else (MemberStatus.ACTIVE,)
        expected = (
            None if status in allowed else Revert("UnexpectedStatus", {"account": account, "actual": int(status)})
        )
        reason = keccak(text=f"supervision {self._next()}")
        call = Call(self.suite.registry, self.cast.operator, "remove" if remove else "suspend", (account, reason))
        if expect("remove" if remove else "suspend", expected, call) is not None:
            self.m.status[account] = MemberStatus.REMOVED if remove else MemberStatus.SUSPENDED

    @precondition(lambda self: MemberStatus.SUSPENDED in self.m.status.values())
    @rule(data=st.data())
    def reinstate(self, data: st.DataObject) -> None:
        """The operator reinstates a suspended member (threshold 1: at once)."""
        account = self._account(data, MemberStatus.SUSPENDED)
        status = self.m.status_of(account)
        expected = (
            None
            if status == MemberStatus.SUSPENDED
            else Revert("UnexpectedStatus", {"account": account, "actual": int(status)})
        )
        call = Call(self.suite.registry, self.cast.operator, "reinstate", (account,))
        if expect("reinstate", expected, call) is not None:
            self.m.status[account] = MemberStatus.ACTIVE

    @precondition(lambda self: self.m.live)
    @rule(data=st.data())
    def force_transfer(self, data: st.DataObject) -> None:
        """A court order (threshold 1: one operator) moves a frozen voucher, or one whose holder
        is not active, whole to an active member that may hold vouchers, at any time. A pledged
        voucher taken out of the CreditDesk's custody ends its pledge: what it received there is
        passed on (pledgee first)."""
        held = sorted(self.m.live)
        fitting = [t for t in held if self.m.live[t].frozen or not self.m.active(self.m.live[t].owner)]
        burned = sorted(set(self.m.parents) - set(self.m.live))
        pick = choose(data, "voucher pick", {"fitting": 6, "any live": 2, "burned": 1})
        if pick == "fitting" and not fitting:
            # The court's first step: the operator freezes the disputed voucher.
            disputed = draw_voucher(data, held, "voucher frozen first")
            call = Call(self.suite.voucher, self.cast.operator, "freeze", (disputed, keccak(text="dispute")))
            expect("freeze", None, call)
            self.m.live[disputed].frozen = True
            fitting = [disputed]
        token = draw_voucher(data, {"fitting": fitting, "burned": burned}.get(pick) or held, "voucher")
        to = self._member(data, "to", outsider_weight=1, auditor_weight=1)
        caller, expected = self._operators_act_on(data, token)
        v = self.m.live.get(token)
        expected = expected or self._court_order_refusal(token, v, to)
        after = copy.deepcopy(self.m)
        if expected is None:
            after.move(after.live[token], to)  # a frozen voucher stays frozen
            if v.owner == self.credit:
                expected = self._custody_ended_in(after, token)
        reason = keccak(text=f"court order {self._next()}")
        tx = expect("force transfer", expected, Call(self.suite.voucher, caller, "forceTransfer", (token, to, reason)))
        if tx is None:
            return
        assert v is not None
        (event,) = tx.events(self.suite.voucher.contract, "VoucherForceTransferred")
        assert (event["args"]["from"], event["args"]["to"]) == (v.owner, to)
        self.m = after

    def _pause_or_resume(self, contract: str, caller: LocalAccount, *, pause: bool) -> None:
        client = self.suite.voucher if contract == "ledger" else self.suite.token
        expected = None
        if not self.suite.registry.is_operator(caller.address):
            expected = Revert("NotOperator", {"account": caller.address})
        elif self.m.paused(contract) == pause:
            expected = Revert("AlreadyInState", {"paused": pause})
        what = f"{'pause' if pause else 'resume'} {contract}"
        tx = expect(what, expected, Call(client, caller, "pause" if pause else "unpause", ()))
        if tx is None:
            return
        at = self._mined_at(tx)
        if pause:
            self.m.pauses[contract].append([at, None])
        else:
            self.m.pauses[contract][-1][1] = at

    @rule(data=st.data())
    def pause_or_resume(self, data: st.DataObject) -> None:
        """An operator pauses the ledger or the settlement token, or resumes it (the overdue
        clock stops for every second either is paused)."""
        contract = choose(data, "contract", {"ledger": 1, "token": 1})
        pause = not self.m.paused(contract)
        if choose(data, "act", {"the sensible one": 8, "the other": 1}) == "the other":
            pause = not pause
        by_operator = choose(data, "caller", {"operator": 8, "a supplier": 1}) == "operator"
        self._pause_or_resume(contract, self.cast.operator if by_operator else self.suppliers[0], pause=pause)

    def _overdue_error(self, s: SlotModel, now: int) -> Revert | None:
        """ReceivableVoucher.markOverdue, in its order of checks."""
        if self.m.paused("ledger"):
            return Revert("SystemPaused")
        if self.m.paused("token"):
            return Revert("SettlementPaused")
        if s.status != SlotStatus.ACCEPTED:
            return Revert("UnexpectedSlotStatus", {"slot": s.slot, "status": int(s.status)})
        if s.overdue_at:
            return Revert("AlreadyOverdue", {"slot": s.slot, "overdueAt": s.overdue_at})
        overdue_from = self.m.overdue_from(s, now, self.grace)
        if not self._reached(overdue_from + 1, now):
            return Revert("GracePeriodNotOver", {"slot": s.slot, "overdueFrom": overdue_from})
        if s.funded >= s.face:
            return Revert("SlotFullyFunded", {"slot": s.slot})
        return None

    @precondition(
        lambda self: any(s.status == SlotStatus.ACCEPTED and s.funded < s.face for s in self.m.slots.values())
    )
    @rule(data=st.data())
    def mark_overdue(self, data: st.DataObject) -> None:
        """Anyone reports a slot unfunded after maturity, the grace period and every second paused."""
        now = self._now()
        slot = self._slot(
            data,
            lambda s: (
                s.status == SlotStatus.ACCEPTED
                and s.funded < s.face
                and not (self.m.paused("ledger") or self.m.paused("token"))
                and self._reached(self.m.overdue_from(s, now, self.grace) + 1, now)
            ),
        )
        s = self.m.slots[slot]
        caller = self._member(data, "caller", outsider_weight=2)
        expected = self._overdue_error(s, now)
        tx = expect("mark overdue", expected, Call(self.suite.voucher, self.key[caller], "markOverdue", (slot,)))
        if tx is not None:
            s.overdue_at = self._mined_at(tx)

    def _edge_slots(self) -> list[SlotModel]:
        now = self._now()
        return [
            s
            for s in self.m.slots.values()
            if s.status == SlotStatus.ACCEPTED
            and s.funded < s.face
            and not s.overdue_at
            and self.m.overdue_from(s, now, self.grace) > now + 2
        ]

    @precondition(lambda self: not (self.m.paused("ledger") or self.m.paused("token")) and self._edge_slots())
    @rule(data=st.data())
    def mark_overdue_at_the_very_second(self, data: st.DataObject) -> None:
        """The clock is set to a slot's overdue time (the model's, which must be the chain's):
        a report in that very second is refused, one in the next second records it. The
        clock then moves on half a day, back to the run's whole days."""
        s = data.draw(st.sampled_from(sorted(self._edge_slots(), key=lambda s: s.slot)), label="slot")
        overdue_from = self.m.overdue_from(s, self._now(), self.grace)
        assert self.suite.voucher.overdue_from(s.slot) == overdue_from, "overdueFromOf differs from the model's"
        caller = self._member(data, "caller", outsider_weight=2)
        call = Call(self.suite.voucher, self.key[caller], "markOverdue", (s.slot,))
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [overdue_from])
        too_early = Revert("GracePeriodNotOver", {"slot": s.slot, "overdueFrom": overdue_from})
        expect("mark overdue at the second", too_early, call)
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [overdue_from + 1])
        tx = expect("mark overdue a second later", None, call)
        s.overdue_at = self._mined_at(tx)
        assert s.overdue_at == overdue_from + 1
        increase_time(self.w3, DAY // 2)

    @rule(data=st.data())
    def stray_deposit(self, data: st.DataObject) -> None:
        """A member sends settlement cash to the ledger or the desk by mistake."""
        where = choose(data, "to", {"the ledger": 3, "the desk": 1})
        to = self.suite.voucher.address if where == "the ledger" else self.suite.desk.address
        sender = self._pick(data, self.cores + self.banks, "sender").address
        amount = data.draw(st.integers(1, MAX_STRAY), label="amount")
        expected = self._cash_error(sender, to, amount)
        call = Call(self.suite.token, self.key[sender], "transfer", (to, amount))
        if expect("stray deposit", expected, call) is not None:
            self.m.cash[sender] -= amount
            if where == "the ledger":
                self.m.excess += amount
            else:
                self.m.desk_excess += amount

    @rule(data=st.data())
    def return_excess(self, data: st.DataObject) -> None:
        """Governance returns stray cash from the ledger or the desk: never a cent more than the
        excess, so never anything the ledger owes its holders."""
        ledger = choose(data, "from", {"the ledger": 3, "the desk": 1}) == "the ledger"
        client = self.suite.voucher if ledger else self.suite.desk
        excess = self.m.excess if ledger else self.m.desk_excess
        kind = choose(data, "amount", {"part": 3, "all": 2, "a cent more": 2, "zero": 1})
        amount = {"all": excess, "a cent more": excess + 1, "zero": 0}.get(kind)
        if amount is None:
            amount = data.draw(st.integers(1, max(1, excess)), label="amount")
        to = self._member(data, "to")
        caller = self.cast.governance
        if choose(data, "caller", {"governance": 8, "the operator": 1}) == "the operator":
            caller = self.cast.operator
        expected = None
        if caller != self.cast.governance:
            expected = Revert("NotGovernance", {"account": caller.address})
        elif amount == 0:
            expected = Revert("ZeroAmount")
        elif amount > excess:
            expected = Revert("ExceedsExcess", {"excess": excess, "amount": amount})
        else:
            expected = self._cash_error(client.address, to, amount)
        call = Call(client, caller, "returnExcessSettlement", (to, amount))
        if expect("return excess from " + ("ledger" if ledger else "desk"), expected, call) is not None:
            self.m.cash[to] += amount
            if ledger:
                self.m.excess -= amount
            else:
                self.m.desk_excess -= amount

    # ------------------------------------------------------ the CreditDesk: insurance

    def _deadline(self, now: int, days: int) -> int:
        """Half a day past the run's whole day ``days`` from today (off the clock's whole days)."""
        return self.base + (self._day(now) + days) * DAY + DAY // 2

    def _approve_cash(self, payer: str, amount: int) -> None:
        """The payer lets the CreditDesk pull ``amount`` (an allowance is not what the model checks)."""
        if amount <= MAX_UINT256:
            self.suite.token.approve(self.key[payer], self.credit, amount)

    def _policy_state(self, slot: int) -> CoverState:
        p = self.m.policies.get(slot)
        return p.state if p else CoverState.NONE

    def _desk_pays(self, ledger: Ledger, to: str, amount: int) -> Revert | None:
        """CreditDesk._pay in ``ledger``: ``to`` is paid now, or, while it may not hold settlement
        tokens (suspended, removed), the desk keeps the amount for it (heldFor) so that it
        blocks nobody else's payment; while the token is paused nothing moves."""
        if amount == 0:
            return None
        if ledger.paused("token"):
            return Revert("SettlementPaused")
        if ledger.active(to):
            ledger.cash[self.credit] -= amount
            ledger.cash[to] += amount
        else:
            ledger.held[to] = ledger.held.get(to, 0) + amount
            OUTCOMES["credit desk: payment held"] += 1
        return None

    def _offer_cover_in(
        self, ledger: Ledger, insurer: str, s: SlotModel, cover: int, premium: int, order: Recovery, deadline: int
    ) -> Revert | None:
        """CreditDesk.offerCover in ``ledger``, in its order of checks: an offer past its deadline
        and never bought gives way (its escrow goes back to its insurer), then the insurer
        escrows the new cover."""
        now = self._now()
        if not (ledger.active(insurer) and ledger.roles.get(insurer, 0) & Role.INSURER):
            return Revert("NotInsurer", {"account": insurer})
        if s.status != SlotStatus.ACCEPTED or self._reached(s.maturity, now):
            return Revert("SlotNotCoverable", {"slot": s.slot})
        old = ledger.policies.get(s.slot)
        if old is not None and old.state == CoverState.OFFERED and self._reached(old.deadline + 1, now):
            old.state = CoverState.CLOSED
            refused = self._desk_pays(ledger, old.insurer, old.cover)
            if refused:
                return refused
            OUTCOMES["offer cover: an expired offer gave way"] += 1
        elif old is not None and old.state not in (CoverState.NONE, CoverState.CLOSED):
            return Revert("SlotAlreadyCovered", {"slot": s.slot})
        if cover == 0:
            return Revert("ZeroAmount")
        if cover > s.face:
            return Revert("CoverAboveFace", {"cover": cover, "faceValue": s.face})
        if self._reached(deadline + 1, now):
            return Revert("OfferExpired", {"deadline": deadline})
        if premium > MAX_UINT64:
            return Revert("AmountTooLarge", {"value": premium, "max": MAX_UINT64})
        refused = self._cash_error(insurer, self.credit, cover)
        if refused:
            return refused
        ledger.policies[s.slot] = PolicyModel(insurer, deadline, CoverState.OFFERED, order, cover, premium)
        ledger.cash[insurer] -= cover
        ledger.cash[self.credit] += cover
        return None

    def _offer_cover(
        self, insurer: str, s: SlotModel, cover: int, premium: int, order: Recovery, deadline: int
    ) -> None:
        after = copy.deepcopy(self.m)
        expected = self._offer_cover_in(after, insurer, after.slots[s.slot], cover, premium, order, deadline)
        self._approve_cash(insurer, cover)
        call = Call(self.suite.credit, self.key[insurer], "offerCover", (s.slot, cover, premium, int(order), deadline))
        if expect("offer cover", expected, call) is not None:
            self.m = after

    def _buy_cover(self, buyer: str, s: SlotModel, token: int, terms: tuple[str, int, int, Recovery]) -> None:
        """CreditDesk.buyCover by the debtor or the holder of ``token`` (a voucher of the slot), on
        the terms (insurer, cover, premium, order) it read: the premium goes to the insurer and
        the cover is in force."""
        now = self._now()
        p = self.m.policies.get(s.slot)
        v = self.m.live.get(token)
        expected = None
        if not (self.m.active(buyer) and self.m.roles.get(buyer, 0)):
            expected = Revert("NotActiveMember", {"account": buyer})
        elif p is None or p.state != CoverState.OFFERED:
            expected = Revert("UnexpectedCoverState", {"slot": s.slot, "state": int(self._policy_state(s.slot))})
        elif terms != (p.insurer, p.cover, p.premium, p.order):
            expected = Revert("TermsChanged", {"slot": s.slot})
        elif self._reached(p.deadline + 1, now):
            expected = Revert("OfferExpired", {"deadline": p.deadline})
        elif self._reached(s.maturity, now):
            expected = Revert("SlotNotCoverable", {"slot": s.slot})
        elif buyer != s.debtor and not (v is not None and v.owner == buyer and slot_of(token) == s.slot):
            expected = Revert("NotDebtorOrHolder", {"slot": s.slot, "account": buyer})
        elif p.premium:
            expected = self._cash_error(buyer, p.insurer, p.premium)
        self._approve_cash(buyer, p.premium if p else 0)
        insurer, cover, premium, order = terms
        args = (s.slot, token, insurer, cover, premium, int(order))
        call = Call(self.suite.credit, self.key[buyer], "buyCover", args)
        if expect("buy cover", expected, call) is None:
            return
        assert p is not None
        p.state, p.buyer = CoverState.ACTIVE, buyer
        self.m.cash[buyer] -= p.premium
        self.m.cash[p.insurer] += p.premium

    @precondition(lambda self: self.m.slots)
    @rule(data=st.data())
    def credit_insurance(self, data: st.DataObject) -> None:
        """An insurer offers cover on a slot (escrowing it at the CreditDesk; an earlier offer
        past its deadline and never bought gives way), the debtor or a holder buys it for the
        premium on the terms it read, or the insurer withdraws an offer nobody bought or cover on
        a slot funded in full. Each with its refusals (not an insurer, a slot not coverable or
        already covered, an expired offer, changed terms, a buyer neither debtor nor holder, or
        not active, cover in force, not the policy's insurer ...)."""
        now = self._now()
        offered = any(p.state == CoverState.OFFERED for p in self.m.policies.values())
        act = choose(data, "act", {"offer cover": 3, "buy cover": 4 if offered else 1, "withdraw cover": 1})
        if act == "offer cover":
            slot = self._slot(
                data,
                lambda s: s.status == SlotStatus.ACCEPTED
                and s.maturity > now + DAY
                and self._policy_state(s.slot) in (CoverState.NONE, CoverState.CLOSED),
            )
            s = self.m.slots[slot]
            insurer = self._pick(data, self.insurers, "insurer").address
            if choose(data, "offered by", {"an insurer": 8, "a bank": 1}) == "a bank":
                insurer = self._pick(data, self.banks, "insurer").address
            kind = choose(data, "cover", {"part": 4, "all": 2, "zero": 1, "above face": 1})
            cover = {"all": s.face, "zero": 0, "above face": s.face + 1}.get(kind)
            if cover is None:
                cover = data.draw(st.integers(1, max(1, s.face - 1)), label="cover")
            premium = data.draw(st.integers(0, cover // 20), label="premium")
            if choose(data, "premium kind", {"a fair one": 12, "absurd": 1}) == "absurd":
                premium = MAX_UINT64 + 1
            order = data.draw(st.sampled_from(list(Recovery)), label="recovery order")
            days = choose(data, "offer open", {"for days": 6, "expired": 1})
            deadline = self._deadline(now, -1 if days == "expired" else data.draw(st.integers(0, 20), label="days"))
            self._offer_cover(insurer, s, cover, premium, order, deadline)
        elif act == "buy cover":
            slot = self._slot(data, lambda s: self._policy_state(s.slot) == CoverState.OFFERED)
            s, p = self.m.slots[slot], self.m.policies.get(slot)
            own = sorted(t for t, v in self.m.live.items() if slot_of(t) == slot and v.owner in self.key)
            others = sorted(t for t, v in self.m.live.items() if slot_of(t) != slot and v.owner in self.key)
            kinds = {"the debtor": 3, "a holder": 3, "someone else": 1, "another slot's holder": 1}
            kind = choose(data, "buyer", kinds)
            buyer, token = s.debtor, 0
            if kind == "a holder" and own:
                token = draw_voucher(data, own, "holder's voucher")
                buyer = self.m.live[token].owner
            elif kind == "another slot's holder" and others:
                token = draw_voucher(data, others, "holder's voucher")
                buyer = self.m.live[token].owner
            elif kind == "someone else":
                buyer = self._member(data, "buyer", outsider_weight=2)
            terms = (p.insurer, p.cover, p.premium, p.order) if p else (self.insurers[0].address, 1, 0, Recovery(0))
            if choose(data, "terms", {"as offered": 8, "stale": 1}) == "stale":
                terms = (terms[0], terms[1], terms[2] + 1, terms[3])
            self._buy_cover(buyer, s, token, terms)
        else:
            slot = self._slot(data, lambda s: self._policy_state(s.slot) in (CoverState.OFFERED, CoverState.ACTIVE))
            s, p = self.m.slots[slot], self.m.policies.get(slot)
            caller = p.insurer if p else self.insurers[0].address
            if choose(data, "withdrawn by", {"the insurer": 8, "someone else": 1}) != "the insurer":
                caller = self._member(data, "caller", outsider_weight=1)
            expected = None
            if p is None or caller != p.insurer:
                expected = Revert("NotPolicyInsurer", {"slot": slot, "account": caller})
            elif p.state == CoverState.ACTIVE:
                expected = Revert("CoverInForce", {"slot": slot}) if s.unfunded else None
            elif p.state != CoverState.OFFERED:
                expected = Revert("UnexpectedCoverState", {"slot": slot, "state": int(p.state)})
            if expected is None:
                assert p is not None
                expected = self._cash_error(self.credit, p.insurer, p.cover)
            if expect("withdraw cover", expected, Call(self.suite.credit, self.key[caller], "withdrawCover", (slot,))):
                assert p is not None
                p.state = CoverState.CLOSED
                self.m.cash[self.credit] -= p.cover
                self.m.cash[p.insurer] += p.cover

    @precondition(lambda self: any(p.state == CoverState.ACTIVE for p in self.m.policies.values()))
    @rule(data=st.data())
    def insurance_claim(self, data: st.DataObject) -> None:
        """Anyone claims on a covered slot marked overdue: the escrow pays the slot's unfunded
        part up to the cover, once, the rest returns to the insurer, and from then on the slot is
        funded only through the desk (refused before the slot is overdue, once it is fully
        funded, or a second time)."""
        slot = self._slot(data, lambda s: self._policy_state(s.slot) == CoverState.ACTIVE and bool(s.overdue_at))
        caller = self._member(data, "caller", outsider_weight=2)
        after = copy.deepcopy(self.m)
        s, p = after.slots[slot], after.policies.get(slot)
        paid = 0
        expected = None
        if p is None or p.state != CoverState.ACTIVE:
            expected = Revert("UnexpectedCoverState", {"slot": slot, "state": int(self._policy_state(slot))})
        elif not s.overdue_at:
            expected = Revert("ClaimNotDue", {"slot": slot})
        elif s.unfunded == 0:
            expected = Revert("NothingToClaim", {"slot": slot})
        else:
            paid = min(p.cover, s.unfunded)
            expected = self._fund_error(s, self.credit, paid)
            if expected is None:
                p.state, p.claim_paid = CoverState.CLAIMED, paid
                s.flags |= SLOT_ROUTED
                s.funded += paid
                after.owed += paid
                after.cash[self.credit] -= paid
                expected = self._desk_pays(after, p.insurer, p.cover - paid)
        tx = expect("claim", expected, Call(self.suite.credit, self.key[caller], "claim", (slot,)))
        if tx is None:
            return
        assert p is not None
        (event,) = tx.events(self.suite.credit.contract, "ClaimPaid")
        assert (event["args"]["paid"], event["args"]["refunded"]) == (paid, p.cover - paid), dict(event["args"])
        self.m = after

    @precondition(lambda self: self.m.slots)
    @rule(data=st.data())
    def pay_through_the_desk(self, data: st.DataObject) -> None:
        """The debtor or a guarantor pays toward a slot through the CreditDesk: all of it funds
        the slot, or after a claim it is split between the slot and the insurer in the
        policy's order (holders first: the slot up to its unfunded part, then the insurer;
        insurer first: what the debtor owes the insurer, then the slot)."""
        claimed = [slot for slot in self.m.slots if self._policy_state(slot) == CoverState.CLAIMED]
        if claimed and choose(data, "slot pick", {"after a claim": 3, "any": 1}) == "after a claim":
            slot = data.draw(st.sampled_from(sorted(claimed)), label="slot")
        else:
            slot = self._slot(data, owing)
        payer = self.m.slots[slot].debtor
        if choose(data, "paid by", {"the debtor": 6, "a guarantor": 3}) != "the debtor":
            others = [a for a in (*self.members, self.auditor, self.outsider) if a.address != payer]
            payer = self._pick(data, others, "guarantor").address
        after = copy.deepcopy(self.m)
        s, p = after.slots[slot], after.policies.get(slot)
        after_claim = p is not None and p.state == CoverState.CLAIMED
        owed_insurer = p.insurer_owed if p is not None else 0
        amount = self._value(data, s.unfunded + owed_insurer, "amount")
        to_insurer = 0
        expected = None
        if payer != s.debtor and not (self.m.active(payer) and self.m.roles.get(payer, 0)):
            expected = Revert("NotActiveMember", {"account": payer})
        elif amount == 0:
            expected = Revert("ZeroAmount")
        elif after_claim and amount > s.unfunded + owed_insurer:
            expected = Revert("OverPayment", {"slot": slot, "payable_": s.unfunded + owed_insurer, "amount": amount})
        else:
            if after_claim:
                assert p is not None
                if p.order == Recovery.INSURER_FIRST:
                    to_insurer = min(amount, owed_insurer)
                else:
                    to_insurer = max(0, amount - s.unfunded)
            to_slot = amount - to_insurer
            expected = self._cash_error(payer, self.credit, amount) or (
                self._fund_error(s, self.credit, to_slot, balance_known=False) if to_slot else None
            )
            if expected is None:
                after.cash[payer] -= amount
                after.cash[self.credit] += amount - to_slot
                s.funded += to_slot
                after.owed += to_slot
                if to_insurer:
                    assert p is not None
                    p.recovered += to_insurer
                    expected = self._desk_pays(after, p.insurer, to_insurer)
        self._approve_cash(payer, amount)
        tx = expect("pay through the desk", expected, Call(self.suite.credit, self.key[payer], "pay", (slot, amount)))
        if tx is None:
            return
        (event,) = tx.events(self.suite.credit.contract, "PaidThroughDesk")
        args = event["args"]
        assert (args["toSlot"], args["toInsurer"], args["insurerOwed"]) == (
            amount - to_insurer,
            to_insurer,
            p.insurer_owed if p else 0,
        ), f"PaidThroughDesk {dict(args)}, model {amount - to_insurer} to the slot, {to_insurer} to the insurer"
        self.m = after

    # --------------------------------------------------------- the CreditDesk: pledges

    def _pledge(self, caller: str, token: int, value: int, pledgee: str, secured: int, due: int, approve: bool) -> None:
        """CreditDesk.pledge, in its order of checks, then the ledger's move into custody: the
        whole voucher (ERC-721 transfer by the desk, approved for it) or a part split off (the
        desk spending a value allowance)."""
        now = self._now()
        v, s = self.m.live[token], self.m.slots[slot_of(token)]
        whole = value == v.value
        if approve and caller == v.owner:
            if whole:
                call = Call(self.suite.voucher, self.key[caller], "approve(address,uint256)", (self.credit, token))
                expect("approve voucher", None, call)
                v.approved = self.credit
            else:
                args = (token, self.credit, value)
                expect("grant value allowance", None, Call(self.suite.voucher, self.key[caller], APPROVE_VALUE, args))
                v.allowances[self.credit] = (caller, min(value, UNLIMITED))
        expected = None
        if token in self.m.pledges:
            expected = Revert("AlreadyPledged", {"tokenId": token})
        elif caller != v.owner:
            expected = Revert("NotHolder", {"tokenId": token, "account": caller})
        elif v.frozen:
            expected = Revert("VoucherFrozen", {"tokenId": token})
        elif value == 0 or secured == 0:
            expected = Revert("ZeroAmount")
        elif value > v.value:
            expected = Revert("ValueAboveVoucher", {"value": value, "voucherValue": v.value})
        elif secured > value:
            expected = Revert("SecuredAboveValue", {"secured": secured, "value": value})
        elif pledgee == caller:
            expected = Revert("SelfPledge", {"account": caller})
        elif pledgee == self.credit or not (self.m.active(pledgee) and self.m.roles.get(pledgee, 0) & Role.FINANCIER):
            expected = Revert("NotFinancier", {"account": pledgee})
        elif self._reached(due, now) or due >= s.maturity:
            expected = Revert("DueDateOutOfRange", {"dueDate": due, "maturity": s.maturity})
        elif whole:
            expected = self._authorize_whole_error(token, caller, self.credit) or self._update_error(
                Change.MOVE, token, self.credit, 0, now
            )
        else:
            expected = self._spend_error(token, self.credit, value) or self._update_error(
                Change.SPLIT, token, self.credit, value, now
            )
        call = Call(self.suite.credit, self.key[caller], "pledge", (token, value, pledgee, secured, due))
        tx = expect("pledge", expected, call)
        if tx is None:
            return
        if whole:
            self.m.move(v, self.credit)
            pledged = token
        else:
            self._spend(v, self.credit, value)
            v.value -= value
            pledged = self.m.mint(s, self.credit, value, token)
            assert self._minted(tx, token) == [pledged]
        (event,) = tx.events(self.suite.credit.contract, "VoucherPledged")
        assert int(event["args"]["tokenId"]) == pledged
        self.m.pledges[pledged] = PledgeModel(caller, pledgee, due, value, secured)
        self.ever_pledged.add(pledged)

    def _pass_on(self, ledger: Ledger, p: PledgeModel, fresh: int) -> Revert | None:
        """What a pledged voucher received goes to the pledgee first, up to what the pledge
        still secures, the rest to the pledgor."""
        to_pledgee = min(fresh, p.secured - p.pledgee_paid)
        p.pledgee_paid += to_pledgee
        paid_to = "both" if to_pledgee and fresh - to_pledgee else "the pledgee" if to_pledgee else "the pledgor"
        OUTCOMES[f"pledge payout: to {paid_to}"] += 1
        return self._desk_pays(ledger, p.pledgee, to_pledgee) or self._desk_pays(ledger, p.pledgor, fresh - to_pledgee)

    def _distribute_in(self, ledger: Ledger, token: int) -> Revert | None:
        """CreditDesk._distribute in ``ledger``: what the pledged voucher received since the last
        time (its nominal less its value while in custody; all of it once redeemed whole) is
        passed on; a voucher redeemed whole ends its pledge."""
        p = ledger.pledges.get(token)
        if p is None:
            return Revert("NotPledged", {"tokenId": token})
        v = ledger.live.get(token)
        assert v is None or v.owner == self.credit, "a court order out of custody ends the pledge"
        received = p.nominal if v is None else p.nominal - v.value
        fresh = received - p.distributed
        if fresh == 0:
            return Revert("NothingToDistribute", {"tokenId": token})
        p.distributed = received
        if v is None:
            del ledger.pledges[token]
        return self._pass_on(ledger, p, fresh)

    def _custody_ended_in(self, ledger: Ledger, token: int) -> Revert | None:
        """CreditDesk.custodyEnded, which the ledger calls after a court order took ``token`` out
        of the desk's custody: what it received there is passed on and the pledge is over."""
        p = ledger.pledges.pop(token, None)
        if p is None:
            return None
        fresh = p.nominal - ledger.live[token].value - p.distributed
        OUTCOMES["force transfer: a pledge ended"] += 1
        return self._pass_on(ledger, p, fresh) if fresh else None

    def _give_back_in(self, ledger: Ledger, token: int, p: PledgeModel, now: int) -> bool:
        """CreditDesk._giveBack: the voucher returns to its pledgor and the pledge ends, or, if
        the ledger refuses the move, it stays in custody, released, for the pledgor to reclaim."""
        if self._update_error(Change.MOVE, token, p.pledgor, 0, now) is not None:
            OUTCOMES["pledge: kept in custody for the pledgor"] += 1
            return False
        del ledger.pledges[token]
        ledger.move(ledger.live[token], p.pledgor)
        return True

    @precondition(lambda self: self.m.live)
    @rule(data=st.data())
    def pledge(self, data: st.DataObject) -> None:
        """A holder pledges a voucher (or a part split off it) to a bank through the CreditDesk,
        which keeps it in custody as collateral for a loan due before maturity. Refused for a
        voucher already pledged, by anyone but its holder, for a frozen voucher, nothing, more
        than the voucher or a secured amount above the value, to oneself or to anyone but an
        active bank, a due date out of range, or when the ledger refuses the move into custody."""
        now = self._now()
        token = self._live_token(data, now)
        v, s = self.m.live[token], self.m.slots[slot_of(token)]
        caller = self._owner_or_other(data, self._signer(v), "pledgor")
        value = self._value(data, v.value, "value pledged")
        kind = choose(data, "secured", {"part": 4, "all": 2, "more": 1, "zero": 1})
        secured = {"all": value, "more": value + 1, "zero": 0}.get(kind)
        if secured is None:
            secured = data.draw(st.integers(1, max(1, value - 1)), label="secured")
        kind = choose(data, "pledgee", {"a bank": 8, "the pledgor": 1, "a supplier": 1, "the credit desk": 1})
        pledgee = {"the pledgor": caller, "the credit desk": self.credit}.get(kind)
        if pledgee is None:
            pledgee = self._pick(data, self.banks if kind == "a bank" else self.suppliers, "pledgee").address
        days_left = (s.maturity - now) // DAY
        kind = choose(data, "loan due", {"before maturity": 8, "in the past": 1, "at maturity": 1})
        if kind == "before maturity" and days_left >= 1:
            due = self._deadline(now, data.draw(st.integers(0, days_left - 1), label="due in days"))
        else:
            due = s.maturity if kind == "at maturity" else self._deadline(now, -1)
        approve = choose(data, "the pledgor", {"approves the desk": 8, "forgets to": 1}) == "approves the desk"
        self._pledge(caller, token, value, pledgee, secured, due, approve)

    @precondition(lambda self: self.m.pledges)
    @rule(data=st.data())
    def pledge_payouts(self, data: st.DataObject) -> None:
        """Anyone collects a pledged voucher's payout at the ledger (its whole value, or its
        pro-rata share of an overdue slot) or distributes what it received since: to the pledgee
        first, up to the secured amount, then to the pledgor; the bank releases the pledge
        (before maturity the voucher returns) or enforces it between the loan's due date and
        maturity (the secured part becomes the bank's voucher, the rest returns); a voucher the
        ledger would not return to its pledgor then stays in custody, released, until the
        pledgor reclaims it. Each with its refusals."""
        now = self._now()
        enforceable = sorted(t for t in self.m.pledges if self._enforceable(t, now))
        weights = {"collect": 4, "enforce": 4 if enforceable else 1, "release": 2, "distribute": 1, "reclaim": 1}
        act = choose(data, "act", weights)
        if act == "enforce" and enforceable and choose(data, "voucher pick", {"due": 3, "any": 1}) == "due":
            token = draw_voucher(data, enforceable, "pledged voucher")
        elif choose(data, "voucher pick", {"pledged": 8, "any": 1}) == "pledged":
            token = draw_voucher(data, sorted(self.m.pledges), "pledged voucher")
        else:
            token = draw_voucher(data, sorted(set(self.m.parents)), "voucher")
        p = self.m.pledges.get(token)
        after = copy.deepcopy(self.m)
        if act in ("collect", "distribute"):
            caller = self._member(data, "caller", outsider_weight=2)
            if act == "distribute":
                expected = self._distribute_in(after, token)
            elif p is None:
                expected = Revert("NotPledged", {"tokenId": token})
            elif self.m.paused("ledger"):
                expected = Revert("SystemPaused")
            else:
                expected = self._redeem_in(after, token, now) or self._distribute_in(after, token)
            function = act
        elif act == "reclaim":
            caller = p.pledgor if p else self._member(data, "caller")
            if choose(data, "caller", {"the pledgor": 8, "someone else": 1}) != "the pledgor":
                caller = self._member(data, "caller", outsider_weight=1)
            if p is None:
                expected = Revert("NotPledged", {"tokenId": token})
            elif caller != p.pledgor or p.secured != p.pledgee_paid:
                expected = Revert("NotReclaimable", {"tokenId": token, "caller": caller})
            else:
                expected = self._update_error(Change.MOVE, token, caller, 0, now)
                if expected is None:
                    del after.pledges[token]
                    after.move(after.live[token], caller)
            function = "reclaim"
        else:
            caller = p.pledgee if p else self._pick(data, self.banks, "caller").address
            if choose(data, "caller", {"the pledgee": 8, "someone else": 1}) != "the pledgee":
                caller = self._member(data, "caller", outsider_weight=1)
            if p is None:
                expected = Revert("NotPledged", {"tokenId": token})
            elif caller != p.pledgee:
                expected = Revert("NotHolder", {"tokenId": token, "account": caller})
            elif p.secured == p.pledgee_paid:
                expected = Revert("NothingSecured", {"tokenId": token})
            elif act == "release":
                expected = self._release_in(after, token, now)
            else:
                expected = self._enforce_in(after, token, now)
            function = {"release": "releasePledge", "enforce": "enforcePledge"}[act]
        if expect(f"{act} pledge" if act in ("release", "enforce") else act, expected, Call(
            self.suite.credit, self.key[caller], function, (token,)
        )) is not None:
            self.m = after

    def _enforceable(self, token: int, now: int) -> bool:
        """A pledge still securing something whose loan is due, before its slot's maturity."""
        p, s = self.m.pledges[token], self.m.slots[slot_of(token)]
        return p.secured > p.pledgee_paid and p.due_date < now < s.maturity

    def _loans_falling_due(self) -> list[PledgeModel]:
        now = self._now()
        return [p for p in self.m.pledges.values() if p.secured > p.pledgee_paid and p.due_date > now]

    @precondition(lambda self: self._loans_falling_due())
    @rule(data=st.data())
    def time_runs_past_a_loan_due_date(self, data: st.DataObject) -> None:
        """The calendar moves on to the first whole day past a pledge's loan due date (so that
        its pledgee may enforce it, or the slot matures first)."""
        due = data.draw(st.sampled_from(sorted({p.due_date for p in self._loans_falling_due()})), label="due date")
        self._time_passes(data, ceil_div(due - self._now(), DAY))

    def _release_in(self, ledger: Ledger, token: int, now: int) -> Revert | None:
        """CreditDesk.releasePledge (checked up to NothingSecured): the pledgee gives up what it
        has not received; before maturity the voucher goes back to the pledgor."""
        p = ledger.pledges[token]
        p.secured = p.pledgee_paid
        if not self._reached(ledger.slots[slot_of(token)].maturity, now):
            self._give_back_in(ledger, token, p, now)
        return None

    def _enforce_in(self, ledger: Ledger, token: int, now: int) -> Revert | None:
        """CreditDesk.enforcePledge (checked up to NothingSecured): between the due date and
        maturity the pledgee takes the secured part as a voucher of its own; the rest goes back
        to the pledgor, or stays in custody, released, while the ledger refuses that move."""
        p, s = ledger.pledges[token], ledger.slots[slot_of(token)]
        if not self._reached(p.due_date, now):
            return Revert("PledgeNotDue", {"tokenId": token, "dueDate": p.due_date})
        if self._reached(s.maturity, now):
            return Revert("EnforcementClosed", {"tokenId": token, "maturity": s.maturity})
        v = ledger.live[token]
        if p.secured == p.nominal:
            refused = self._update_error(Change.MOVE, token, p.pledgee, 0, now)
            if refused is None:
                del ledger.pledges[token]
                ledger.move(v, p.pledgee)
            return refused
        refused = self._update_error(Change.SPLIT, token, p.pledgee, p.secured, now)
        if refused is not None:
            return refused
        v.value -= p.secured
        ledger.mint(s, p.pledgee, p.secured, token)
        p.nominal, p.secured = p.nominal - p.secured, 0
        self._give_back_in(ledger, token, p, now)
        return None

    @precondition(lambda self: any(self.m.held.values()))
    @rule(data=st.data())
    def held_payments(self, data: st.DataObject) -> None:
        """A member the CreditDesk could not pay (it was suspended or removed then) withdraws what
        the desk kept for it, or an operator sends what is kept for a member that may not hold
        cash to another member (a successor). Refused when nothing is kept, while the member
        still may not hold cash (withdraw) or already may (redirect), and for anyone but an
        operator."""
        accounts = sorted(a for a, amount in self.m.held.items() if amount)
        account = data.draw(st.sampled_from(accounts), label="account")
        amount = self.m.held[account]
        if choose(data, "act", {"withdraw": 2, "redirect": 1}) == "withdraw":
            caller = account
            if choose(data, "withdrawn by", {"the account": 6, "someone else": 1}) != "the account":
                caller = self._member(data, "caller", outsider_weight=1)
            held = self.m.held.get(caller, 0)
            expected = Revert("NothingHeld", {"account": caller})
            if held:
                expected = self._cash_error(self.credit, caller, held)
            if expect("withdraw held cash", expected, Call(self.suite.credit, self.key[caller], "withdraw", ())):
                self.m.held[caller] = 0
                self.m.cash[self.credit] -= held
                self.m.cash[caller] += held
            return
        operator = self.cast.operator if choose(data, "by", {"an operator": 8, "a bank": 1}) != "a bank" else (
            self.banks[0]
        )
        to = self._member(data, "to", outsider_weight=1)
        expected = None
        if operator != self.cast.operator:
            expected = Revert("NotOperator", {"account": operator.address})
        elif self.m.active(account):
            expected = Revert("AccountInGoodStanding", {"account": account})
        else:
            expected = self._cash_error(self.credit, to, amount)
        reason = keccak(text=f"successor {self._next()}")
        call = Call(self.suite.credit, operator, "redirectHeld", (account, to, reason))
        if expect("redirect held cash", expected, call) is not None:
            self.m.held[account] = 0
            self.m.cash[self.credit] -= amount
            self.m.cash[to] += amount

    # -------------------------------------------------------------- invariants

    def _chain(self) -> ChainView:
        """The ledger as the chain holds it now, read in one round trip and shared by the
        invariants of a step (every change of state mines a block, so the block number keys it)."""
        block = self.w3.eth.get_block("latest")
        if self._view is not None and self._view.block == block["number"]:
            return self._view
        suite, read = self.suite, BatchReader(self.conn)
        slot_count = read.add(suite.voucher, "slotCount")
        slots = {slot: read.add(suite.voucher, "slotInfo", slot) for slot in self.m.slots}
        overdue = {slot: read.add(suite.voucher, "overdueFromOf", slot) for slot in self.m.slots}
        vouchers = {
            token_id(slot, serial): read.add(suite.voucher, "tokenInfo", token_id(slot, serial))
            for slot, s in self.m.slots.items()
            for serial in range(1, s.last_serial + 1)
        }
        parents = {token: read.add(suite.voucher, "parentOf", token) for token in self.m.live}
        paid_out = {token: read.add(suite.voucher, "paidOutOf", token) for token in self.m.live}
        allowances = {
            (token, spender): read.add(suite.voucher, "allowance", token, spender)
            for token, v in self.m.live.items()
            for spender in v.allowances
        }
        holders = {v.owner for v in self.m.live.values()}
        members = {holder: read.add(suite.registry, "memberOf", holder) for holder in holders}
        accounts = [*self.m.cash, *self.cast_accounts, *self.system]
        balances = {account: read.add(suite.token, "balanceOf", account) for account in accounts}
        supply = read.add(suite.token, "totalSupply")
        owed = read.add(suite.voucher, "settlementOwed")
        excess = read.add(suite.voucher, "excessSettlement")
        outstanding = {core.address: read.add(suite.voucher, "outstandingOf", core.address) for core in self.cores}
        records = {record: read.add(suite.trade, "recordOf", record) for record in self.m.invoices}
        policies = {slot: read.add(suite.credit, "policyOf", slot) for slot in self.m.slots}
        insurer_owed = {slot: read.add(suite.credit, "insurerOwed", slot) for slot in self.m.slots}
        pledges = {token: read.add(suite.credit, "pledgeOf", token) for token in self.ever_pledged}
        held = {account: read.add(suite.credit, "heldFor", account) for account in self.m.cash}
        got = read.run()
        self._view = ChainView(
            block=block["number"],
            timestamp=block["timestamp"],
            slot_count=got[slot_count],
            slots={slot: SlotInfo(slot, *got[i][:2], SlotStatus(got[i][2]), *got[i][3:]) for slot, i in slots.items()},
            overdue_from={slot: got[i] for slot, i in overdue.items()},
            vouchers={token: (to_checksum_address(got[i][0]), *got[i][1:]) for token, i in vouchers.items()},
            parent_of={token: got[i] for token, i in parents.items()},
            paid_out={token: got[i] for token, i in paid_out.items()},
            allowances={key: got[i] for key, i in allowances.items()},
            holders={holder: (MemberStatus(got[i][0]), got[i][1]) for holder, i in members.items()},
            balances={account: got[i] for account, i in balances.items()},
            supply=got[supply],
            owed=got[owed],
            excess=got[excess],
            outstanding={core: got[i] for core, i in outstanding.items()},
            records={record: (got[i][6], got[i][3]) for record, i in records.items()},  # (amount, reserved)
            policies={slot: got[i] for slot, i in policies.items()},
            insurer_owed={slot: got[i] for slot, i in insurer_owed.items()},
            pledges={token: got[i] for token, i in pledges.items()},
            held={account: got[i] for account, i in held.items()},
        )
        return self._view

    @invariant()
    def every_slot_keeps_its_face_value(self) -> None:
        chain = self._chain()
        assert chain.slot_count == self.first_slot - 1 + len(self.m.slots)
        for slot, s in self.m.slots.items():
            info = chain.slots[slot]
            flags = info.flags & (SLOT_WRITTEN_OFF | SLOT_ROUTED)  # the flags the model keeps
            on_chain = (info.status, info.funded, info.redeemed, info.written_off, info.written_off_paid, flags)
            assert on_chain == (s.status, s.funded, s.redeemed, s.written_off, s.written_off_paid, s.flags), (
                f"slot {slot}: chain {info}, model {s}"
            )
            assert (info.last_serial, info.overdue_at, info.issued_at) == (s.last_serial, s.overdue_at, s.issued_at), (
                f"slot {slot}: chain {info}, model {s}"
            )
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
                assert live_value + info.redeemed + info.written_off == info.face_value, (
                    f"slot {slot} lost or gained value"
                )

    @invariant()
    def settlement_cash_is_conserved_and_what_is_owed_stays(self) -> None:
        chain, voucher, desk = self._chain(), self.suite.voucher.address, self.suite.desk.address
        # The operator only mints (opening cash); no voucher action creates or burns a cent.
        assert chain.supply == self.supply_at_start + self.minted, "settlement tokens were created or destroyed"
        assert chain.supply == sum(chain.balances.values()), "someone outside the ledger holds settlement tokens"
        assert {a: chain.balances[a] for a in self.m.cash} == self.m.cash, "members' cash differs from the model"
        assert {a: chain.balances[a] for a in self.cast_accounts} == self.cast_cash
        assert chain.balances[desk] == self.m.desk_excess, "the desk keeps only stray cash"
        assert chain.balances[self.suite.keeper.address] == 0, "the payout keeper holds no cash"
        funded_not_paid = sum(s.funded - s.redeemed for s in self.m.slots.values())
        on_chain = sum(info.funded - info.redeemed for info in chain.slots.values())
        assert chain.owed - self.owed_at_start == self.m.owed == funded_not_paid == on_chain, "settlementOwed()"
        assert chain.balances[voucher] >= chain.owed, "the ledger holds less than it owes"
        assert chain.balances[voucher] == chain.owed + self.m.excess and chain.excess == self.m.excess

    @invariant()
    def vouchers_are_held_by_members_and_trace_back_to_their_root(self) -> None:
        chain = self._chain()
        for holder, (status, roles) in chain.holders.items():
            assert status in (MemberStatus.ACTIVE, MemberStatus.SUSPENDED, MemberStatus.REMOVED), (
                f"{self._who(holder)} holds a voucher while {status.name}"
            )
            assert roles & VOUCHER_HOLDER_ROLES, f"{self._who(holder)} holds a voucher with roles {roles}"
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
    def outstanding_debt_is_face_value_not_yet_paid_in(self) -> None:
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

    @invariant()
    def the_overdue_clock_stops_while_paused(self) -> None:
        chain = self._chain()
        for slot, s in self.m.slots.items():
            expected = self.m.overdue_from(s, chain.timestamp, self.grace)
            assert chain.overdue_from[slot] == expected, f"overdueFromOf({slot}): chain {chain.overdue_from[slot]}"

    @invariant()
    def the_credit_desk_holds_escrow_and_undistributed_payouts_only(self) -> None:
        chain = self._chain()
        for slot in self.m.slots:
            p = self.m.policies.get(slot)
            expected = (
                (p.insurer, p.deadline, p.state, p.order, p.buyer, p.cover, p.premium, p.claim_paid, p.recovered)
                if p
                else (ZERO_ADDRESS, 0, CoverState.NONE, 0, ZERO_ADDRESS, 0, 0, 0, 0)
            )
            got = chain.policies[slot]
            assert (to_checksum_address(got[0]), *got[1:4], to_checksum_address(got[4]), *got[5:]) == expected, (
                f"policyOf({slot}): chain {got}, model {p}"
            )
            assert chain.insurer_owed[slot] == (p.insurer_owed if p else 0), f"insurerOwed({slot})"
        for token in self.ever_pledged:
            r = self.m.pledges.get(token)
            expected = (
                (r.pledgor, r.due_date, r.pledgee, r.nominal, r.secured, r.pledgee_paid, r.distributed)
                if r
                else (ZERO_ADDRESS, 0, ZERO_ADDRESS, 0, 0, 0, 0)
            )
            got = chain.pledges[token]
            assert (to_checksum_address(got[0]), got[1], to_checksum_address(got[2]), *got[3:]) == expected, (
                f"pledgeOf({voucher_label(token)}): chain {got}, model {r}"
            )
        held = {a: amount for a, amount in chain.held.items() if amount}
        assert held == {a: amount for a, amount in self.m.held.items() if amount}, f"heldFor: chain {held}"
        escrow = sum(p.escrow for p in self.m.policies.values())
        in_passing = sum(
            (r.nominal - self.m.live[t].value if t in self.m.live else r.nominal) - r.distributed
            for t, r in self.m.pledges.items()
        )
        assert chain.balances[self.credit] == self.m.cash[self.credit] == escrow + in_passing + sum(held.values()), (
            f"the credit desk holds {chain.balances[self.credit]}: escrow {escrow}, payouts to pass on {in_passing}, "
            f"kept for members {held}"
        )

    @invariant()
    def every_voucher_knows_what_it_was_paid(self) -> None:
        chain = self._chain()
        for token, paid_out in chain.paid_out.items():
            assert paid_out == self.m.live[token].paid_out, (
                f"paidOutOf({voucher_label(token)}) = {paid_out}, model {self.m.live[token].paid_out}"
            )

    @invariant()
    def allowances_lapse_with_their_grantors_authority(self) -> None:
        chain = self._chain()
        for (token, spender), allowed in chain.allowances.items():
            v = self.m.live[token]
            assert allowed == self.m.allowance(v, spender), (
                f"allowance({voucher_label(token)}, {self._who(spender)}) = {allowed}, model {v.allowances[spender]}"
            )


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
    leaves tier1's root voucher empty (value 0) but alive. Funding A in full releases its
    credit line; redeeming tier2's voucher settles A; burning the empty root afterwards must
    neither settle A a second time nor release anything more: the hospital still owes slot
    B's 5,000.00 and its credit line must say so."""
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
    assert voucher.outstanding_of(hospital.address) == face_b  # A's line is released by the payment
    travel(31 * DAY)

    voucher.redeem(tier2, paid_to_tier2)
    assert voucher.slot(slot_a).status == SlotStatus.SETTLED
    assert voucher.outstanding_of(hospital.address) == face_b

    voucher.redeem(tier1, root_a)  # the empty voucher is burned ...
    assert voucher.slot(slot_a).redeemed == face_a
    assert voucher.outstanding_of(hospital.address) == face_b  # ... and the hospital still owes B
