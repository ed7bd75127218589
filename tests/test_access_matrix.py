"""Who may call what: every state-changing function of the suite, called by every actor.

The functions come from the compiled ABIs, by full signature (overloads are separate rows).
For each one a setup builds the state in which the call succeeds for a permitted caller; then
every actor makes the same call with the same arguments on a snapshot of the chain, reverted
afterwards. Observed must equal the reviewed expectation in ``SPEC``, cell by cell, and every
refusal must be a permission rule about the caller: any other revert means the row's setup is
wrong and its cells prove nothing. The matrix is printed and kept in docs/permissions.md,
generated from here (``REGENERATE``), never written by hand.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_utils import is_checksum_address, keccak
from eth_utils.abi import abi_to_signature
from hexbytes import HexBytes

from scf.chain import ContractRevert
from scf.chain.devnet import increase_time, revert, set_balance, snapshot
from scf.chain.sending import calldata, raise_if_failed
from scf.contracts import SUITE, DocType, Recovery, Role
from scf.typed_data import DiscountOffer
from tests.support import CNY, DAY, ETHER, GRACE, OPERATOR_ROLE, REFUSAL_GAS, ROOT, funded, sign_permit

FACE = 10_000 * CNY  # every voucher a row issues
CASH = 1_000 * CNY  # given to every actor that may hold settlement tokens
AMOUNT = 100 * CNY  # what every call moves, approves, mints or reserves
KYC = keccak(text="kyc evidence of the new firm")
REASON = keccak(text="reason: access matrix")
ACTION = keccak(text="an action of the caller's, approved by the operator")
OFFER_NONCE = 7
PREMIUM = 10 * CNY  # what the insurer's cover costs
# Every cell is a mined transaction with a fixed gas limit (REFUSAL_GAS): a refusal is a
# failed transaction on chain, decoded by replaying it on the state it met. No gas estimate
# decides a cell (an estimate made in one second can fall short in the next: `unpause` writes a
# new pause-clock checkpoint when mined in a later second than the pause, a cheaper in-place
# write otherwise).

DOC = ROOT / "docs" / "permissions.md"  # compared with; written only where the caller names
REGENERATE = "make permissions"  # SCF_WRITE_PERMISSIONS=docs/permissions.md ape test tests/test_access_matrix.py

# ------------------------------------------------------------------------------- actors

GOVERNANCE = "governance"
OPERATOR = "operator"
CORE = "core enterprise"
SUPPLIER = "supplier"
FINANCIER = "financier"
AUDITOR = "auditor"
INSURER = "insurer"
AGENT = "agent"
LEDGER = "ledger"
DESK = "discount desk"
CREDIT_DESK = "credit desk"
OUTSIDER = "non-member"
SUSPENDED = "suspended"
REMOVED = "removed"
ACTORS = (
    GOVERNANCE,
    OPERATOR,
    CORE,
    SUPPLIER,
    FINANCIER,
    AUDITOR,
    INSURER,
    AGENT,
    LEDGER,
    DESK,
    CREDIT_DESK,
    OUTSIDER,
    SUSPENDED,
    REMOVED,
)
EVERYONE = frozenset(ACTORS)

WHO = {
    GOVERNANCE: "holds the registry's DEFAULT_ADMIN_ROLE: appoints operators, sets the ledger's parameters; "
    "not a member",
    OPERATOR: "holds OPERATOR_ROLE: runs the consortium and is the settlement bank; not a member",
    CORE: "the hospital, an active core enterprise: the debtor of the slot under test, the counterparty asked "
    "to confirm a document",
    SUPPLIER: "tier 1, an active supplier: the creditor and holder of the voucher under test, the owner of the "
    "cash, the registrant of a document",
    FINANCIER: "the bank, an active financier: it signed the discount offer, bought with recourse, is the pledgee",
    AUDITOR: "the regulator, an active member with the auditor role only",
    INSURER: "a credit insurer, an active member with the insurer role only (admitted by an operator like the "
    "others): it offered the cover on the slot under test",
    AGENT: "tier 3, an active supplier that the supplier approved for all its vouchers (`setApprovalForAll`) "
    "and for 1,000.00 of its cash (ERC-20 allowance)",
    LEDGER: "the ReceivableVoucher contract: a system account of the registry and the trade registry's "
    "authorised ledger (it has no key: anvil sends its calls unsigned)",
    DESK: "the DiscountDesk contract, the ledger's discount desk (sent unsigned, likewise)",
    CREDIT_DESK: "the CreditDesk contract, the ledger's credit desk and, as deployed, an active member with the "
    "financier role (sent unsigned, likewise)",
    OUTSIDER: "an address that never applied",
    SUSPENDED: "the row's party (last column), suspended by an operator just before the call",
    REMOVED: "the row's party (last column), removed by an operator just before the call",
}

CONVENTIONS = """\
- Where a permission belongs to a party of the call, the column of that role is the party
  itself: the supplier is the creditor and holder of the voucher under test, the owner of the
  cash, the registrant of a document, the seller of a voucher bought with recourse and the
  pledgor; the core enterprise is the debtor of the slot and the counterparty asked to confirm;
  the financier signed the discount offer, bought with recourse and is the pledgee; the
  insurer offered the cover.
- Arguments that name another member (a recipient, a counterparty, the target of an operator's
  action) name tier 2, an active supplier that is no column, so that no call fails because its
  caller named itself.
- The suspended and removed columns are the row's party (last column), suspended or removed
  just before the call: a member who would otherwise be allowed. Rows reserved to governance
  or the operators, who are not members and cannot be suspended, use the supplier.
- The registry's approval threshold is 1, so one operator's call takes effect, unless a
  row's note says otherwise.
