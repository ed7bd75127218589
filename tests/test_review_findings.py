"""The independent review's findings, one story each: the attack the review proved on the old
contracts, played again, now refused or harmless.

Every refusal is sent with a fixed gas limit, so it is mined as a failed transaction; the
test checks the error, its arguments, and that the ledger, cash, members, invoices and offer
nonces read the same before and after. Figures are worked out by hand in the tests.

The conftest's cast: the hospital (core enterprise, 5,000,000.00 credit line, 3,000,000.00
cash), tier 1 / 2 / 3 suppliers (no cash), the bank (2,000,000.00 cash), an auditor, and
an outsider who never applied. CNY = 100 minor units (``tests.support``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector, keccak

from scf.chain.devnet import next_block_at
from scf.contracts import DocType, MemberStatus, Role, SlotStatus, token_id
from scf.contracts.voucher import MERGE, SPLIT_TRANSFER, WHOLE_TRANSFER
from scf.typed_data import DiscountOffer
from tests.support import (
    BANK_OPENING_CASH,
    CNY,
    DAY,
    FACE,
    GRACE,
    HOSPITAL_CREDIT_LIMIT,
    KYC,
    OPERATOR_ROLE,
    REFUSAL_GAS,
    Refusals,
    event_args,
    funded,
    read_many,
)

REASON = keccak(text="court order 2024-117: tier 2 insolvent, receivables to tier 3")
SUPPLIER = int(Role.SUPPLIER)


def selector(signature: str) -> bytes:
    return function_signature_to_4byte_selector(signature)


# --------------------------------------------------------------------------- refusals


def story_state(suite, cast) -> Callable[[], dict[str, bytes]]:
    """What a refusal could have touched: cash, vouchers, slots, members, invoices, offer
    nonces, read raw (tests add more with ``refused.watch``)."""
    people = {name: person.address for name, person in vars(cast).items()}
    people |= {"ledger": suite.voucher.address, "desk": suite.desk.address}

    def read() -> dict[str, bytes]:
        s = suite
        cash, ledger, reg = s.token.address, s.voucher.address, s.registry.address
        trade, desk = s.trade.address, s.desk.address
        calls: dict[str, tuple[str, str, tuple[Any, ...]]] = {
            "cash in circulation": (cash, "totalSupply()", ()),
            "slots": (ledger, "slotCount()", ()),
            "ledger owes": (ledger, "settlementOwed()", ()),
            "ledger parameters": (ledger, "parameters()", ()),
            "threshold": (reg, "approvalThreshold()", ()),
            "records": (trade, "recordCount()", ()),
            "bank's line at the desk": (cash, "allowance(address,address)", (people["bank"], desk)),
        }
        for name, address in people.items():
            calls[f"{name}: cash"] = (cash, "balanceOf(address)", (address,))
            calls[f"{name}: vouchers"] = (ledger, "balanceOf(address)", (address,))
            calls[f"{name}: outstanding"] = (ledger, "outstandingOf(address)", (address,))
            calls[f"{name}: member"] = (reg, "memberOf(address)", (address,))
        for slot in range(1, 5):
            calls[f"slot {slot}"] = (ledger, "slotInfo(uint256)", (slot,))
            for serial in range(1, 6):
                calls[f"voucher {slot}.{serial}"] = (ledger, "tokenInfo(uint256)", (token_id(slot, serial),))
        for record in range(1, 7):
            calls[f"record {record}"] = (trade, "recordOf(uint256)", (record,))
        for nonce in range(1, 4):
            calls[f"bank's offer nonce {nonce}"] = (desk, "isNonceUsed(address,uint256)", (people["bank"], nonce))
        return read_many(s.conn.w3, calls)

    return read


@pytest.fixture
def refused(suite, cast) -> Refusals:
    """``refused(client, signer, "fn", *args, error="Name", **arguments)``: mined as a failed
    transaction with exactly that error, and the story's state (``story_state``, plus whatever
    a test adds with ``refused.watch``) as it was (``tests.support.Refusals``)."""
    return Refusals(suite.conn.w3, story_state(suite, cast))


@pytest.fixture
def second_operator(suite, cast, w3) -> LocalAccount:
    """Governance appoints a second operator and asks for both on every activation (2 of 2)."""
    operator2 = funded(w3, "review second operator")
    suite.registry.send(cast.governance, "grantRole", OPERATOR_ROLE, operator2.address)
    suite.registry.send(cast.governance, "setApprovalThreshold", 2)
    return operator2


@pytest.fixture
def fund_in_full(suite, cast) -> Callable[..., Any]:
    """The hospital pays a slot's face value into the ledger."""

    def pay(slot: int, amount: int = FACE):
        suite.token.approve(cast.hospital, suite.voucher.address, amount)
        return suite.voucher.fund(cast.hospital, slot, amount)

    return pay


# ================================================================= H-1 debtor watch


@pytest.mark.parametrize("sanction", ["remove", "suspend"])
def test_the_bank_cannot_be_made_to_buy_a_voucher_of_a_hospital_the_operators_just_sanctioned(
    suite, cast, accepted_voucher, refused, now, sanction
):
    """The bank signs a 3 %, one-day offer for tier 1's whole 1,000,000.00 voucher; the
    operators then remove (or suspend) the hospital. On the old contracts tier 1 submitted the
    offer at once and the bank paid about 992,500.00 for a claim on a debtor out of the
    consortium. Now the desk's move is refused and nothing changes hands."""
    slot, root = accepted_voucher(FACE, 90)
    suite.token.approve(cast.bank, suite.desk.address, BANK_OPENING_CASH)
    offer = DiscountOffer(root, FACE, 300, now + DAY, 1, cast.bank.address, cast.tier1.address)
    signature = suite.desk.sign(cast.bank.key, offer)

    getattr(suite.registry, sanction)(cast.operator, cast.hospital.address, keccak(text="fraud investigation"))

    refused(suite.desk, cast.tier1, "discount", offer.as_tuple(), signature,
            error="DebtorNotActive", slot=slot, debtor=cast.hospital.address)
    assert suite.token.balance_of(cast.bank.address) == 2_000_000 * CNY
    assert suite.token.balance_of(cast.tier1.address) == 0
    assert (suite.voucher.owner_of(root), suite.voucher.value_of(root)) == (cast.tier1.address, 1_000_000 * CNY)
    assert not suite.desk.is_nonce_used(cast.bank.address, 1)