- Calls on the caller's own things (paying out its cash, approving for its own vouchers,
  cancelling its own offer nonce) act on each caller's own: every actor that may hold cash
  was given 1,000.00. Where every payer pays from its own cash (`fund`, `pay`, `payRecourse`),
  each allowed the contract that pulls it first; the suite's contracts approve unsigned, as
  they call."""

# Reverts that refuse a caller for who it is (with its address, when the error names one).
PERMISSION_ERRORS = frozenset(
    {
        "AccessControlBadConfirmation",
        "AccessControlUnauthorizedAccount",
        "CashBlocked",  # collectRecourse: the seller (the caller here) may not move cash now
        "ERC20InsufficientAllowance",
        "InsufficientAllowance",
        "NotActiveMember",
        "NotAuthorisedLedger",
        "NotAuthorized",
        "NoRecourse",  # putBack: only the financier that bought the voucher with recourse
        "NotCoreEnterprise",
        "NotCounterparty",
        "NotCreditDesk",
        "NotCreditor",
        "NotDebtor",
        "NotDebtorOrHolder",  # buyCover: the slot's debtor or a holder of one of its vouchers
        "NotDiscountDesk",
        "NotGovernance",
        "NotHolder",
        "NothingHeld",  # withdraw: the credit desk keeps nothing for the caller
        "NotInsurer",
        "NotLedger",  # custodyEnded: only the ledger, after a court order took a pledged voucher
        "NotOfferSeller",  # discount: only the seller the offer names submits it
        "NotOperator",
        "NotPermittedHolder",
        "NotPermittedSpender",
        "NotPolicyInsurer",
        "NotReclaimable",  # reclaim: only the pledgor of a voucher whose pledge secures nothing more
        "NotSuiteContract",
        "NotTradingParty",
        "UnexpectedStatus",  # applyForMembership: the caller is already a member
    }
)

# Arguments of a permission error that name whom the rule lets through, not whom it refuses:
# they are left out of "names no address but the caller's". NotOfferSeller(seller, caller)
# names the offer's seller beside the refused caller; `caller` must still be the caller.
REFERENCE_ARGUMENTS = {"NotOfferSeller": frozenset({"seller"})}
# Not permission rules, and met by no cell: DebtorNotActive(slot, debtor) is the watch on a slot
# whose debtor is suspended or removed, and CannotHoldVouchers(account, roles) refuses an
# auditor-only receiver. Both are about a party of the call, not its caller: no row's caller is
# the debtor of a voucher it moves, and no row names an auditor as receiver.


# -------------------------------------------------------------------------------- stage


@dataclass(frozen=True)
class Cell:
    """One actor's call: allowed, or refused with a custom error."""

    allowed: bool
    error: str = ""
    about_the_caller: bool = True  # a permission rule, naming no address but the caller's
    detail: str = ""  # the refusal in words, with its numbers and addresses

    @classmethod
    def refused(cls, refusal: ContractRevert, caller: str) -> Cell:
        reference = REFERENCE_ARGUMENTS.get(refusal.error, frozenset())
        named = {v for k, v in refusal.args_by_name.items() if k not in reference and is_checksum_address(v)}
        about_the_caller = refusal.error in PERMISSION_ERRORS and named <= {caller}
        return cls(False, refusal.error, about_the_caller, str(refusal))

    def __str__(self) -> str:
        return "✓" if self.allowed else f"✗ {self.error}"