def test_while_the_hospital_is_suspended_its_vouchers_are_neither_accepted_nor_moved_until_it_is_reinstated(
    suite, cast, accepted_voucher, invoice, refused, now
):
    """Slot 1: tier 1's 1,000,000.00 voucher, of which 100,000.00 was split to tier 2 before
    the suspension. Slot 2: a 200,000.00 issuance tier 1 has not accepted yet."""
    v = suite.voucher
    slot, root = accepted_voucher(FACE, 90)
    tier2_part, _ = v.split_transfer(cast.tier1, root, cast.tier2.address, 100_000 * CNY)
    second_invoice = invoice(amount=200_000 * CNY)
    pending_slot, _ = v.issue(cast.hospital, cast.tier1.address, 200_000 * CNY, now + 60 * DAY, second_invoice)

    suite.registry.suspend(cast.operator, cast.hospital.address, keccak(text="payment default elsewhere"))
    hospital = cast.hospital.address

    refused(v, cast.tier1, "accept", pending_slot, error="DebtorNotActive", slot=pending_slot, debtor=hospital)
    refused(v, cast.tier1, SPLIT_TRANSFER, root, cast.tier2.address, 50_000 * CNY,
            error="DebtorNotActive", slot=slot, debtor=hospital)
    refused(v, cast.tier2, MERGE, tier2_part, root, 10_000 * CNY, error="DebtorNotActive", slot=slot, debtor=hospital)
    refused(v, cast.tier1, WHOLE_TRANSFER, cast.tier1.address, cast.tier3.address, root,
            error="DebtorNotActive", slot=slot, debtor=hospital)

    reinstated = suite.registry.reinstate(cast.operator, hospital)  # threshold 1: one call
    assert suite.registry.status_of(hospital) == MemberStatus.ACTIVE, reinstated

    pending_root, _ = v.accept(cast.tier1, pending_slot)
    new_part, _ = v.split_transfer(cast.tier1, root, cast.tier2.address, 50_000 * CNY)
    v.merge(cast.tier2, tier2_part, root, 10_000 * CNY)
    v.transfer_whole(cast.tier1, cast.tier1.address, cast.tier3.address, root)
    assert (v.owner_of(pending_root), v.value_of(pending_root)) == (cast.tier1.address, 200_000 * CNY)
    # 1,000,000.00 - 100,000.00 - 50,000.00 + 10,000.00
    assert (v.owner_of(root), v.value_of(root)) == (cast.tier3.address, 860_000 * CNY)
    assert (v.owner_of(tier2_part), v.value_of(tier2_part)) == (cast.tier2.address, 90_000 * CNY)
    assert (v.owner_of(new_part), v.value_of(new_part)) == (cast.tier2.address, 50_000 * CNY)


def test_a_fully_funded_matured_voucher_is_still_paid_while_its_debtor_is_suspended(
    suite, cast, accepted_voucher, fund_in_full, travel
):
    v = suite.voucher
    slot, root = accepted_voucher(FACE, 90)
    fund_in_full(slot)
    travel(90 * DAY + 1)
    suite.registry.suspend(cast.operator, cast.hospital.address, keccak(text="late on another slot"))

    v.redeem(cast.tier1, root)

    assert suite.token.balance_of(cast.tier1.address) == 1_000_000 * CNY
    assert suite.token.balance_of(v.address) == 0
    assert v.slot(slot).status == SlotStatus.SETTLED


# ============================================== M-1 credit line and stranded fragments


def test_a_frozen_cent_no_longer_holds_the_hospitals_credit_line_once_it_has_paid_in_full(
    suite, cast, accepted_voucher, invoice, fund_in_full, travel, now
):
    """Tier 1 splits 0.01 to tier 2 and operators freeze it. On the old contracts the credit
    line came back only at the last redemption, so the frozen cent kept 1,000,000.00 of the
    hospital's 5,000,000.00 line busy forever. Now the line comes back when the debt is paid."""
    v = suite.voucher
    slot, root = accepted_voucher(FACE, 90)
    cent, _ = v.split_transfer(cast.tier1, root, cast.tier2.address, 1)
    v.freeze(cast.operator, cent, keccak(text="disputed delivery"))
    assert v.outstanding_of(cast.hospital.address) == 1_000_000 * CNY

    paid = fund_in_full(slot)

    assert event_args(paid, v, "CreditReleased") == [
        {"slot": slot, "debtor": cast.hospital.address, "faceValue": 1_000_000 * CNY}
    ]
    assert v.outstanding_of(cast.hospital.address) == 0
    # The whole line is free again: a 5,000,000.00 issuance goes through.
    big_slot, _ = v.issue(cast.hospital, cast.tier1.address, 5_000_000 * CNY, now + 120 * DAY,
                          invoice(amount=5_000_000 * CNY))
    assert v.outstanding_of(cast.hospital.address) == 5_000_000 * CNY == HOSPITAL_CREDIT_LIMIT

    travel(90 * DAY + 1)
    batch = suite.keeper.redeem_batch(cast.operator, [root, cent])

    assert event_args(batch, suite.keeper, "RedemptionSkipped") == [
        {"tokenId": cent, "reason": selector("VoucherFrozen(uint256)")}
    ]
    assert suite.token.balance_of(cast.tier1.address) == 999_999_99  # 999,999.99
    assert suite.token.balance_of(cast.tier2.address) == 0
    assert suite.token.balance_of(v.address) == 1 == v.call("settlementOwed")  # the frozen cent, owed
    assert suite.token.balance_of(cast.hospital.address) == 2_000_000 * CNY
    assert v.slot(big_slot).status == SlotStatus.ISSUED