class Stage:
    """The world every row starts from: the hospital's voucher of 10,000.00 to tier 1, due in
    90 days and accepted; tier 1's agent approved; an insurer admitted; cash for every actor
    that may hold it. Its methods build what a row needs on top and return what the call takes."""

    def __init__(self, suite, cast, w3) -> None:
        self.suite, self.cast, self.w3, self.conn = suite, cast, w3, suite.conn
        self.keys = {
            GOVERNANCE: cast.governance,
            OPERATOR: cast.operator,
            CORE: cast.hospital,
            SUPPLIER: cast.tier1,
            FINANCIER: cast.bank,
            AUDITOR: cast.auditor,
            INSURER: funded(w3, "matrix insurer"),
            AGENT: cast.tier3,
            OUTSIDER: cast.outsider,
        }
        self.insurer = self.keys[INSURER]
        self.contracts = {LEDGER: suite.voucher.address, DESK: suite.desk.address, CREDIT_DESK: suite.credit.address}
        self.clients = {
            c.NAME: c
            for c in (suite.registry, suite.token, suite.trade, suite.voucher, suite.desk, suite.keeper, suite.credit)
        }
        self.bystander = cast.tier2.address
        self.newcomer = funded(w3, "matrix newcomer")
        self.applicant = funded(w3, "matrix applicant")
        self._documents = itertools.count(1)

        suite.registry.admit(cast.operator, self.insurer.address, "Mutual Credit Insurance", Role.INSURER, KYC)
        self.slot, self.voucher = self.accepted()
        self.record = suite.voucher.slot(self.slot).trade_record_id
        suite.voucher.send(cast.tier1, "setApprovalForAll", cast.tier3.address, True)
        suite.token.approve(cast.tier1, cast.tier3.address, CASH)
        for holder in (cast.tier1, cast.auditor, cast.tier3, self.insurer):
            suite.token.mint(cast.operator, holder.address, CASH)
        for address in self.contracts.values():
            suite.token.mint(cast.operator, address, CASH)
        for address in self.contracts.values():
            set_balance(w3, address, ETHER)

    # -------------------------------------------------------------- what rows build

    def now(self) -> int:
        return self.conn.block_timestamp()

    def document_hash(self) -> bytes:
        return keccak(text=f"access matrix document {next(self._documents)}")

    def invoice(self, creditor=None, *, confirmed: bool = True) -> int:
        """An invoice of FACE from ``creditor`` (tier 1) to the hospital; its record id."""
        creditor = creditor or self.cast.tier1
        record, _ = self.suite.trade.register(
            creditor, DocType.INVOICE, self.document_hash(), self.cast.hospital.address, FACE
        )
        if confirmed:
            self.suite.trade.confirm(self.cast.hospital, record)
        return record

    def issued(self, days: int = 90) -> int:
        """The hospital's issuance of FACE to tier 1, not yet accepted; its slot."""
        slot, _ = self.suite.voucher.issue(
            self.cast.hospital, self.cast.tier1.address, FACE, self.now() + days * DAY, self.invoice()
        )
        return slot

    def accepted(self, days: int = 90) -> tuple[int, int]:
        slot = self.issued(days)
        root, _ = self.suite.voucher.accept(self.cast.tier1, slot)
        return slot, root

    def redeemable(self) -> int:
        """Tier 1's voucher of a slot funded in full, one day after its maturity."""
        slot, root = self.accepted(days=1)
        self.suite.token.approve(self.cast.hospital, self.suite.voucher.address, FACE)
        self.suite.voucher.fund(self.cast.hospital, slot, FACE)
        increase_time(self.w3, DAY)
        return root

    def overdue(self) -> int:
        """A slot left unfunded past maturity and the grace period (a slot is overdue strictly
        after maturity + grace: one second more)."""
        slot, _ = self.accepted(days=1)
        increase_time(self.w3, DAY + GRACE + 1)
        return slot

    def bystanders_voucher(self) -> int:
        """Part of the voucher under test, split-transferred to tier 2 (to merge into)."""
        token, _ = self.suite.voucher.split_transfer(self.cast.tier1, self.voucher, self.bystander, AMOUNT)
        return token

    def pending_applicant(self) -> str:
        self.suite.registry.apply(self.applicant, "Fresh Fasteners Ltd", Role.SUPPLIER, KYC)
        return self.applicant.address

    def suspended_bystander(self) -> str:
        self.suite.registry.suspend(self.cast.operator, self.bystander, REASON)
        return self.bystander

    def second_operator(self) -> str:
        """Governance appoints a second operator, so one may leave with the threshold intact."""
        self.suite.registry.send(self.cast.governance, "grantRole", OPERATOR_ROLE, self.newcomer.address)
        return self.newcomer.address

    def approval_threshold_two(self) -> None:
        """A second operator and a threshold of 2: an operator's approval is counted, not final."""
        self.second_operator()
        self.suite.registry.send(self.cast.governance, "setApprovalThreshold", 2)

    def application_within_a_lowered_threshold(self) -> str:
        """A pending application with one approval of 2, then governance lowers the threshold
        to 1: the round has what it needs and waits for an operator to complete it."""
        self.approval_threshold_two()
        applicant = self.pending_applicant()
        self.suite.registry.approve(self.cast.operator, applicant)
        self.suite.registry.send(self.cast.governance, "setApprovalThreshold", 1)
        return applicant

    def sent_by_mistake(self, contract: str) -> tuple[str, int]:
        """The supplier sends AMOUNT of its cash to a contract of the suite, which owes it to
        nobody (on top of the 1,000.00 the stage minted to it): governance returns AMOUNT to tier 2."""
        self.suite.token.transfer(self.cast.tier1, self.contracts[contract], AMOUNT)
        return self.bystander, AMOUNT

    def paused(self, client) -> tuple[()]:
        client.send(self.cast.operator, "pause")
        return ()

    def permit(self, owner, spender: str) -> tuple[str, str, int, int, int, bytes, bytes]:
        """``owner``'s EIP-2612 permit of AMOUNT to ``spender``, as ``permit`` takes it."""
        token = self.suite.token
        deadline = self.now() + DAY
        nonce = token.call("nonces", owner.address)
        v, r, s = sign_permit(owner, token, spender, AMOUNT, nonce, deadline, self.conn.chain_id)
        return owner.address, spender, AMOUNT, deadline, v, r, s

    def signed_offer(self) -> tuple[tuple, bytes]:
        """The bank's offer to the supplier (its seller) for AMOUNT of the voucher under test,
        its line at the desk open."""
        self.suite.token.approve(self.cast.bank, self.suite.desk.address, AMOUNT)
        offer = DiscountOffer(
            self.voucher, AMOUNT, 500, self.now() + DAY, 1, self.cast.bank.address, self.cast.tier1.address
        )
        return offer.as_tuple(), self.suite.desk.sign(self.cast.bank.key, offer)

    def pay_unfunded(self, slot: int, amount: int) -> None:
        self.suite.token.approve(self.cast.hospital, self.suite.voucher.address, amount)
        self.suite.voucher.fund(self.cast.hospital, slot, amount)

    def marked_overdue(self) -> tuple[int, int]:
        """A slot the hospital paid AMOUNT of and no more, marked overdue (by tier 2); tier 1
        holds its root voucher: (slot, root)."""
        slot, root = self.accepted(days=1)
        self.pay_unfunded(slot, AMOUNT)
        increase_time(self.w3, DAY + GRACE + 1)
        self.suite.voucher.mark_overdue(self.cast.tier2, slot)
        return slot, root

    def bought_with_recourse(self) -> int:
        """The bank bought AMOUNT of tier 1's voucher of a 2-day slot with recourse; the slot,
        unfunded, is now marked overdue. The bank's voucher."""
        slot, root = self.accepted(days=2)
        self.suite.token.approve(self.cast.bank, self.suite.desk.address, AMOUNT)
        offer = DiscountOffer(
            root, AMOUNT, 500, self.now() + DAY, 1, self.cast.bank.address, self.cast.tier1.address, recourse=True
        )
        token, _, _ = self.suite.desk.discount(self.cast.tier1, offer, self.suite.desk.sign(self.cast.bank.key, offer))
        increase_time(self.w3, 2 * DAY + GRACE + 1)
        self.suite.voucher.mark_overdue(self.cast.tier2, slot)
        return token

    def put_back_owing(self) -> int:
        """A voucher the bank bought with recourse and put back to tier 1, which allowed the
        desk nothing: its whole debt is on record. The voucher."""
        token = self.bought_with_recourse()
        self.suite.desk.put_back(self.cast.bank, token)
        return token

    def unsigned_approve(self, owner: str, spender: str, amount: int) -> None:
        """A contract of the suite approves ``spender`` for its own cash (sent unsigned)."""
        self.send_unsigned(owner, self.suite.token.fn("approve", spender, amount), "SettlementToken")

    def everyone_with_cash_approves(self, spender: str, amount: int, *, debtor: bool = True) -> None:
        """Every actor that holds cash (the debtor too, unless ``debtor`` is False) allows
        ``spender`` ``amount`` of it: the members with their keys, the suite's contracts unsigned."""
        members = [self.cast.tier1, self.cast.bank, self.cast.auditor, self.insurer, self.cast.tier3]
        for member in [self.cast.hospital] * debtor + members:
            self.suite.token.approve(member, spender, amount)
        for address in self.contracts.values():
            self.unsigned_approve(address, spender, amount)

    def pledge_terms(self, due_in: int = 30 * DAY) -> tuple[int, int, str, int, int]:
        """Tier 1 allows the credit desk AMOUNT of the voucher under test: the arguments of its
        pledge of that part to the bank, securing half of it, due in ``due_in``."""
        self.suite.voucher.approve_value(self.cast.tier1, self.voucher, self.suite.credit.address, AMOUNT)
        return self.voucher, AMOUNT, self.cast.bank.address, AMOUNT // 2, self.now() + due_in

    def pledged(self, due_in: int = 30 * DAY) -> int:
        """The pledge of ``pledge_terms``, made: the voucher in the credit desk's custody."""
        token, _ = self.suite.credit.pledge(self.cast.tier1, *self.pledge_terms(due_in))
        return token

    def pledged_and_redeemable(self) -> int:
        """Tier 1 pledged AMOUNT of a 2-day voucher to the bank (half secured, due in a day);
        the hospital paid the slot in full and it matured. The voucher in custody."""
        slot, root = self.accepted(days=2)
        self.suite.voucher.approve_value(self.cast.tier1, root, self.suite.credit.address, AMOUNT)
        token, _ = self.suite.credit.pledge(
            self.cast.tier1, root, AMOUNT, self.cast.bank.address, AMOUNT // 2, self.now() + DAY
        )
        self.pay_unfunded(slot, FACE)
        increase_time(self.w3, 2 * DAY)
        return token

    def released_while_suspended(self) -> int:
        """The bank released tier 1's pledge while tier 1 was suspended (so the desk kept the
        voucher); tier 1 was reinstated since. The voucher, still in custody."""
        token = self.pledged()
        self.suite.registry.suspend(self.cast.operator, self.cast.tier1.address, REASON)
        self.suite.credit.release_pledge(self.cast.bank, token)
        self.suite.registry.reinstate(self.cast.operator, self.cast.tier1.address)
        return token

    def held_for_the_pledgor(self) -> tuple[()]:
        """The payout of ``pledged_and_redeemable`` was collected while tier 1, the pledgor, was
        suspended: the credit desk keeps its share for it; tier 1 was reinstated since."""
        token = self.pledged_and_redeemable()
        self.suite.registry.suspend(self.cast.operator, self.cast.tier1.address, REASON)
        self.suite.credit.collect(self.cast.tier2, token)
        self.suite.registry.reinstate(self.cast.operator, self.cast.tier1.address)
        assert self.suite.credit.held_for(self.cast.tier1.address) == AMOUNT // 2
        return ()

    def held_for_a_suspended_pledgor(self) -> tuple[str, str, bytes]:
        """As ``held_for_the_pledgor``, but tier 1 stays suspended: redirectHeld's arguments to
        send its held share to tier 2 under a court's order."""
        token = self.pledged_and_redeemable()
        self.suite.registry.suspend(self.cast.operator, self.cast.tier1.address, REASON)
        self.suite.credit.collect(self.cast.tier2, token)
        assert self.suite.credit.held_for(self.cast.tier1.address) == AMOUNT // 2
        return self.cast.tier1.address, self.cast.tier2.address, REASON

    def cover_offered(self, slot: int | None = None) -> int:
        """The insurer's offer to cover AMOUNT of the slot (the one under test) for PREMIUM,
        escrowed; the hospital and tier 1 allowed the credit desk the premium. The slot."""
        slot = self.slot if slot is None else slot
        self.suite.credit.offer_cover(self.insurer, *self.cover_terms(slot))
        for buyer in (self.cast.hospital, self.cast.tier1):
            self.suite.token.approve(buyer, self.suite.credit.address, PREMIUM)
        return slot

    def cover_on_offer(self) -> tuple[int, int, str, int, int, int]:
        """buyCover's arguments for the cover offered on the slot under test: the slot, tier 1's
        voucher, and the terms on offer (insurer, cover, premium, order)."""
        slot = self.cover_offered()
        p = self.suite.credit.policy_of(slot)
        return slot, self.voucher, p.insurer, p.cover, p.premium, int(p.order)

    def cover_terms(self, slot: int | None = None) -> tuple[int, int, int, int, int]:
        """The insurer allows the credit desk AMOUNT: the arguments of its offer to cover AMOUNT
        of the slot (the one under test) for PREMIUM, holders first, open for 30 days."""
        self.suite.token.approve(self.insurer, self.suite.credit.address, AMOUNT)
        return self.slot if slot is None else slot, AMOUNT, PREMIUM, int(Recovery.HOLDERS_FIRST), self.now() + 30 * DAY

    def claimable(self) -> int:
        """A 1-day slot whose cover the hospital bought, left unfunded and marked overdue."""
        slot, _ = self.accepted(days=1)
        self.cover_offered(slot)
        self.suite.credit.buy_cover(self.cast.hospital, slot, self.suite.credit.policy_of(slot))
        increase_time(self.w3, DAY + GRACE + 1)
        self.suite.voucher.mark_overdue(self.cast.tier2, slot)
        return slot

    # ------------------------------------------------------------------- one call

    def attempt(self, actor: str, party: str, contract: str, signature: str, args: tuple) -> Cell:
        """``actor`` calls; the suspended and removed columns are ``party``, suspended or
        removed first. Only ever inside a snapshot that is reverted afterwards."""
        if actor in (SUSPENDED, REMOVED):
            change = self.suite.registry.suspend if actor == SUSPENDED else self.suite.registry.remove
            change(self.cast.operator, self.keys[party].address, REASON)
            actor = party
        call = self.clients[contract].fn(signature, *args)
        caller = self.contracts[actor] if actor in self.contracts else self.keys[actor].address
        try:
            if actor in self.contracts:
                self.send_unsigned(caller, call, contract)
            else:
                self.conn.transact(self.keys[actor], call, gas=REFUSAL_GAS, origin=contract)
        except ContractRevert as refusal:
            return Cell.refused(refusal, caller)
        return Cell(allowed=True)

    def send_unsigned(self, sender: str, call, origin: str) -> None:
        """A contract of the suite has no key: anvil sends its call unsigned, mined like a
        keyed caller's; a failed one is explained as the package explains any mined failure."""
        tx = {"from": sender, "to": call.address, "data": calldata(call), "gas": REFUSAL_GAS, "value": 0}
        unsigned = tx | {"gas": hex(REFUSAL_GAS)}  # the node takes quantities as hex here
        tx_hash = HexBytes(self.w3.manager.request_blocking("eth_sendUnsignedTransaction", [unsigned]))
        raise_if_failed(self.conn, self.conn.wait(tx_hash), tx, sender, origin)


# --------------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class Row:
    """The actors allowed to call a function, how to build the state in which the call
    succeeds for them (returning its arguments), and whom the suspended and removed columns
    suspend or remove."""

    allowed: frozenset[str]
    setup: Callable[[Stage], tuple]
    party: str = SUPPLIER
    note: str = ""


def only(*actors: str) -> frozenset[str]:
    return frozenset(actors)


def renounce_beside_a_second_operator(s: Stage) -> tuple[bytes, str]:
    s.second_operator()
    return OPERATOR_ROLE, s.cast.operator.address


def whole_transfer(s: Stage) -> tuple[str, str, int]:
    return s.cast.tier1.address, s.bystander, s.voucher


def funding_approved(s: Stage) -> tuple[int, int]:
    """Everyone with cash has approved the ledger for AMOUNT: the debtor and anyone who may pay
    on its behalf."""
    s.everyone_with_cash_approves(s.suite.voucher.address, AMOUNT)
    return s.slot, AMOUNT


def paying_through_the_credit_desk(s: Stage) -> tuple[int, int]:
    """Everyone with cash has approved the credit desk for AMOUNT (the desk itself too, which
    pulls its own cash as any payer's)."""
    s.everyone_with_cash_approves(s.suite.credit.address, AMOUNT)
    return s.slot, AMOUNT


def paying_with_a_permit(s: Stage) -> tuple[int, int, int, int, bytes, bytes]:
    """The debtor's permit to the credit desk for AMOUNT; everyone else with cash approved the
    desk as in ``paying_through_the_credit_desk`` (the permit is not theirs: the desk skips it
    and uses their allowance)."""
    s.everyone_with_cash_approves(s.suite.credit.address, AMOUNT, debtor=False)
    _, _, amount, deadline, v, r, sig_s = s.permit(s.cast.hospital, s.suite.credit.address)
    return s.slot, amount, deadline, v, r, sig_s


def recourse_payment(s: Stage) -> tuple[int, int]:
    """A put-back voucher whose seller owes its whole debt; every actor allowed the discount desk
    1.00, to pay 1.00 of the debt from its own cash (those with no cash too: what refuses them
    is the token's rule on who may hold it, not a missing allowance)."""
    token = s.put_back_owing()
    s.everyone_with_cash_approves(s.suite.desk.address, CNY)
    for penniless in (s.cast.governance, s.cast.operator, s.cast.outsider):
        s.suite.token.approve(penniless, s.suite.desk.address, CNY)
    return token, CNY


def recourse_collectable(s: Stage) -> tuple[int]:
    """A put-back voucher whose seller owes its whole debt and now allows the desk AMOUNT
    (more than it owes): what the desk may take from it."""
    token = s.put_back_owing()
    s.suite.token.approve(s.cast.tier1, s.suite.desk.address, AMOUNT)
    return (token,)


def overdue_root(s: Stage) -> tuple[int]:
    return (s.marked_overdue()[1],)


def redeemed_at_the_ledger(s: Stage) -> tuple[int]:
    """The pledged voucher of ``pledged_and_redeemable``, redeemed at the ledger by tier 2 (a
    keeper): its cash waits in the credit desk to be passed on."""
    token = s.pledged_and_redeemable()
    s.suite.voucher.redeem(s.cast.tier2, token)
    return (token,)