def test_an_operator_hands_a_removed_holders_fragment_to_its_successor_who_redeems_it(
    suite, cast, accepted_voucher, fund_in_full, travel
):
    """Tier 2 holds a 100.00 fragment and is removed; on the old contracts it could never be
    redeemed and the slot never settled. At threshold 1 one operator's court order moves it."""
    v = suite.voucher
    slot, root = accepted_voucher(FACE, 90)
    fragment, _ = v.split_transfer(cast.tier1, root, cast.tier2.address, 100 * CNY)
    suite.registry.remove(cast.operator, cast.tier2.address, REASON)

    moved, order = v.force_transfer(cast.operator, fragment, cast.tier3.address, REASON)

    assert moved
    assert event_args(order, v, "VoucherForceTransferred") == [{
        "tokenId": fragment, "from": cast.tier2.address, "to": cast.tier3.address,
        "reasonHash": REASON, "operator": cast.operator.address,
    }]
    assert (v.owner_of(fragment), v.value_of(fragment)) == (cast.tier3.address, 100 * CNY)

    fund_in_full(slot)
    travel(90 * DAY + 1)
    v.redeem(cast.tier3, fragment)
    v.redeem(cast.tier1, root)
    assert suite.token.balance_of(cast.tier3.address) == 100 * CNY
    assert suite.token.balance_of(cast.tier1.address) == 999_900 * CNY
    assert suite.token.balance_of(cast.tier2.address) == 0
    assert v.slot(slot).status == SlotStatus.SETTLED


def test_under_a_two_of_two_threshold_a_court_ordered_move_needs_both_operators(
    suite, cast, accepted_voucher, fund_in_full, travel, refused, second_operator
):
    """The same removed holder's 100.00 fragment, after maturity, with 2 of 2 operators."""
    v = suite.voucher
    slot, root = accepted_voucher(FACE, 90)
    fragment, _ = v.split_transfer(cast.tier1, root, cast.tier2.address, 100 * CNY)
    suite.registry.remove(cast.operator, cast.tier2.address, REASON)
    fund_in_full(slot)
    travel(90 * DAY + 1)  # court orders work after maturity too

    before = refused.state()
    moved, first = v.force_transfer(cast.operator, fragment, cast.tier3.address, REASON)

    assert not moved
    removals = suite.registry.call("standingChangesOf", cast.tier2.address)  # bound to this removal...
    assert removals == 1
    action = keccak(abi_encode(
        ["bytes4", "uint256", "address", "address", "bytes32", "uint256", "uint256"],
        [selector("forceTransfer(uint256,address,bytes32)"), fragment, cast.tier2.address, cast.tier3.address, REASON,
         removals, 0],  # ...and to the voucher never having been frozen
    ))
    assert event_args(first, suite.registry, "ActionApproved") == [{
        "scope": v.address, "action": action, "operator": cast.operator.address, "approvals": 1, "threshold": 2,
    }]
    assert refused.state() == before  # nothing moved
    assert v.owner_of(fragment) == cast.tier2.address

    refused.watch("approvals", suite.registry.address, "actionApprovals(address,bytes32)", v.address, action)
    refused(v, cast.operator, "forceTransfer", fragment, cast.tier3.address, REASON,
            error="AlreadyApproved", applicant=v.address, operator=cast.operator.address)

    moved, second = v.force_transfer(second_operator, fragment, cast.tier3.address, REASON)

    assert moved
    assert event_args(second, v, "VoucherForceTransferred")[0]["operator"] == second_operator.address
    assert (v.owner_of(fragment), v.value_of(fragment)) == (cast.tier3.address, 100 * CNY)
    v.redeem(cast.tier3, fragment)
    assert suite.token.balance_of(cast.tier3.address) == 100 * CNY


def test_a_court_order_cannot_take_an_active_holders_unfrozen_voucher(suite, cast, accepted_voucher, refused):
    slot, root = accepted_voucher(FACE, 90)
    refused(suite.voucher, cast.operator, "forceTransfer", root, cast.tier3.address, REASON,
            error="HolderInGoodStanding", tokenId=root, holder=cast.tier1.address)
    assert (suite.voucher.owner_of(root), suite.voucher.value_of(root)) == (cast.tier1.address, 1_000_000 * CNY)


# =============================================================== M-3 paused clock