def pledge_due(s: Stage) -> tuple[int]:
    """A pledge whose loan fell due yesterday, the slot not yet matured."""
    token = s.pledged(due_in=DAY)
    increase_time(s.w3, DAY + 1)
    return (token,)


def burnable(s: Stage) -> tuple[str, int]:
    """Cash of tier 2's that it approved the operator to burn (a withdrawal)."""
    s.suite.token.mint(s.cast.operator, s.bystander, AMOUNT)
    s.suite.token.approve(s.cast.tier2, s.cast.operator.address, AMOUNT)
    return s.bystander, AMOUNT


def operators_approval(s: Stage) -> tuple[bytes, str]:
    """The operator's approval of ACTION, under a threshold of 2 so that it is recorded."""
    s.approval_threshold_two()
    return ACTION, s.cast.operator.address


def frozen(s: Stage) -> tuple[int]:
    s.suite.voucher.freeze(s.cast.operator, s.voucher, REASON)
    return (s.voucher,)


HOLDER_OR_AGENT = only(SUPPLIER, AGENT)
CASH_HOLDERS = only(CORE, SUPPLIER, FINANCIER, AUDITOR, INSURER, AGENT, LEDGER, DESK, CREDIT_DESK)
MEMBERS = only(CORE, SUPPLIER, FINANCIER, AUDITOR, INSURER, AGENT, CREDIT_DESK)
NOT_A_MEMBER_YET = only(GOVERNANCE, OPERATOR, LEDGER, DESK, OUTSIDER, REMOVED)
MOVES = "The holder, or the agent it approved for all its vouchers; a suspended or removed holder moves nothing."
AGENT_MOVES = (
    "The holder or its agent; suspended and removed are the agent here: an approval does not outlive "
    "the agent's membership (`_checkSpender`). A suspended or removed holder is refused as in the "
    "`safeTransferFrom` rows."
)
REVIEW_APPROVALS = (
    "REVIEW: a suspended or removed holder may still grant approvals (no status check); "
    "nothing moves while it is not active."
)