@pytest.mark.parametrize(
    ("stopped", "error"), [("ledger", "SystemPaused"), ("settlement token", "SettlementPaused")]
)
def test_two_paused_days_around_maturity_push_the_overdue_time_back_by_two_days(
    suite, cast, accepted_voucher, refused, w3, stopped, error
):
    """The hospital's 1,000,000.00 slot falls due while operators stop the ledger (or the
    settlement token) from one day before to one day after maturity: the hospital could not
    pay for two days. On the old contracts a reporter marked it overdue 3 days and 1 second
    after maturity regardless; now the two days are added to the grace."""
    v = suite.voucher
    slot, _ = accepted_voucher(FACE, 90)
    maturity = v.slot(slot).maturity
    switch = {"ledger": v, "settlement token": suite.token}[stopped]

    next_block_at(w3, maturity - DAY)
    switch.send(cast.operator, "pause")
    next_block_at(w3, maturity + DAY // 2)
    refused(v, cast.tier1, "markOverdue", slot, error=error)
    next_block_at(w3, maturity + DAY)
    switch.send(cast.operator, "unpause")

    overdue_from = maturity + 3 * DAY + 2 * DAY  # maturity + grace + the two paused days
    assert v.overdue_from(slot) == overdue_from

    next_block_at(w3, maturity + GRACE + 1)  # when the old contracts allowed it
    refused(v, cast.tier1, "markOverdue", slot, error="GracePeriodNotOver", slot=slot, overdueFrom=overdue_from)
    next_block_at(w3, overdue_from)
    refused(v, cast.tier1, "markOverdue", slot, error="GracePeriodNotOver", slot=slot, overdueFrom=overdue_from)
    assert suite.conn.block_timestamp() == overdue_from  # refused in that very second
    next_block_at(w3, overdue_from + 1)
    marked = v.send(cast.tier1, "markOverdue", slot, gas=REFUSAL_GAS)  # no estimate: mined in that second

    assert event_args(marked, v, "SlotOverdue") == [
        {"slot": slot, "debtor": cast.hospital.address, "unfunded": 1_000_000 * CNY, "reporter": cast.tier1.address}
    ]
    assert v.slot(slot).overdue_at == overdue_from + 1


def test_with_no_grace_period_a_slot_is_not_overdue_in_its_own_maturity_second(
    suite, cast, accepted_voucher, refused, w3
):
    v = suite.voucher
    v.send(cast.governance, "setGracePeriod", 0)
    slot, _ = accepted_voucher(FACE, 90)
    maturity = v.slot(slot).maturity
    assert v.overdue_from(slot) == maturity

    next_block_at(w3, maturity)
    refused(v, cast.tier1, "markOverdue", slot, error="GracePeriodNotOver", slot=slot, overdueFrom=maturity)
    assert suite.conn.block_timestamp() == maturity  # refused in the maturity second itself
    next_block_at(w3, maturity + 1)
    v.send(cast.tier1, "markOverdue", slot, gas=REFUSAL_GAS)
    assert v.slot(slot).overdue_at == maturity + 1


# =========================================================== M-4 k-of-n activations


def test_at_a_threshold_of_one_each_admission_is_a_single_call(suite, cast, w3):
    newcomer = funded(w3, "review seeded supplier")
    admitted = suite.registry.admit(cast.operator, newcomer.address, "Eastern Castings Ltd", Role.SUPPLIER, KYC)
    assert suite.registry.status_of(newcomer.address) == MemberStatus.ACTIVE
    assert event_args(admitted, suite.registry, "ActionApproved") == []


def test_under_a_two_of_two_threshold_one_operator_cannot_admit_a_core_enterprise_alone(
    suite, cast, w3, refused, second_operator, now
):
    """On the old contracts `admit` ignored the threshold: one operator could make a shell
    company a core enterprise with a 50,000,000.00 line (or admit itself) and issue at once."""
    reg, op = suite.registry, cast.operator
    shell = funded(w3, "review shell company")
    line = 50_000_000 * CNY

    first = reg.admit(op, shell.address, "Shell Holdings Ltd", Role.CORE_ENTERPRISE, KYC, line)

    assert [(e["scope"], e["operator"], e["approvals"], e["threshold"])
            for e in event_args(first, reg, "ActionApproved")] == [(reg.address, op.address, 1, 2)]
    assert reg.status_of(shell.address) == MemberStatus.NONE
    assert reg.call("creditLimitOf", shell.address) == 0
    refused.watch("shell", reg.address, "memberOf(address)", shell.address)
    refused(suite.voucher, shell, "issue", cast.tier1.address, 1_000_000 * CNY, now + 30 * DAY, 0,
            error="NotCoreEnterprise", account=shell.address)

    itself = reg.admit(op, op.address, "Operator's Own Trading Co", Role.CORE_ENTERPRISE, KYC, line)
    assert len(event_args(itself, reg, "ActionApproved")) == 1
    assert reg.status_of(op.address) == MemberStatus.NONE

    reg.admit(second_operator, shell.address, "Shell Holdings Ltd", Role.CORE_ENTERPRISE, KYC, line)
    assert reg.status_of(shell.address) == MemberStatus.ACTIVE
    assert reg.call("creditLimitOf", shell.address) == 50_000_000 * CNY


def test_under_a_two_of_two_threshold_granting_a_role_or_raising_a_line_needs_both_and_lowering_one(
    suite, cast, second_operator
):
    reg, op, hospital, tier2 = suite.registry, cast.operator, cast.hospital.address, cast.tier2.address

    reg.set_roles(op, tier2, Role.SUPPLIER | Role.FINANCIER)
    assert reg.member(tier2).roles == Role.SUPPLIER
    reg.set_roles(second_operator, tier2, Role.SUPPLIER | Role.FINANCIER)
    assert reg.member(tier2).roles == Role.SUPPLIER | Role.FINANCIER

    reg.set_credit_limit(op, hospital, 6_000_000 * CNY)
    assert reg.call("creditLimitOf", hospital) == 5_000_000 * CNY
    reg.set_credit_limit(second_operator, hospital, 6_000_000 * CNY)
    assert reg.call("creditLimitOf", hospital) == 6_000_000 * CNY

    lowered = reg.set_credit_limit(op, hospital, 4_000_000 * CNY)
    assert reg.call("creditLimitOf", hospital) == 4_000_000 * CNY
    assert event_args(lowered, reg, "ActionApproved") == []
    reg.set_roles(op, tier2, Role.SUPPLIER)  # taking a role away: one operator
    assert reg.member(tier2).roles == Role.SUPPLIER


def test_an_approval_given_under_one_threshold_is_never_counted_under_another(
    suite, cast, w3, second_operator
):
    """Found by the registry model's author: at a threshold of 1 an act takes effect without
    closing the round opened under 2, so operator A's old approval of raising the hospital's
    line could complete a later raise that only operator B wanted. Changing the threshold now
    voids approvals in progress."""
    reg, gov, a, b, hospital = suite.registry, cast.governance, cast.operator, second_operator, cast.hospital.address
    raise_to = 7_000_000 * CNY

    reg.set_credit_limit(a, hospital, raise_to)  # 1 of 2: recorded
    assert reg.call("creditLimitOf", hospital) == 5_000_000 * CNY
    reg.send(gov, "setApprovalThreshold", 1)
    reg.set_credit_limit(b, hospital, raise_to)  # takes effect alone at 1
    reg.set_credit_limit(b, hospital, 5_000_000 * CNY)  # lowered again
    reg.send(gov, "setApprovalThreshold", 2)

    again = reg.set_credit_limit(b, hospital, raise_to)

    assert reg.call("creditLimitOf", hospital) == 5_000_000 * CNY  # A's old approval is void
    assert [(e["approvals"], e["threshold"]) for e in event_args(again, reg, "ActionApproved")] == [(1, 2)]
    reg.set_credit_limit(a, hospital, raise_to)  # A consents now
    assert reg.call("creditLimitOf", hospital) == raise_to


# ================================================================ L-1 document hashes


def test_an_outsider_anchoring_tier1s_invoice_hash_first_does_not_block_the_real_parties(
    suite, cast, refused, now
):
    """Tier 3 (a trading member, not party to the deal) sees tier 1's invoice hash and
    anchors it first with tier 2. On the old contracts the hash was then taken for good."""
    trade, inv = suite.trade, keccak(text="invoice MS-2024-0815: tier 1 to City Hospital, 1,000,000.00")
    squatted, _ = trade.register(cast.tier3, DocType.INVOICE, inv, cast.tier2.address, 1 * CNY)

    real, _ = trade.register(cast.tier1, DocType.INVOICE, inv, cast.hospital.address, 1_000_000 * CNY)
    trade.confirm(cast.hospital, real)

    assert trade.record_id_of(inv, cast.hospital.address, cast.tier1.address) == real != squatted
    assert trade.record_id_of(inv, cast.tier2.address, cast.tier3.address) == squatted
    refused(trade, cast.hospital, "register", int(DocType.INVOICE), inv, cast.tier1.address, 1_000_000 * CNY, 0,
            error="DuplicateDocument", docHash=inv, existingRecordId=real)
    slot, _ = suite.voucher.issue(cast.hospital, cast.tier1.address, 1_000_000 * CNY, now + 90 * DAY, real)
    assert trade.call("availableAmount", real) == 0


def test_a_rejected_record_frees_its_hash_for_the_same_parties(suite, cast):
    trade, inv = suite.trade, keccak(text="invoice MS-2024-0816")
    # A typo: ten times the amount. The hospital rejects it.
    wrong, _ = trade.register(cast.tier1, DocType.INVOICE, inv, cast.hospital.address, 10_000_000 * CNY)
    trade.reject(cast.hospital, wrong)

    corrected, _ = trade.register(cast.tier1, DocType.INVOICE, inv, cast.hospital.address, 1_000_000 * CNY)
    trade.confirm(cast.hospital, corrected)

    assert trade.record_id_of(inv, cast.tier1.address, cast.hospital.address) == corrected != wrong
    assert trade.record(corrected).amount == 1_000_000 * CNY


# ================================================================ L-2 batch redemption


def test_a_keepers_batch_pays_everyone_else_when_one_voucher_was_redeemed_first_and_one_holder_is_suspended(
    suite, cast, accepted_voucher, fund_in_full, travel
):
    """The 1,000,000.00 slot: tier 1 keeps 400,000.00, tier 2 holds 300,000.00, tier 3
    200,000.00, the bank 100,000.00. On the old contracts tier 3 redeeming its own voucher
    first, or tier 2's suspension, made the keeper's whole batch revert: nobody was paid."""
    v, token = suite.voucher, suite.token
    slot, root = accepted_voucher(FACE, 90)
    t2, _ = v.split_transfer(cast.tier1, root, cast.tier2.address, 300_000 * CNY)
    t3, _ = v.split_transfer(cast.tier1, root, cast.tier3.address, 200_000 * CNY)
    tb, _ = v.split_transfer(cast.tier1, root, cast.bank.address, 100_000 * CNY)
    fund_in_full(slot)
    travel(90 * DAY + 1)
    v.redeem(cast.tier3, t3)  # tier 3 does not wait for the keeper
    suite.registry.suspend(cast.operator, cast.tier2.address, keccak(text="sanctions screening"))

    batch = suite.keeper.redeem_batch(cast.operator, [root, t2, t3, tb])

    assert event_args(batch, suite.keeper, "RedemptionSkipped") == [
        {"tokenId": t2, "reason": selector("NotActiveMember(address)")},
        {"tokenId": t3, "reason": selector("UnknownVoucher(uint256)")},
    ]
    assert token.balance_of(cast.tier1.address) == 400_000 * CNY
    assert token.balance_of(cast.tier3.address) == 200_000 * CNY
    assert token.balance_of(cast.bank.address) == 2_100_000 * CNY  # 2,000,000.00 + 100,000.00
    assert token.balance_of(cast.tier2.address) == 0
    assert token.balance_of(cast.hospital.address) == 2_000_000 * CNY  # 3,000,000.00 - 1,000,000.00
    assert token.balance_of(v.address) == 300_000 * CNY == v.call("settlementOwed")  # tier 2's, kept for it
    assert (v.owner_of(t2), v.value_of(t2)) == (cast.tier2.address, 300_000 * CNY)
    assert v.slot(slot).status == SlotStatus.ACCEPTED

    suite.registry.reinstate(cast.operator, cast.tier2.address)
    v.redeem(cast.operator, t2)
    assert token.balance_of(cast.tier2.address) == 300_000 * CNY
    assert token.balance_of(v.address) == 0
    assert v.slot(slot).status == SlotStatus.SETTLED


# ============================================================ L-3 auditors hold nothing


def test_an_auditor_only_member_cannot_receive_a_voucher_in_any_way(
    suite, cast, accepted_voucher, invoice, refused, now
):
    v, auditor = suite.voucher, cast.auditor.address
    slot, root = accepted_voucher(FACE, 90)

    refused(v, cast.tier1, SPLIT_TRANSFER, root, auditor, 100_000 * CNY,
            error="CannotHoldVouchers", account=auditor, roles=int(Role.AUDITOR))
    refused(v, cast.tier1, WHOLE_TRANSFER, cast.tier1.address, auditor, root,
            error="CannotHoldVouchers", account=auditor, roles=int(Role.AUDITOR))
    refused(v, cast.hospital, "issue", auditor, 100_000 * CNY, now + 30 * DAY, invoice(amount=100_000 * CNY),
            error="CannotHoldVouchers", account=auditor, roles=int(Role.AUDITOR))
    # Buying at the desk: an auditor-only member is not a financier, so its offer stops there.
    suite.token.mint(cast.operator, auditor, 100_000 * CNY)
    suite.token.approve(cast.auditor, suite.desk.address, 100_000 * CNY)
    offer = DiscountOffer(root, 100_000 * CNY, 300, now + DAY, 1, auditor, cast.tier1.address)
    refused(suite.desk, cast.tier1, "discount", offer.as_tuple(), suite.desk.sign(cast.auditor.key, offer),
            error="NotFinancier", account=auditor)
    # Nor can a court order hand a removed holder's voucher to it.
    suite.registry.remove(cast.operator, cast.tier1.address, REASON)
    refused(v, cast.operator, "forceTransfer", root, auditor, REASON,
            error="CannotHoldVouchers", account=auditor, roles=int(Role.AUDITOR))
    assert v.call("balanceOf(address)", auditor) == 0
    assert (v.owner_of(root), v.value_of(root)) == (cast.tier1.address, 1_000_000 * CNY)


# ============================================== L-4 finishing a round after a lower threshold


def test_an_application_with_enough_approvals_after_the_threshold_was_lowered_can_be_completed(
    suite, cast, w3, refused
):
    """3 of 3 operators; an applicant gets 2 approvals; governance lowers the threshold to 2
    and operator 3 leaves. On the old contracts the application was stuck: the two operators
    who had approved got AlreadyApproved, and nobody else could approve."""
    reg, op = suite.registry, cast.operator
    operator2, operator3 = funded(w3, "review operator 2"), funded(w3, "review operator 3")
    for extra in (operator2, operator3):
        reg.send(cast.governance, "grantRole", OPERATOR_ROLE, extra.address)
    reg.send(cast.governance, "setApprovalThreshold", 3)
    applicant = funded(w3, "review applicant")
    reg.apply(applicant, "Northern Sterile Supplies Ltd", Role.SUPPLIER, KYC)
    reg.approve(op, applicant.address)
    reg.approve(operator2, applicant.address)
    refused.watch("applicant", reg.address, "memberOf(address)", applicant.address)
    refused(reg, op, "completeApplication", applicant.address,
            error="ApprovalsBelowThreshold", applicant=applicant.address, approvals=2, threshold=3)

    reg.send(cast.governance, "setApprovalThreshold", 2)
    reg.send(cast.governance, "revokeRole", OPERATOR_ROLE, operator3.address)
    for operator in (op, operator2):
        refused(reg, operator, "approve", applicant.address,
                error="AlreadyApproved", applicant=applicant.address, operator=operator.address)
    assert reg.status_of(applicant.address) == MemberStatus.PENDING

    reg.send(op, "completeApplication", applicant.address)

    assert reg.status_of(applicant.address) == MemberStatus.ACTIVE
    assert reg.member(applicant.address).approvals == 2


# ================================================ L-5 a paused trade registry stops issuance


def test_pausing_the_trade_registry_stops_issuance_and_cancellation(suite, cast, invoice, refused, now):
    v, trade = suite.voucher, suite.trade
    record = invoice(amount=1_000_000 * CNY)
    slot, _ = v.issue(cast.hospital, cast.tier1.address, 600_000 * CNY, now + 60 * DAY, record)
    trade.send(cast.operator, "pause")

    refused(v, cast.hospital, "issue", cast.tier1.address, 400_000 * CNY, now + 60 * DAY, record,
            error="RegistryPaused")
    refused(v, cast.hospital, "cancel", slot, error="RegistryPaused")
    assert trade.call("availableAmount", record) == 400_000 * CNY
    assert v.outstanding_of(cast.hospital.address) == 600_000 * CNY

    trade.send(cast.operator, "unpause")
    v.cancel(cast.hospital, slot)
    assert trade.call("availableAmount", record) == 1_000_000 * CNY
    assert v.outstanding_of(cast.hospital.address) == 0


# ============================================================ L-6 offers name their seller


def test_tier3s_preferential_offer_cannot_be_used_by_tier2_after_the_voucher_changes_hands(
    suite, cast, accepted_voucher, refused, now
):
    """The bank offers tier 3, a small supplier it supports, 0.5 % for its 100,000.00
    voucher. Tier 3 passes the voucher to tier 2, which on the old contracts could take the
    preferential rate for itself."""
    v = suite.voucher
    slot, root = accepted_voucher(FACE, 90)
    t3, _ = v.split_transfer(cast.tier1, root, cast.tier3.address, 100_000 * CNY)
    suite.token.approve(cast.bank, suite.desk.address, BANK_OPENING_CASH)
    offer = DiscountOffer(t3, 100_000 * CNY, 50, now + DAY, 1, cast.bank.address, cast.tier3.address)
    signature = suite.desk.sign(cast.bank.key, offer)
    v.transfer_whole(cast.tier3, cast.tier3.address, cast.tier2.address, t3)

    refused(suite.desk, cast.tier2, "discount", offer.as_tuple(), signature,
            error="NotOfferSeller", seller=cast.tier3.address, caller=cast.tier2.address)
    assert suite.token.balance_of(cast.bank.address) == 2_000_000 * CNY
    assert (v.owner_of(t3), v.value_of(t3)) == (cast.tier2.address, 100_000 * CNY)
    assert not suite.desk.is_nonce_used(cast.bank.address, 1)


# ======================================================== L-7 invoices in their direction


def test_a_seller_that_is_also_a_core_enterprise_cannot_issue_against_its_buyers_invoice(
    suite, cast, invoice, refused, now
):
    """Tier 1 becomes a core enterprise too (with a 2,000,000.00 line). On the old contracts
    it could issue a voucher as debtor against the invoice it sold to the hospital, using up
    the invoice so that the hospital could no longer finance it."""
    reg, v, trade = suite.registry, suite.voucher, suite.trade
    reg.set_roles(cast.operator, cast.tier1.address, Role.CORE_ENTERPRISE | Role.SUPPLIER)
    reg.set_credit_limit(cast.operator, cast.tier1.address, 2_000_000 * CNY)
    record = invoice(cast.tier1, cast.hospital, 1_000_000 * CNY)  # tier 1 sold to the hospital

    refused(v, cast.tier1, "issue", cast.hospital.address, 1_000_000 * CNY, now + 60 * DAY, record,
            error="InvoicePartiesMismatch", recordId=record, creditor=cast.hospital.address, debtor=cast.tier1.address)
    assert trade.call("availableAmount", record) == 1_000_000 * CNY
    assert v.outstanding_of(cast.tier1.address) == 0

    v.issue(cast.hospital, cast.tier1.address, 1_000_000 * CNY, now + 60 * DAY, record)
    assert trade.call("availableAmount", record) == 0


# ===================================================== L-8 allowances die with their agent


def test_a_value_allowance_granted_by_an_agent_dies_when_the_holder_revokes_the_agent(
    suite, cast, accepted_voucher, refused
):
    v = suite.voucher
    slot, root = accepted_voucher(FACE, 90)
    v.send(cast.tier1, "setApprovalForAll", cast.tier2.address, True)  # tier 2 manages tier 1's vouchers
    v.approve_value(cast.tier2, root, cast.tier3.address, 1_000_000 * CNY)  # and delegates all of it
    assert v.call("allowance", root, cast.tier3.address) == 1_000_000 * CNY

    v.send(cast.tier1, "setApprovalForAll", cast.tier2.address, False)

    assert v.call("allowance", root, cast.tier3.address) == 0
    refused(v, cast.tier3, SPLIT_TRANSFER, root, cast.tier3.address, 1_000_000 * CNY, error="InsufficientAllowance",
            tokenId=root, spender=cast.tier3.address, allowance=0, needed=1_000_000 * CNY)
    assert (v.owner_of(root), v.value_of(root)) == (cast.tier1.address, 1_000_000 * CNY)


# =========================================================== L-9 ledgers and reservations


def test_operators_cannot_make_themselves_a_ledger_and_ledgers_cannot_touch_each_others_reservations(
    suite, cast, invoice, refused, w3, now
):
    """On the old contracts an operator authorised its own key as a ledger and released the
    reservation of an invoice already financed, so it could back a second voucher."""
    trade, op = suite.trade, cast.operator
    record = invoice(amount=1_000_000 * CNY)
    suite.voucher.issue(cast.hospital, cast.tier1.address, 600_000 * CNY, now + 60 * DAY, record)
    refused.watch("operator is a ledger", trade.address, "isLedger(address)", op.address)

    refused(trade, op, "setLedger", op.address, True, error="NotGovernance", account=op.address)
    refused(trade, op, "release", record, 600_000 * CNY, error="NotAuthorisedLedger", caller=op.address)

    other = funded(w3, "review second ledger")
    trade.set_ledger(cast.governance, other.address, True)
    refused(trade, other, "release", record, 600_000 * CNY,
            error="ReleaseExceedsReserved", recordId=record, reserved=0, released=600_000 * CNY)
    refused(trade, other, "reserve", record, cast.tier1.address, cast.hospital.address, 400_000 * CNY,
            error="ReservedByAnotherLedger", recordId=record, caller=other.address)
    assert trade.call("availableAmount", record) == 400_000 * CNY
    assert trade.record(record).reserved == 600_000 * CNY


# ===================================================================== the rest


def test_an_issuance_cannot_be_cancelled_while_the_ledger_is_paused(suite, cast, invoice, refused, now):
    v = suite.voucher
    record = invoice(amount=1_000_000 * CNY)
    slot, _ = v.issue(cast.hospital, cast.tier1.address, 1_000_000 * CNY, now + 60 * DAY, record)
    v.send(cast.operator, "pause")

    refused(v, cast.hospital, "cancel", slot, error="SystemPaused")
    assert v.slot(slot).status == SlotStatus.ISSUED
    assert v.outstanding_of(cast.hospital.address) == 1_000_000 * CNY
    assert suite.trade.call("availableAmount", record) == 0


def test_governance_returns_cash_sent_by_mistake_but_never_a_cent_of_what_holders_are_owed(
    suite, cast, accepted_voucher, fund_in_full, refused
):
    """The hospital has paid 1,000,000.00 into the ledger for tier 1. The bank then sends
    5,000.00 to the ledger and 300.00 to the desk by mistake."""
    v, desk, token, gov = suite.voucher, suite.desk, suite.token, cast.governance
    slot, root = accepted_voucher(FACE, 90)
    fund_in_full(slot)
    token.transfer(cast.bank, v.address, 5_000 * CNY)
    token.transfer(cast.bank, desk.address, 300 * CNY)
    assert (v.call("settlementOwed"), v.call("excessSettlement")) == (1_000_000 * CNY, 5_000 * CNY)

    refused(v, cast.operator, "returnExcessSettlement", cast.bank.address, 5_000 * CNY,
            error="NotGovernance", account=cast.operator.address)
    refused(v, gov, "returnExcessSettlement", cast.bank.address, 5_000 * CNY + 1,
            error="ExceedsExcess", excess=5_000 * CNY, amount=5_000 * CNY + 1)
    v.return_excess_settlement(gov, cast.bank.address, 5_000 * CNY)
    refused(v, gov, "returnExcessSettlement", cast.bank.address, 1, error="ExceedsExcess", excess=0, amount=1)

    refused(desk, gov, "returnExcessSettlement", cast.bank.address, 300 * CNY + 1,
            error="ExceedsExcess", excess=300 * CNY, amount=300 * CNY + 1)
    desk.send(gov, "returnExcessSettlement", cast.bank.address, 300 * CNY)

    assert token.balance_of(cast.bank.address) == 2_000_000 * CNY
    assert token.balance_of(v.address) == 1_000_000 * CNY == v.call("settlementOwed")
    assert token.balance_of(desk.address) == 0


def test_besu_permissioning_lets_only_removed_or_new_firms_send_a_short_application(suite, cast):
    reg = suite.registry
    kyc = keccak(text="kyc of the applying firm")

    def application(name: str) -> bytes:
        return bytes.fromhex(reg.contract.encode_abi("applyForMembership", [name, SUPPLIER, kyc])[2:])

    def allowed(sender: str, payload: bytes, target: str = reg.address) -> bool:
        return reg.call("transactionAllowed", sender, target, 0, 0, 100_000, payload)

    short, huge = application("Western Gauze Ltd"), application("x" * 20_000)
    assert len(huge) > 20_000
    assert allowed(cast.outsider.address, short) is True
    assert allowed(cast.outsider.address, huge) is False

    suite.registry.suspend(cast.operator, cast.tier3.address, keccak(text="KYC lapsed"))
    suite.registry.remove(cast.operator, cast.tier2.address, keccak(text="left the consortium"))
    assert allowed(cast.tier3.address, short) is False
    assert allowed(cast.tier2.address, short) is True
    assert allowed(cast.tier2.address, huge) is False
    assert allowed(cast.tier2.address, short, target=suite.voucher.address) is False


def test_an_application_with_a_name_longer_than_128_bytes_is_refused(suite, cast, refused):
    name = "医" * 43  # 43 characters, 3 bytes each in UTF-8: 129 bytes
    assert len(name.encode()) == 129
    refused(suite.registry, cast.outsider, "applyForMembership", name, SUPPLIER, KYC,
            error="NameTooLong", length=129, max=128)
    assert suite.registry.status_of(cast.outsider.address) == MemberStatus.NONE

    suite.registry.apply(cast.outsider, "x" * 128, Role.SUPPLIER, KYC)
    assert suite.registry.status_of(cast.outsider.address) == MemberStatus.PENDING


# ================================================= the attacker's read of the fixes
# A second review attacked the fixes above; each of these was an attack that worked.


def test_a_stale_approval_of_a_credit_raise_cannot_be_revived_by_lowering_the_line_first(
    suite, cast, second_operator
):
    """Operator A once proposed 5,000,000.00 -> 50,000,000.00; B refused and both agreed on
    6,000,000.00. Later B alone lowered the line back to 5,000,000.00 (one operator's act) and
    proposed 50,000,000.00: A's abandoned approval completed it. Every credit change now opens
    a new round."""
    reg, a, b, hospital = suite.registry, cast.operator, second_operator, cast.hospital.address
    reg.set_credit_limit(a, hospital, 50_000_000 * CNY)  # 1 of 2, abandoned
    reg.set_credit_limit(a, hospital, 6_000_000 * CNY)
    reg.set_credit_limit(b, hospital, 6_000_000 * CNY)
    reg.set_credit_limit(b, hospital, 5_000_000 * CNY)

    revived = reg.set_credit_limit(b, hospital, 50_000_000 * CNY)

    assert reg.call("creditLimitOf", hospital) == 5_000_000 * CNY
    assert [(e["approvals"], e["threshold"]) for e in event_args(revived, reg, "ActionApproved")] == [(1, 2)]


def test_a_court_order_approved_during_a_suspension_dies_with_the_reinstatement(
    suite, cast, accepted_voucher, refused, second_operator
):
    """A approved moving tier 2's 300,000.00 fragment while tier 2 was suspended; both
    operators then reinstated tier 2. B alone suspending it again on a pretext and approving
    the same order moved the voucher. The order is now bound to the suspension it was given
    under."""
    reg, v, a, b = suite.registry, suite.voucher, cast.operator, second_operator
    slot, root = accepted_voucher(FACE, 90)
    fragment, _ = v.split_transfer(cast.tier1, root, cast.tier2.address, 300_000 * CNY)
    reg.suspend(a, cast.tier2.address, REASON)
    assert not v.force_transfer(a, fragment, cast.tier3.address, REASON)[0]
    reg.reinstate(a, cast.tier2.address)
    reg.reinstate(b, cast.tier2.address)
    refused(v, b, "forceTransfer", fragment, cast.tier3.address, REASON,
            error="HolderInGoodStanding", tokenId=fragment, holder=cast.tier2.address)
    reg.suspend(b, cast.tier2.address, keccak(text="pretext"))

    moved, order = v.force_transfer(b, fragment, cast.tier3.address, REASON)

    assert not moved
    assert [(e["approvals"], e["threshold"]) for e in event_args(order, reg, "ActionApproved")] == [(1, 2)]
    assert (v.owner_of(fragment), v.value_of(fragment)) == (cast.tier2.address, 300_000 * CNY)


def test_a_court_order_approved_during_a_freeze_dies_with_the_unfreeze(
    suite, cast, accepted_voucher, second_operator
):
    v, a, b = suite.voucher, cast.operator, second_operator
    slot, root = accepted_voucher(FACE, 90)
    fragment, _ = v.split_transfer(cast.tier1, root, cast.tier2.address, 300_000 * CNY)
    v.freeze(a, fragment, REASON)
    assert not v.force_transfer(a, fragment, cast.tier3.address, REASON)[0]  # 1 of 2; B declines
    v.unfreeze(a, fragment)
    v.freeze(b, fragment, keccak(text="pretext"))  # much later, B alone

    moved, _ = v.force_transfer(b, fragment, cast.tier3.address, REASON)

    assert not moved and v.owner_of(fragment) == cast.tier2.address


def test_only_a_suite_contract_may_count_approvals_in_an_operators_name(suite, cast, refused, second_operator):
    """Anyone could make the registry record (and emit) approvals by real operators in a scope
    of its own: a forged audit trail."""
    reg, action = suite.registry, keccak(text="forceTransfer of everything")
    refused.watch("forged", reg.address, "actionApprovals(address,bytes32)", cast.outsider.address, action)

    refused(reg, cast.outsider, "approveAction", action, cast.operator.address,
            error="NotSuiteContract", caller=cast.outsider.address)
    refused(reg, cast.operator, "approveAction", action, cast.operator.address,
            error="NotSuiteContract", caller=cast.operator.address)


def test_a_debtor_can_still_cancel_after_governance_deauthorises_its_ledger(suite, cast, invoice, now):
    """Migrating to a new ledger (setLedger(old, false)) left every unaccepted issuance of the
    old one uncancellable, its credit line and invoice reservation stuck."""
    v, trade = suite.voucher, suite.trade
    record = invoice(amount=FACE)
    slot, _ = v.issue(cast.hospital, cast.tier1.address, FACE, now + 30 * DAY, record)
    trade.set_ledger(cast.governance, v.address, False)

    v.cancel(cast.hospital, slot)

    assert v.outstanding_of(cast.hospital.address) == 0
    assert trade.call("availableAmount", record) == FACE
    assert trade.record(record).ledger_id == 0  # nothing reserved: free for any ledger again


def test_packed_words_survive_split_loops_merges_and_a_whole_move(suite, cast, accepted_voucher):
    """`_update` reads and writes a voucher's and a slot's storage words whole: every field
    reads back through the ABI after a mix of changes in one slot."""
    v = suite.voucher
    slot, root = accepted_voucher(FACE, 90)
    before = v.slot(slot)
    ids, _ = v.split(cast.tier1, root, [1, 2, 3, 4, 5])
    assert ids == [token_id(slot, serial) for serial in range(2, 7)]
    v.merge(cast.tier1, ids[0], ids[1], 1)
    v.merge(cast.tier1, root, ids[4], FACE - 15)  # the root is left empty
    v.transfer_whole(cast.tier1, cast.tier1.address, cast.tier2.address, ids[4])
    ids2, _ = v.split(cast.tier2, ids[4], [7, 8])

    after = v.slot(slot)
    assert (after.debtor, after.maturity, after.status, after.face_value, after.last_serial) == (
        before.debtor, before.maturity, SlotStatus.ACCEPTED, before.face_value, 8)
    values = {t: v.value_of(t) for t in [root, *ids, *ids2]}
    assert values == {root: 0, ids[0]: 0, ids[1]: 3, ids[2]: 3, ids[3]: 4, ids[4]: FACE - 15 + 5 - 15,
                      ids2[0]: 7, ids2[1]: 8}
    assert sum(values.values()) == FACE
    assert v.voucher(ids2[1]).parent == ids[4] and v.owner_of(ids2[1]) == cast.tier2.address