SPEC: dict[str, dict[str, Row]] = {
    "ConsortiumRegistry": {
        "admit(address,string,uint8,bytes32,uint256)": Row(
            only(OPERATOR), lambda s: (s.newcomer.address, "Northern Steel Ltd", int(Role.SUPPLIER), KYC, 0)
        ),
        "admitBatch((address,uint8,uint256,bytes32,string)[])": Row(
            only(OPERATOR),
            lambda s: ([(s.newcomer.address, int(Role.SUPPLIER), 0, KYC, "Northern Steel Ltd")],),
            note="Seeding: firms never seen, admitted as `admit` admits one, all or none.",
        ),
        "applyForMembership(string,uint8,bytes32)": Row(
            NOT_A_MEMBER_YET,
            lambda s: ("Northern Steel Ltd", int(Role.SUPPLIER), KYC),
            note="Open to any address that is not a member, pending or suspended: a removed member applies "
            "again. Governance, the operators and the suite's contracts are no members, so they may apply "
            "too (the contracts' code never does).",
        ),
        "approve(address)": Row(only(OPERATOR), lambda s: (s.pending_applicant(),)),
        "approveAction(bytes32,address)": Row(
            frozenset({LEDGER, DESK, CREDIT_DESK}),
            operators_approval,
            note="Only the suite's system accounts (the ledger; the credit desk; the discount desk is one too, "
            "and calls it nowhere): a suite contract calls it naming its own caller, whom it checked to be an "
            "operator (`forceTransfer`, `redirectHeld`). Approvals count in the calling contract's own scope; "
            "before the attacker's review anyone could make the registry record approvals in a real operator's "
            "name in a scope of its own. The `operator` argument is a rule about the argument "
            "(NotOperator(operator)), so every cell passes the operator; with a threshold of 2 here, each "
            "allowed call records one approval.",
        ),
        "completeApplication(address)": Row(
            only(OPERATOR),
            lambda s: (s.application_within_a_lowered_threshold(),),
            note="Any operator activates a pending application whose current approvals reached the threshold "
            "(here one approval, after governance lowered the threshold from 2 to 1).",
        ),
        "grantRole(bytes32,address)": Row(
            only(GOVERNANCE),
            lambda s: (OPERATOR_ROLE, s.newcomer.address),
            note="Governance appoints an operator (OPERATOR_ROLE's admin is DEFAULT_ADMIN_ROLE).",
        ),
        "reinstate(address)": Row(only(OPERATOR), lambda s: (s.suspended_bystander(),)),
        "rejectApplication(address,bytes32)": Row(only(OPERATOR), lambda s: (s.pending_applicant(), REASON)),
        "remove(address,bytes32)": Row(only(OPERATOR), lambda s: (s.bystander, REASON)),
        "renounceRole(bytes32,address)": Row(
            only(OPERATOR),
            renounce_beside_a_second_operator,
            note="The operator renounces its own role while a second operator remains; anyone else naming "
            "the operator is refused.",
        ),
        "revokeRole(bytes32,address)": Row(
            only(GOVERNANCE),
            lambda s: (OPERATOR_ROLE, s.second_operator()),
            note="Governance revokes a second operator's role.",
        ),
        "setApprovalThreshold(uint16)": Row(only(GOVERNANCE), lambda s: (1,)),
        "setCreditLimit(address,uint256)": Row(only(OPERATOR), lambda s: (s.cast.hospital.address, 4_000_000 * CNY)),
        "setRoles(address,uint8)": Row(only(OPERATOR), lambda s: (s.bystander, int(Role.SUPPLIER | Role.FINANCIER))),
        "setSystemAccount(address,bool)": Row(only(GOVERNANCE), lambda s: (s.newcomer.address, True)),
        "suspend(address,bytes32)": Row(only(OPERATOR), lambda s: (s.bystander, REASON)),
    },
    "SettlementToken": {
        "approve(address,uint256)": Row(
            EVERYONE,
            lambda s: (s.bystander, AMOUNT),
            note="Open: an allowance moves nothing, and the token moves no cash from or to anyone not active.",
        ),
        "burn(address,uint256)": Row(
            only(OPERATOR), burnable, note="The operator burns cash that its holder (tier 2) approved it for."
        ),
        "mint(address,uint256)": Row(only(OPERATOR), lambda s: (s.bystander, AMOUNT)),
        "pause()": Row(only(OPERATOR), lambda s: ()),
        "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)": Row(
            EVERYONE,
            lambda s: s.permit(s.cast.tier1, s.bystander),
            note="Open: the owner's signature (the supplier's) is the permission, whoever submits it.",
        ),
        "transfer(address,uint256)": Row(
            CASH_HOLDERS,
            lambda s: (s.bystander, AMOUNT),
            note="Any active member or system contract pays out its own cash. REVIEW: the token checks status, "
            "not roles, so an auditor-only member holding cash (an operator minted it) may pay it out.",
        ),
        "transferFrom(address,address,uint256)": Row(
            only(AGENT),
            lambda s: (s.cast.tier1.address, s.bystander, AMOUNT),
            party=AGENT,
            note="The agent spends the supplier's allowance; suspended or removed, it spends nothing: a "
            "spender must itself be an active member or a system contract.",
        ),
        "unpause()": Row(only(OPERATOR), lambda s: s.paused(s.suite.token)),
    },
    "TradeRegistry": {
        "confirm(uint256)": Row(
            only(CORE),
            lambda s: (s.invoice(confirmed=False),),
            party=CORE,
            note="Only the record's counterparty: the core enterprise confirms the supplier's invoice.",
        ),
        "pause()": Row(only(OPERATOR), lambda s: ()),
        "register(uint8,bytes32,address,uint256,uint256)": Row(
            only(CORE, SUPPLIER, AGENT),
            lambda s: (int(DocType.INVOICE), s.document_hash(), s.bystander, AMOUNT, 0),
            note="Any active core enterprise or supplier (the agent is one) anchors a document with another; "
            "financiers and auditors do not trade.",
        ),
        "reject(uint256)": Row(only(CORE), lambda s: (s.invoice(confirmed=False),), party=CORE),
        "release(uint256,uint256)": Row(only(LEDGER), lambda s: (s.record, AMOUNT)),
        "reserve(uint256,address,address,uint256)": Row(
            only(LEDGER),
            lambda s: (s.invoice(), s.cast.tier1.address, s.cast.hospital.address, AMOUNT),
            note="Only an authorised ledger: the voucher contract, as it issues against an invoice.",
        ),
        "setLedger(address,bool)": Row(
            only(GOVERNANCE),
            lambda s: (s.bystander, True),
            note="Governance, not the operators, authorises a ledger to reserve invoices.",
        ),
        "unpause()": Row(only(OPERATOR), lambda s: s.paused(s.suite.trade)),
    },
    "ReceivableVoucher": {
        "accept(uint256)": Row(only(SUPPLIER), lambda s: (s.issued(),)),
        "approve(address,uint256)": Row(
            only(SUPPLIER, AGENT, SUSPENDED, REMOVED), lambda s: (s.bystander, s.voucher), note=REVIEW_APPROVALS
        ),
        "approve(uint256,address,uint256)": Row(
            only(SUPPLIER, AGENT, SUSPENDED, REMOVED),
            lambda s: (s.voucher, s.bystander, AMOUNT),
            note=REVIEW_APPROVALS,
        ),
        # REVIEW: no status check on the debtor; harmless (it only withdraws an offer nobody
        # accepted and releases the credit line and the invoice), but the lead should confirm.
        "cancel(uint256)": Row(
            only(CORE, SUSPENDED, REMOVED),
            lambda s: (s.issued(),),
            party=CORE,
            note="REVIEW: a suspended or removed debtor still cancels an issuance not yet accepted "
            "(the function checks the debtor, not its status).",
        ),
        "deskTransfer(uint256,address,address,uint256)": Row(
            only(DESK),
            lambda s: (s.voucher, s.cast.tier1.address, s.cast.bank.address, AMOUNT),
            note="Only the discount desk that governance named.",
        ),
        "freeze(uint256,bytes32)": Row(only(OPERATOR), lambda s: (s.voucher, REASON)),
        "fund(uint256,uint256)": Row(
            MEMBERS,
            funding_approved,
            party=CORE,
            note="The debtor, or any active member paying on its behalf (a guarantor; the credit desk is a member). "
            "A suspended or removed debtor is refused by the settlement token: it may not pay. The suite's "
            "system contracts are no members.",
        ),
        "forceTransfer(uint256,address,bytes32)": Row(
            only(OPERATOR),
            lambda s: (*frozen(s), s.bystander, REASON),
            note="Operators only, under the registry's threshold (1 here: the operator's call moves it): the "
            "supplier's voucher, frozen, goes to tier 2 by court order. Governance is no operator.",
        ),
        "issue(address,uint256,uint256,uint256)": Row(
            only(CORE),
            lambda s: (s.bystander, FACE, s.now() + 90 * DAY, s.invoice(s.cast.tier2)),
            party=CORE,
            note="The core enterprise issues to tier 2 against tier 2's confirmed invoice.",
        ),
        "markOverdue(uint256)": Row(
            EVERYONE,
            lambda s: (s.overdue(),),
            note="Open: anyone may report a slot still unfunded after maturity and the grace period.",
        ),
        "pause()": Row(only(OPERATOR), lambda s: ()),
        "redeem(uint256)": Row(
            EVERYONE - {SUSPENDED, REMOVED},
            lambda s: (s.redeemable(),),
            note="Open: anyone triggers redemption and it always pays the holder; a suspended or removed "
            "holder may not receive cash, so its voucher waits.",
        ),
        "recourseTransfer(uint256,address,address)": Row(
            only(DESK),
            lambda s: (s.marked_overdue()[1], s.cast.tier1.address, s.bystander),
            note="Only the discount desk, from `putBack`: a whole voucher of an overdue slot goes back to the "
            "seller (here tier 1's, to tier 2).",
        ),
        "returnExcessSettlement(address,uint256)": Row(
            only(GOVERNANCE),
            lambda s: s.sent_by_mistake(LEDGER),
            note="Governance returns settlement tokens the ledger holds beyond what it owes holders.",
        ),
        "routeFunding(uint256)": Row(
            only(CREDIT_DESK),
            lambda s: (s.slot,),
            note="Only the credit desk, when it pays an insurance claim: from then on the slot is funded through "
            "the desk.",
        ),
        "safeTransferFrom(address,address,uint256)": Row(HOLDER_OR_AGENT, whole_transfer, note=MOVES),
        "safeTransferFrom(address,address,uint256,bytes)": Row(
            HOLDER_OR_AGENT, lambda s: (*whole_transfer(s), b""), note=MOVES
        ),
        "setApprovalForAll(address,bool)": Row(
            EVERYONE, lambda s: (s.bystander, True), note="Open: it concerns only the caller's own vouchers."
        ),
        "setCreditDesk(address)": Row(only(GOVERNANCE), lambda s: (s.suite.credit.address,)),
        "setDescriptor(address)": Row(only(GOVERNANCE), lambda s: (s.suite.voucher.call("parameters")[4],)),
        "setDiscountDesk(address)": Row(only(GOVERNANCE), lambda s: (s.suite.desk.address,)),
        "setGracePeriod(uint256)": Row(only(GOVERNANCE), lambda s: (5 * DAY,)),
        "setMaxTenor(uint256)": Row(only(GOVERNANCE), lambda s: (120 * DAY,)),
        "split(uint256,uint256[])": Row(
            only(SUPPLIER), lambda s: (s.voucher, [AMOUNT]), note="The holder only: an approved agent may not."
        ),
        "transferFrom(address,address,uint256)": Row(HOLDER_OR_AGENT, whole_transfer, party=AGENT, note=AGENT_MOVES),
        "transferFrom(uint256,address,uint256)": Row(
            HOLDER_OR_AGENT, lambda s: (s.voucher, s.bystander, AMOUNT), party=AGENT, note=AGENT_MOVES
        ),
        "transferFrom(uint256,uint256,uint256)": Row(
            HOLDER_OR_AGENT, lambda s: (s.voucher, s.bystanders_voucher(), AMOUNT), party=AGENT, note=AGENT_MOVES
        ),
        "unfreeze(uint256)": Row(only(OPERATOR), frozen),
        "unpause()": Row(only(OPERATOR), lambda s: s.paused(s.suite.voucher)),
        "writeOff(uint256)": Row(
            only(SUPPLIER),
            overdue_root,
            note="The holder only (its agent may not): tier 1 gives up the rest of its voucher of an overdue "
            "slot after its due share; a suspended or removed holder may not be paid that share.",
        ),
    },
    "DiscountDesk": {
        "cancelOffer(uint256)": Row(
            EVERYONE,
            lambda s: (OFFER_NONCE,),
            party=FINANCIER,
            note="Open: it spends only the caller's own offer nonce.",
        ),
        "collectRecourse(uint256)": Row(
            EVERYONE - {SUSPENDED, REMOVED},
            recourse_collectable,
            note="Open: anyone makes the desk take what the seller of a put-back voucher (tier 1) owes, as far as "
            "its cash and its allowance to the desk go; the cash moves only from the seller to the financier, so "
            "while the seller is suspended or removed the debt waits.",
        ),
        "discount((uint256,uint256,uint256,uint256,uint256,address,address,bool),bytes)": Row(
            only(SUPPLIER),
            lambda s: s.signed_offer(),
            note="Only the seller the financier's signed offer names (the supplier, holding the voucher) "
            "submits it (NotOfferSeller); the desk pays the caller and moves the caller's value.",
        ),
        "payRecourse(uint256,uint256)": Row(
            CASH_HOLDERS,
            recourse_payment,
            note="Open to any payer: the seller of a put-back voucher, or anyone on its behalf, pays 1.00 of its "
            "debt to the financier from its own cash (every cash holder allowed the desk). The token refuses cash "
            "from governance, the operators, non-members and a suspended or removed seller.",
        ),
        "putBack(uint256)": Row(
            only(FINANCIER),
            lambda s: (s.bought_with_recourse(),),
            party=FINANCIER,
            note="Only the financier that bought the voucher with recourse (NoRecourse for anyone else), once its "
            "slot is overdue; a suspended or removed financier may not give a voucher (NotActiveMember).",
        ),
        "returnExcessSettlement(address,uint256)": Row(
            only(GOVERNANCE),
            lambda s: s.sent_by_mistake(DESK),
            note="Governance returns settlement tokens sent to the desk, which never holds any of its own.",
        ),
    },
    "PayoutKeeper": {
        "redeemBatch(uint256[])": Row(
            EVERYONE,
            lambda s: ([s.redeemable()],),
            note="Open, and never refused: a voucher that cannot be redeemed now (its holder suspended or "
            "removed) is skipped with RedemptionSkipped and stays unpaid. The keeper holds no privilege: each "
            "entry is the ledger's open `redeem`.",
        ),
    },
    "CreditDesk": {
        "buyCover(uint256,uint256,address,uint256,uint256,uint8)": Row(
            only(CORE, SUPPLIER),
            lambda s: s.cover_on_offer(),
            note="The slot's debtor, or the holder of the voucher named (tier 1's), pays the premium on the terms "
            "it names (NotDebtorOrHolder for anyone else; the agent approved for all may not); a buyer that is "
            "not an active member is refused (NotActiveMember).",
        ),
        "claim(uint256)": Row(
            EVERYONE,
            lambda s: (s.claimable(),),
            party=INSURER,
            note="Open: anyone triggers the claim on an overdue slot whose cover was bought; the escrow pays the "
            "slot, so even a suspended or removed insurer's escrow pays.",
        ),
        "collect(uint256)": Row(
            EVERYONE,
            lambda s: (s.pledged_and_redeemable(),),
            note="Open: anyone redeems a pledged voucher and passes the cash on, the bank first up to what the "
            "pledge secures, then tier 1 (the pledgor); a suspended or removed pledgor's share is kept for it "
            "(`withdraw`).",
        ),
        "custodyEnded(uint256)": Row(
            only(LEDGER),
            lambda s: (s.pledged(),),
            note="Only the ledger (NotLedger), when a court order takes a pledged voucher out of the desk's "
            "custody: the pledge ends.",
        ),
        "distribute(uint256)": Row(
            EVERYONE,
            redeemed_at_the_ledger,
            note="Open: anyone passes on what a pledged voucher received at the ledger, as `collect` does.",
        ),
        "enforcePledge(uint256)": Row(
            only(FINANCIER),
            pledge_due,
            party=FINANCIER,
            note="Only the pledgee, from the loan's due date until maturity; a suspended or removed pledgee may not "
            "receive the voucher.",
        ),
        "offerCover(uint256,uint256,uint256,uint8,uint256)": Row(
            only(INSURER),
            lambda s: s.cover_terms(),
            party=INSURER,
            note="Insurers only (NotInsurer: the role, active): the insurer escrows AMOUNT of cover on the slot "
            "under test; the credit desk itself is a member with the financier role, no insurer.",
        ),
        "pay(uint256,uint256)": Row(
            MEMBERS,
            paying_through_the_credit_desk,
            party=CORE,
            note="As the ledger's `fund`: the debtor, or any active member on its behalf, from its own cash; a "
            "suspended or removed debtor is refused by the settlement token.",
        ),
        "payWithPermit(uint256,uint256,uint256,uint8,bytes32,bytes32)": Row(
            MEMBERS,
            paying_with_a_permit,
            party=CORE,
            note="As `pay`, with the debtor's permit; a permit that is not the caller's own is skipped, its "
            "allowance pays.",
        ),
        "pledge(uint256,uint256,address,uint256,uint256)": Row(
            only(SUPPLIER),
            lambda s: s.pledge_terms(),
            note="The holder only (its agent may not): tier 1 pledges AMOUNT of its voucher to the bank; a "
            "suspended or removed holder gives no value.",
        ),
        "reclaim(uint256)": Row(
            only(SUPPLIER),
            lambda s: (s.released_while_suspended(),),
            note="Only the pledgor (NotReclaimable), of a voucher the desk kept because its pledge was released "
            "while the pledgor could not receive it; a suspended or removed pledgor still cannot.",
        ),
        "releasePledge(uint256)": Row(
            only(FINANCIER, SUSPENDED, REMOVED),
            lambda s: (s.pledged(),),
            party=FINANCIER,
            note="Only the pledgee, giving up its claim: the voucher returns to tier 1. REVIEW: a suspended or "
            "removed pledgee still releases (the desk checks the pledgee, not its status); it only gives up.",
        ),
        "withdrawCover(uint256)": Row(
            only(INSURER),
            lambda s: (s.cover_offered(),),
            party=INSURER,
            note="Only the policy's insurer (NotPolicyInsurer), here an offer nobody bought; a suspended or removed "
            "insurer's escrow is refused by the settlement token and stays.",
        ),
        "redirectHeld(address,address,bytes32)": Row(
            only(OPERATOR),
            lambda s: s.held_for_a_suspended_pledgor(),
            party=FINANCIER,  # tier 1 (the supplier) is the suspended pledgor already
            note="Operators only (NotOperator), under the approval threshold as the ledger's court orders: the "
            "cash held for a member that may not hold cash (tier 1, suspended) goes to a successor (tier 2).",
        ),
        "withdraw()": Row(
            only(SUPPLIER),
            lambda s: s.held_for_the_pledgor(),
            note="Whoever the desk kept cash for (NothingHeld for anyone else): here tier 1, whose pledge payout "
            "came while it was suspended; it takes it once active again.",
        ),
    },
    "VoucherDescriptor": {},  # views only
}

Matrix = dict[str, dict[str, dict[str, Cell]]]


def state_changing(contract: str, conn) -> list[str]:
    """Full signatures of the functions of ``contract`` that are neither view nor pure."""
    abi = conn.artifacts[contract].abi
    return sorted(
        abi_to_signature(item)
        for item in abi
        if item["type"] == "function" and item["stateMutability"] not in ("view", "pure")
    )


# -------------------------------------------------------------------------- observation


@pytest.fixture(scope="module")
def stage(suite, cast, w3):
    start = snapshot(w3)
    yield Stage(suite, cast, w3)
    revert(w3, start)


def observe(stage: Stage, contract: str, signature: str, row: Row) -> dict[str, Cell]:
    """The row's setup, then every actor's call, each on a snapshot reverted afterwards."""
    before_setup = snapshot(stage.w3)
    try:
        args = row.setup(stage)
        cells = {}
        for actor in ACTORS:
            before_call = snapshot(stage.w3)
            try:
                cells[actor] = stage.attempt(actor, row.party, contract, signature, args)
            finally:
                revert(stage.w3, before_call)
        return cells
    finally:
        revert(stage.w3, before_setup)


@pytest.fixture(scope="module")
def matrix(stage, conn) -> Matrix:
    return {
        contract: {
            signature: observe(stage, contract, signature, SPEC[contract][signature])
            for signature in state_changing(contract, conn)
            if signature in SPEC.get(contract, {})
        }
        for contract in SUITE
    }


# ---------------------------------------------------------------------------- rendering


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(cells[i]) for cells in (header, *rows)) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return [line(header), line(["-" * w for w in widths]), *map(line, rows)]


def render_tables(matrix: Matrix) -> str:
    """One section per contract: the table (rows sorted by signature), then the notes."""
    lines = []
    for contract in SUITE:
        lines += ["", f"## {contract}", ""]
        rows = matrix[contract]
        if not rows:
            lines.append("No state-changing functions: views only.")
            continue
        spec = SPEC[contract]
        lines += markdown_table(
            ["function", *ACTORS, "suspended/removed party"],
            [[f"`{sig}`", *(str(rows[sig][a]) for a in ACTORS), spec[sig].party] for sig in sorted(rows)],
        )
        notes = [f"- `{sig}`: {spec[sig].note}" for sig in sorted(rows) if spec[sig].note]
        if notes:
            lines += ["", *notes]
    return "\n".join(lines[1:]) + "\n"


def render_markdown(matrix: Matrix) -> str:
    actors = markdown_table(["actor", "who"], [[a, WHO[a]] for a in ACTORS])
    size = sum(len(rows) for rows in matrix.values())
    return f"""\
# Who may call what: the access-control matrix

Generated by `tests/test_access_matrix.py`, not written by hand: the test fails while this
file differs from what the contracts do. To regenerate it:

    {REGENERATE}

Every state-changing function of every contract ({size}, read from the compiled ABIs by full
signature, overloads apart) is called by each of the {len(ACTORS)} actors below. For each row
the test builds the state in which the call succeeds for a permitted caller, with valid
arguments; then every actor makes the same call with the same arguments on a snapshot of a
local anvil chain, reverted afterwards; every call is mined with a fixed gas limit. `✓`: the
transaction succeeded. `✗ Error`: it was mined as failed, reverting with that custom error,
always a permission rule about the caller (the test fails on any other revert: the row's setup
would prove nothing).

## Actors

{chr(10).join(actors)}

{CONVENTIONS}

{render_tables(matrix)}"""


# -------------------------------------------------------------------------------- tests


def test_every_abi_function_has_a_row_in_the_matrix(conn):
    unreviewed, gone = [], []
    for contract in SUITE:
        in_abi, in_spec = set(state_changing(contract, conn)), set(SPEC.get(contract, {}))
        unreviewed += [f"{contract}.{sig}" for sig in sorted(in_abi - in_spec)]
        gone += [f"{contract}.{sig}" for sig in sorted(in_spec - in_abi)]
    assert set(SPEC) == set(SUITE), f"SPEC must name exactly the suite's contracts: {sorted(SUITE)}"
    assert not unreviewed, "state-changing functions with no row in SPEC (review and add them):\n" + "\n".join(
        unreviewed
    )
    assert not gone, "SPEC rows for functions the contracts no longer have:\n" + "\n".join(gone)


def test_every_refusal_is_a_permission_rule_about_the_caller(matrix):
    wrong = [
        f"{contract}.{sig} by {actor}: {cell.detail}"
        for contract, rows in matrix.items()
        for sig, cells in rows.items()
        for actor, cell in cells.items()
        if not cell.about_the_caller
    ]
    assert not wrong, "refusals that are not about the caller's permission (the row's setup is wrong):\n" + "\n".join(
        wrong
    )


def test_every_state_changing_function_is_allowed_exactly_for_its_permitted_callers(matrix):
    tables = render_tables(matrix)
    print(f"\n{tables}")
    mismatches = []
    for contract, rows in matrix.items():
        for sig, cells in rows.items():
            allowed = SPEC[contract][sig].allowed
            if not allowed:
                mismatches.append(f"{contract}.{sig}: nobody may call it; say why in SPEC or allow someone")
            for actor, cell in cells.items():
                if cell.allowed != (actor in allowed):
                    expected = "allowed" if actor in allowed else "refused"
                    mismatches.append(f"{contract}.{sig} by {actor}: expected {expected}, observed {cell}")
    assert not mismatches, "\n".join(["cells that differ from SPEC:", *mismatches, "", tables])


def test_docs_permissions_md_is_generated_from_the_matrix(matrix):
    text = render_markdown(matrix)
    if target := os.environ.get("SCF_WRITE_PERMISSIONS"):
        # The caller names the file to regenerate (make permissions: docs/permissions.md); the
        # test itself never writes into the repository.
        assert target.endswith(".md"), f"SCF_WRITE_PERMISSIONS names the file to write, e.g. {DOC.relative_to(ROOT)}"
        Path(target).write_text(text, encoding="utf-8")
        return
    committed = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    assert committed == text, f"docs/permissions.md is stale: run {REGENERATE}"
