"""Every rule of the voucher ledger, broken once.

The hospital owes its tier-1 supplier 1,000,000.00 (a confirmed invoice, a voucher due in 90
days, accepted). Each test breaks one rule and checks three things: the custom error that
names the rule, the numbers inside it, and that nothing in the ledger changed (slots, every
voucher's holder, value, parent and freeze, approvals and allowances, cash balances, credit
lines, invoice reservations, parameters).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from eth_utils import function_signature_to_4byte_selector, keccak

from scf.chain import ContractRevert
from scf.contracts import DocType, SlotStatus, VoucherInfo, label, token_id
from scf.contracts.base import ZERO_ADDRESS
from scf.contracts.voucher import MERGE, SPLIT_TRANSFER, WHOLE_TRANSFER
from tests.support import CNY, DAY, FACE, GRACE, Refusals, event_args, read_many, word

MAX_TENOR = 180 * DAY
REASON = keccak(text="court order 2026-0042: ownership of the receivable disputed")


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def ledger(suite, cast) -> Callable[[], dict[str, Any]]:
    """Everything a refused call could have touched, read from the chain (raw return data)."""
    w3 = suite.conn.w3
    v, cash, registry, trade = (c.address for c in (suite.voucher, suite.token, suite.registry, suite.trade))
    people = {name: account.address for name, account in vars(cast).items()}

    def read() -> dict[str, Any]:
        calls = {
            "parameters": (v, "parameters()", ()),
            "slot count": (v, "slotCount()", ()),
            "records": (trade, "recordCount()", ()),
            "cash held by the ledger": (cash, "balanceOf(address)", (v,)),
            "cash in circulation": (cash, "totalSupply()", ()),
        }
        for name, address in people.items():
            calls[f"{name}: cash"] = (cash, "balanceOf(address)", (address,))
            calls[f"{name}: vouchers"] = (v, "balanceOf(address)", (address,))
            calls[f"{name}: outstanding"] = (v, "outstandingOf(address)", (address,))
            calls[f"{name}: member"] = (registry, "memberOf(address)", (address,))
            calls[f"{name}: settlement allowance to the ledger"] = (cash, "allowance(address,address)", (address, v))
        state = read_many(w3, calls)
        slots = range(1, word(state["slot count"]) + 1)
        more = {f"slot {slot}": (v, "slotInfo(uint256)", (slot,)) for slot in slots}
        more |= {f"record {r}": (trade, "recordOf(uint256)", (r,)) for r in range(1, word(state["records"]) + 1)}
        state |= read_many(w3, more)
        tokens = [token_id(slot, serial) for slot in slots for serial in range(1, word(state[f"slot {slot}"], 3) + 1)]
        calls = {}
        for t in tokens:
            calls[f"voucher {label(t)}"] = (v, "tokenInfo(uint256)", (t,))
            calls[f"voucher {label(t)}: freeze reason"] = (v, "freezeReasonOf(uint256)", (t,))
        state |= read_many(w3, calls)
        calls = {}
        for t in tokens:
            holder = word(state[f"voucher {label(t)}"])
            if holder == 0:
                continue
            holder_address = "0x" + holder.to_bytes(20, "big").hex()
            calls[f"voucher {label(t)}: approved"] = (v, "getApproved(uint256)", (t,))
            for name, address in people.items():
                calls[f"voucher {label(t)}: allowance of {name}"] = (v, "allowance(uint256,address)", (t, address))
                calls[f"voucher {label(t)}: {name} operator for the holder"] = (
                    v,
                    "isApprovedForAll(address,address)",
                    (holder_address, address),
                )
        return state | read_many(w3, calls)

    return read


@pytest.fixture
def refused(suite, ledger) -> Refusals:
    """``refused(client, signer, "fn", *args, error="ErrorName", arg=value, ...)``: mined as a
    failed transaction with exactly that error and those arguments (a callable argument is a
    predicate), and the ledger as it was (``tests.support.Refusals``)."""
    return Refusals(suite.conn.w3, ledger)


@pytest.fixture
def voucher(accepted_voucher) -> tuple[int, int]:
    """The hospital's 1,000,000.00 voucher to tier 1, due in 90 days, accepted: (slot, root)."""
    return accepted_voucher(FACE, 90)


@pytest.fixture
def issued(suite, cast, invoice, now) -> int:
    """The same issuance, not yet accepted: its slot."""
    record = invoice(amount=FACE)
    slot, _ = suite.voucher.issue(cast.hospital, cast.tier1.address, FACE, now + 90 * DAY, record)
    return slot


def live_values(suite, slot: int) -> dict[int, int]:
    v = suite.voucher
    values = {}
    for serial in range(1, v.slot(slot).last_serial + 1):
        info = v.voucher(token_id(slot, serial))
        if info.exists:
            values[info.token_id] = info.value
    return values


def assert_slot_conserved(suite, slot: int) -> None:
    """Live values + redeemed (every unit paid out) + written off == face value."""
    info = suite.voucher.slot(slot)
    assert sum(live_values(suite, slot).values()) + info.redeemed + info.written_off == info.face_value


def fund_fully(suite, cast, slot: int, amount: int = FACE) -> None:
    suite.token.approve(cast.hospital, suite.voucher.address, amount)
    suite.voucher.fund(cast.hospital, slot, amount)


def decode_data_uri(uri: str) -> dict[str, Any]:
    prefix = "data:application/json;base64,"
    assert uri.startswith(prefix), uri[:60]
    return json.loads(base64.b64decode(uri[len(prefix) :]))


# ------------------------------------------------------------------------- issuance


def test_a_supplier_cannot_issue_a_voucher_as_if_it_were_a_core_enterprise(suite, cast, invoice, now, refused):
    record = invoice(creditor=cast.tier2, debtor=cast.tier1, amount=FACE)
    refused(
        suite.voucher, cast.tier1, "issue", cast.tier2.address, FACE, now + 30 * DAY, record,
        error="NotCoreEnterprise", account=cast.tier1.address,
    )


def test_a_suspended_core_enterprise_cannot_issue_a_voucher(suite, cast, invoice, now, refused):
    record = invoice(amount=FACE)
    suite.registry.suspend(cast.operator, cast.hospital.address)
    refused(
        suite.voucher, cast.hospital, "issue", cast.tier1.address, FACE, now + 30 * DAY, record,
        error="NotCoreEnterprise", account=cast.hospital.address,
    )


def test_an_outsider_cannot_issue_a_voucher(suite, cast, invoice, now, refused):
    record = invoice(amount=FACE)
    refused(
        suite.voucher, cast.outsider, "issue", cast.tier1.address, FACE, now + 30 * DAY, record,
        error="NotCoreEnterprise", account=cast.outsider.address,
    )


def test_a_voucher_cannot_be_issued_to_a_firm_outside_the_consortium(suite, cast, invoice, now, refused):
    record = invoice(amount=FACE)
    refused(
        suite.voucher, cast.hospital, "issue", cast.outsider.address, FACE, now + 30 * DAY, record,
        error="NotActiveMember", account=cast.outsider.address,
    )


def test_a_core_enterprise_cannot_issue_a_voucher_to_itself(suite, cast, invoice, now, refused):
    record = invoice(amount=FACE)
    refused(
        suite.voucher, cast.hospital, "issue", cast.hospital.address, FACE, now + 30 * DAY, record,
        error="SelfIssuance", account=cast.hospital.address,
    )


def test_a_voucher_of_zero_face_value_cannot_be_issued(suite, cast, invoice, now, refused):
    record = invoice(amount=FACE)
    refused(suite.voucher, cast.hospital, "issue", cast.tier1.address, 0, now + 30 * DAY, record, error="ZeroAmount")


def test_a_face_value_above_the_ledgers_maximum_cannot_be_issued(suite, cast, invoice, now, refused):
    max_value = suite.voucher.call("MAX_VALUE")
    assert max_value == 2**56 - 1
    record = invoice(amount=FACE)
    refused(
        suite.voucher, cast.hospital, "issue", cast.tier1.address, max_value + 1, now + 30 * DAY, record,
        error="ValueTooLarge", value=max_value + 1, max=max_value,
    )


def test_a_voucher_cannot_mature_in_the_past(suite, cast, invoice, now, refused):
    record = invoice(amount=FACE)
    refused(
        suite.voucher, cast.hospital, "issue", cast.tier1.address, FACE, now - 1, record,
        error="MaturityNotInFuture", maturity=now - 1, now_=lambda t: now <= t <= now + 60,
    )


def test_a_voucher_cannot_mature_later_than_the_maximum_tenor(suite, cast, invoice, now, refused):
    assert suite.voucher.call("parameters")[0] == MAX_TENOR
    record = invoice(amount=FACE)
    too_late = now + MAX_TENOR + 3600
    refused(
        suite.voucher, cast.hospital, "issue", cast.tier1.address, FACE, too_late, record,
        error="MaturityBeyondTenor",
        maturity=too_late,
        latest=lambda latest: now + MAX_TENOR <= latest <= now + MAX_TENOR + 60,
    )
    # Exactly the maximum tenor is allowed.
    slot, _ = suite.voucher.issue(cast.hospital, cast.tier1.address, FACE, now + MAX_TENOR, record)
    assert suite.voucher.slot(slot).maturity == now + MAX_TENOR


def test_a_core_enterprise_cannot_issue_beyond_its_credit_limit(suite, cast, invoice, now, refused):
    assert suite.registry.member(cast.hospital.address).credit_limit == 5_000_000 * CNY
    first = invoice(amount=3_000_000 * CNY)
    suite.voucher.issue(cast.hospital, cast.tier1.address, 3_000_000 * CNY, now + 60 * DAY, first)
    second = invoice(amount=2_500_000 * CNY)
    refused(
        suite.voucher, cast.hospital, "issue", cast.tier1.address, 2_500_000 * CNY, now + 60 * DAY, second,
        error="CreditLimitExceeded", debtor=cast.hospital.address, limit=5_000_000 * CNY, needed=5_500_000 * CNY,
    )
    # Up to the limit exactly is fine.
    suite.voucher.issue(cast.hospital, cast.tier1.address, 2_000_000 * CNY, now + 60 * DAY, second)
    assert suite.voucher.outstanding_of(cast.hospital.address) == 5_000_000 * CNY


def test_a_voucher_cannot_be_issued_against_an_invoice_the_debtor_has_not_confirmed(suite, cast, now, refused):
    record, _ = suite.trade.register(
        cast.tier1, DocType.INVOICE, keccak(text="unconfirmed invoice"), cast.hospital.address, FACE
    )
    refused(
        suite.voucher, cast.hospital, "issue", cast.tier1.address, FACE, now + 30 * DAY, record,
        error="InvoiceNotConfirmed", recordId=record, status=1,
    )


def test_a_voucher_cannot_be_issued_against_an_order_instead_of_an_invoice(suite, cast, now, refused):
    record, _ = suite.trade.register(cast.tier1, DocType.ORDER, keccak(text="an order"), cast.hospital.address, FACE)
    suite.trade.confirm(cast.hospital, record)
    refused(
        suite.voucher, cast.hospital, "issue", cast.tier1.address, FACE, now + 30 * DAY, record,
        error="NotAnInvoice", recordId=record, docType=int(DocType.ORDER),
    )


def test_an_invoice_cannot_back_more_vouchers_than_its_amount(suite, cast, invoice, now, refused):
    record = invoice(amount=FACE)
    suite.voucher.issue(cast.hospital, cast.tier1.address, 600_000 * CNY, now + 30 * DAY, record)
    suite.voucher.issue(cast.hospital, cast.tier1.address, 400_000 * CNY, now + 30 * DAY, record)
    assert suite.trade.record(record).available == 0
    refused(
        suite.voucher, cast.hospital, "issue", cast.tier1.address, 1 * CNY, now + 30 * DAY, record,
        error="InsufficientInvoiceAmount", recordId=record, available=0, needed=1 * CNY,
    )


def test_a_voucher_cannot_be_issued_against_an_invoice_between_other_parties(suite, cast, invoice, now, refused):
    record = invoice(creditor=cast.tier2, debtor=cast.hospital, amount=FACE)
    refused(
        suite.voucher, cast.hospital, "issue", cast.tier1.address, FACE, now + 30 * DAY, record,
        error="InvoicePartiesMismatch", recordId=record, creditor=cast.tier1.address, debtor=cast.hospital.address,
    )


# ----------------------------------------------------------------- accept and cancel


def test_only_the_named_creditor_can_accept_a_voucher(suite, cast, issued, refused):
    refused(suite.voucher, cast.tier2, "accept", issued, error="NotCreditor", slot=issued, caller=cast.tier2.address)


def test_a_voucher_cannot_be_accepted_twice(suite, cast, issued, refused):
    suite.voucher.accept(cast.tier1, issued)
    refused(
        suite.voucher, cast.tier1, "accept", issued,
        error="UnexpectedSlotStatus", slot=issued, status=int(SlotStatus.ACCEPTED),
    )


def test_a_voucher_cannot_be_accepted_after_its_maturity(suite, cast, issued, travel, refused):
    maturity = suite.voucher.slot(issued).maturity
    travel(90 * DAY)
    refused(suite.voucher, cast.tier1, "accept", issued, error="SlotMatured", slot=issued, maturity=maturity)


def test_only_the_debtor_can_cancel_an_issuance(suite, cast, issued, refused):
    refused(suite.voucher, cast.tier1, "cancel", issued, error="NotDebtor", slot=issued, caller=cast.tier1.address)


def test_an_accepted_voucher_cannot_be_cancelled(suite, cast, voucher, refused):
    slot, _ = voucher
    refused(
        suite.voucher, cast.hospital, "cancel", slot,
        error="UnexpectedSlotStatus", slot=slot, status=int(SlotStatus.ACCEPTED),
    )


def test_cancelling_an_issuance_releases_the_credit_line_and_the_invoice_and_it_can_no_longer_be_accepted(
    suite, cast, issued, refused
):
    record = suite.voucher.slot(issued).trade_record_id
    assert suite.voucher.outstanding_of(cast.hospital.address) == FACE
    suite.voucher.cancel(cast.hospital, issued)
    assert suite.voucher.outstanding_of(cast.hospital.address) == 0
    assert suite.trade.record(record).available == FACE
    refused(
        suite.voucher, cast.tier1, "accept", issued,
        error="UnexpectedSlotStatus", slot=issued, status=int(SlotStatus.CANCELLED),
    )


# -------------------------------------------------------------------- split-transfer


def test_a_holder_cannot_split_off_more_than_the_voucher_holds(suite, cast, voucher, refused):
    _, root = voucher
    refused(
        suite.voucher, cast.tier1, SPLIT_TRANSFER, root, cast.tier2.address, FACE + 1,
        error="InsufficientValue", tokenId=root, value=FACE, needed=FACE + 1,
    )


def test_a_holder_cannot_split_off_nothing(suite, cast, voucher, refused):
    _, root = voucher
    refused(suite.voucher, cast.tier1, SPLIT_TRANSFER, root, cast.tier2.address, 0, error="ZeroAmount")


def test_a_stranger_cannot_split_a_voucher_without_an_allowance(suite, cast, voucher, refused):
    _, root = voucher
    refused(
        suite.voucher, cast.tier3, SPLIT_TRANSFER, root, cast.tier3.address, 1_000 * CNY,
        error="InsufficientAllowance", tokenId=root, spender=cast.tier3.address, allowance=0, needed=1_000 * CNY,
    )


def test_a_value_allowance_is_spent_by_split_transfers_and_cannot_be_overspent(suite, cast, voucher, refused):
    slot, root = voucher
    v = suite.voucher
    v.approve_value(cast.tier1, root, cast.tier2.address, 300_000 * CNY)
    assert v.call("allowance", root, cast.tier2.address) == 300_000 * CNY

    piece, _ = v.split_transfer(cast.tier2, root, cast.tier3.address, 100_000 * CNY)

    assert v.call("allowance", root, cast.tier2.address) == 200_000 * CNY
    assert v.voucher(piece).owner == cast.tier3.address and v.voucher(piece).value == 100_000 * CNY
    assert v.value_of(root) == FACE - 100_000 * CNY
    refused(
        v, cast.tier2, SPLIT_TRANSFER, root, cast.tier3.address, 250_000 * CNY,
        error="InsufficientAllowance",
        tokenId=root,
        spender=cast.tier2.address,
        allowance=200_000 * CNY,
        needed=250_000 * CNY,
    )
    assert_slot_conserved(suite, slot)


@pytest.mark.parametrize("lapse", ["suspend", "remove"])
def test_an_agent_whose_membership_lapses_can_no_longer_move_the_vouchers_it_was_approved_for(
    suite, cast, voucher, refused, lapse
):
    _, root = voucher
    v = suite.voucher
    v.send(cast.tier1, "setApprovalForAll", cast.tier3.address, True)
    v.approve_value(cast.tier1, root, cast.tier3.address, 1_000 * CNY)
    getattr(suite.registry, lapse)(cast.operator, cast.tier3.address)

    for move in (
        (SPLIT_TRANSFER, root, cast.tier2.address, 1_000 * CNY),
        (WHOLE_TRANSFER, cast.tier1.address, cast.tier2.address, root),
        ("approve(uint256,address,uint256)", root, cast.tier2.address, 1_000 * CNY),  # nor hand it on
        ("approve(address,uint256)", cast.tier2.address, root),
    ):
        refused(v, cast.tier3, *move, error="NotActiveMember", account=cast.tier3.address)
    assert v.voucher(root).owner == cast.tier1.address and v.value_of(root) == FACE


def test_a_voucher_cannot_be_split_to_a_firm_outside_the_consortium(suite, cast, voucher, refused):
    _, root = voucher
    refused(
        suite.voucher, cast.tier1, SPLIT_TRANSFER, root, cast.outsider.address, 1_000 * CNY,
        error="NotActiveMember", account=cast.outsider.address,
    )


def test_a_suspended_holder_cannot_split_its_voucher(suite, cast, voucher, refused):
    _, root = voucher
    suite.registry.suspend(cast.operator, cast.tier1.address)
    refused(
        suite.voucher, cast.tier1, SPLIT_TRANSFER, root, cast.tier2.address, 1_000 * CNY,
        error="NotActiveMember", account=cast.tier1.address,
    )


def test_a_voucher_cannot_be_split_to_a_suspended_member(suite, cast, voucher, refused):
    _, root = voucher
    suite.registry.suspend(cast.operator, cast.tier2.address)
    refused(
        suite.voucher, cast.tier1, SPLIT_TRANSFER, root, cast.tier2.address, 1_000 * CNY,
        error="NotActiveMember", account=cast.tier2.address,
    )


def test_a_frozen_voucher_cannot_be_split(suite, cast, voucher, refused):
    _, root = voucher
    suite.voucher.freeze(cast.operator, root, REASON)
    assert suite.voucher.call("freezeReasonOf", root) == REASON
    refused(
        suite.voucher, cast.tier1, SPLIT_TRANSFER, root, cast.tier2.address, 1_000 * CNY,
        error="VoucherFrozen", tokenId=root,
    )


def test_a_voucher_cannot_be_split_at_or_after_maturity(suite, cast, voucher, travel, refused):
    slot, root = voucher
    maturity = suite.voucher.slot(slot).maturity
    travel(90 * DAY)
    refused(
        suite.voucher, cast.tier1, SPLIT_TRANSFER, root, cast.tier2.address, 1_000 * CNY,
        error="SlotMatured", slot=slot, maturity=maturity,
    )


def test_nothing_moves_while_the_ledger_is_paused(suite, cast, voucher, refused):
    _, root = voucher
    suite.voucher.send(cast.operator, "pause")
    assert suite.voucher.call("paused")
    refused(suite.voucher, cast.tier1, SPLIT_TRANSFER, root, cast.tier2.address, 1_000 * CNY, error="SystemPaused")
    refused(
        suite.voucher, cast.tier1, WHOLE_TRANSFER, cast.tier1.address, cast.tier2.address, root,
        error="SystemPaused",
    )
    suite.voucher.send(cast.operator, "unpause")
    suite.voucher.split_transfer(cast.tier1, root, cast.tier2.address, 1_000 * CNY)


# ----------------------------------------------------------------------------- merge


def test_value_cannot_be_merged_across_slots(suite, cast, accepted_voucher, refused):
    _, first = accepted_voucher(FACE, 90)
    _, second = accepted_voucher(FACE, 60)
    refused(
        suite.voucher, cast.tier1, MERGE, first, second, 1_000 * CNY,
        error="SlotMismatch", fromTokenId=first, toTokenId=second,
    )


def test_a_voucher_cannot_be_merged_into_itself(suite, cast, voucher, refused):
    _, root = voucher
    refused(suite.voucher, cast.tier1, MERGE, root, root, 1_000 * CNY, error="SameVoucher", tokenId=root)


def test_value_cannot_be_merged_into_a_frozen_voucher(suite, cast, voucher, refused):
    _, root = voucher
    (piece,), _ = suite.voucher.split(cast.tier1, root, [100_000 * CNY])
    suite.voucher.freeze(cast.operator, piece, REASON)
    refused(suite.voucher, cast.tier1, MERGE, root, piece, 1_000 * CNY, error="VoucherFrozen", tokenId=piece)


def test_merging_moves_value_between_vouchers_of_one_slot_without_creating_any(suite, cast, voucher):
    slot, root = voucher
    v = suite.voucher
    piece, split_tx = v.split_transfer(cast.tier1, root, cast.tier2.address, 200_000 * CNY)
    merge_tx = v.merge(cast.tier1, root, piece, 50_000 * CNY)
    assert v.value_of(piece) == 250_000 * CNY
    assert v.value_of(root) == 750_000 * CNY
    assert v.slot(slot).last_serial == 2  # no voucher minted by the merge
    assert v.call("parentOf", piece) == root
    assert_slot_conserved(suite, slot)
    print(f"\ngas: split-transfer {split_tx.gas_used}, merge {merge_tx.gas_used}")


# ------------------------------------------------------------------- whole transfers


def test_the_holder_moves_a_whole_voucher_with_its_value_and_lineage(suite, cast, voucher):
    slot, root = voucher
    v = suite.voucher
    result = v.transfer_whole(cast.tier1, cast.tier1.address, cast.tier2.address, root)
    assert v.voucher(root) == VoucherInfo(root, cast.tier2.address, slot, FACE, 0, False)
    assert v.call("balanceOf(address)", cast.tier1.address) == 0
    assert v.call("balanceOf(address)", cast.tier2.address) == 1
    assert v.slot(slot).last_serial == 1
    print(f"\ngas: whole transfer {result.gas_used}")


def test_an_address_approved_for_the_voucher_can_move_it_whole_and_the_approval_ends_there(suite, cast, voucher):
    _, root = voucher
    v = suite.voucher
    v.send(cast.tier1, "approve(address,uint256)", cast.tier2.address, root)
    assert v.call("getApproved", root) == cast.tier2.address
    v.transfer_whole(cast.tier2, cast.tier1.address, cast.tier3.address, root)
    assert v.owner_of(root) == cast.tier3.address
    assert v.call("getApproved", root) == ZERO_ADDRESS


def test_an_operator_approved_for_all_can_move_a_whole_voucher(suite, cast, voucher):
    _, root = voucher
    v = suite.voucher
    v.send(cast.tier1, "setApprovalForAll", cast.tier2.address, True)
    v.transfer_whole(cast.tier2, cast.tier1.address, cast.tier3.address, root, safe=True)
    assert v.owner_of(root) == cast.tier3.address
    assert v.value_of(root) == FACE


def test_a_stranger_cannot_move_a_whole_voucher(suite, cast, voucher, refused):
    _, root = voucher
    refused(
        suite.voucher, cast.tier3, WHOLE_TRANSFER, cast.tier1.address, cast.tier3.address, root,
        error="NotAuthorized", tokenId=root, spender=cast.tier3.address,
    )


def test_a_whole_transfer_naming_the_wrong_holder_is_refused(suite, cast, voucher, refused):
    _, root = voucher
    refused(
        suite.voucher, cast.tier1, WHOLE_TRANSFER, cast.tier2.address, cast.tier3.address, root,
        error="NotHolder", tokenId=root, account=cast.tier2.address,
    )


def test_a_value_allowance_does_not_let_its_holder_move_the_whole_voucher(suite, cast, voucher, refused):
    _, root = voucher
    suite.voucher.approve_value(cast.tier1, root, cast.tier2.address, FACE)
    refused(
        suite.voucher, cast.tier2, WHOLE_TRANSFER, cast.tier1.address, cast.tier2.address, root,
        error="NotAuthorized", tokenId=root, spender=cast.tier2.address,
    )


def test_the_erc721_signature_moves_the_whole_token_and_the_erc3525_signature_splits(suite, cast, voucher):
    slot, root = voucher
    v = suite.voucher
    v.send(cast.tier1, WHOLE_TRANSFER, cast.tier1.address, cast.tier2.address, root)
    assert v.owner_of(root) == cast.tier2.address
    assert v.value_of(root) == FACE
    assert v.slot(slot).last_serial == 1

    v.send(cast.tier2, SPLIT_TRANSFER, root, cast.tier3.address, 1_000 * CNY)
    piece = token_id(slot, 2)
    assert v.owner_of(root) == cast.tier2.address
    assert v.value_of(root) == FACE - 1_000 * CNY
    assert v.voucher(piece).owner == cast.tier3.address
    assert v.voucher(piece).value == 1_000 * CNY
    assert v.call("parentOf", piece) == root


def test_whole_transfer_arguments_sent_to_the_value_overload_fail_loudly(suite, cast, voucher, refused):
    """The ERC-3525 overload trap: an account read as a token id names no voucher."""
    _, root = voucher
    as_token = int(cast.tier1.address, 16)
    refused(
        suite.voucher, cast.tier1, SPLIT_TRANSFER, as_token, cast.tier2.address, root,
        error="UnknownVoucher", tokenId=as_token,
    )


def test_a_value_allowance_does_not_come_back_when_the_voucher_returns_to_its_former_holder(
    suite, cast, voucher, refused
):
    """A whole transfer voids the previous holder's value approvals, as in the ERC-3525
    reference implementation (_clearApprovedValues); they must stay void if the voucher
    comes back."""
    _, root = voucher
    v = suite.voucher
    v.approve_value(cast.tier1, root, cast.tier2.address, 300_000 * CNY)
    v.transfer_whole(cast.tier1, cast.tier1.address, cast.tier3.address, root)
    assert v.call("allowance", root, cast.tier2.address) == 0
    v.transfer_whole(cast.tier3, cast.tier3.address, cast.tier1.address, root)
    assert v.call("allowance", root, cast.tier2.address) == 0, "the old value allowance came back to life"
    refused(
        v, cast.tier2, SPLIT_TRANSFER, root, cast.tier2.address, 300_000 * CNY,
        error="InsufficientAllowance", tokenId=root, spender=cast.tier2.address, allowance=0, needed=300_000 * CNY,
    )


# ---------------------------------------------------------------- split to oneself


def test_a_holder_splits_its_voucher_into_several_of_its_own(suite, cast, voucher):
    slot, root = voucher
    v = suite.voucher
    new_ids, _ = v.split(cast.tier1, root, [100_000 * CNY, 250_000 * CNY])
    assert new_ids == [token_id(slot, 2), token_id(slot, 3)]
    assert [v.value_of(t) for t in new_ids] == [100_000 * CNY, 250_000 * CNY]
    assert v.value_of(root) == 650_000 * CNY
    assert all(v.owner_of(t) == cast.tier1.address for t in new_ids)
    assert all(v.call("parentOf", t) == root for t in new_ids)
    assert v.call("balanceOf(address)", cast.tier1.address) == 3
    assert_slot_conserved(suite, slot)


def test_only_the_holder_can_split_a_voucher_to_itself(suite, cast, voucher, refused):
    _, root = voucher
    refused(
        suite.voucher, cast.tier2, "split", root, [1_000 * CNY],
        error="NotHolder", tokenId=root, account=cast.tier2.address,
    )


def test_a_split_that_runs_out_of_value_halfway_leaves_nothing_behind(suite, cast, voucher, refused):
    _, root = voucher
    refused(
        suite.voucher, cast.tier1, "split", root, [600_000 * CNY, 600_000 * CNY],
        error="InsufficientValue", tokenId=root, value=400_000 * CNY, needed=600_000 * CNY,
    )


# --------------------------------------------------------------------------- funding


def test_an_account_that_is_not_an_active_member_cannot_fund_a_slot(suite, cast, voucher, refused):
    slot, _ = voucher
    refused(
        suite.voucher, cast.outsider, "fund", slot, 1_000 * CNY,
        error="NotActiveMember", account=cast.outsider.address,
    )
    suite.token.mint(cast.operator, cast.tier2.address, 1_000 * CNY)
    suite.token.approve(cast.tier2, suite.voucher.address, 1_000 * CNY)
    suite.registry.suspend(cast.operator, cast.tier2.address, REASON)
    refused(
        suite.voucher, cast.tier2, "fund", slot, 1_000 * CNY,
        error="NotActiveMember", account=cast.tier2.address,
    )


def test_a_guarantor_completes_the_slot_of_a_removed_debtor_and_every_holder_is_paid_in_full(
    suite, cast, voucher, travel, now
):
    """The review's case: the hospital funds 90 % and is removed. Its guarantor (the bank) pays
    the last 10 %; the debt is whole, the hospital's credit line released, and the holders of
    every fragment are paid their value at maturity: nothing is left locked in the ledger."""
    slot, root = voucher
    t2, _ = suite.voucher.split_transfer(cast.tier1, root, cast.tier2.address, 300_000 * CNY)
    v, token = suite.voucher, suite.token
    token.approve(cast.hospital, v.address, 900_000 * CNY)
    v.fund(cast.hospital, slot, 900_000 * CNY)
    suite.registry.remove(cast.operator, cast.hospital.address, REASON)
    assert v.outstanding_of(cast.hospital.address) == FACE  # 90 % paid: the line is still used

    bank_cash, ledger_cash = token.balance_of(cast.bank.address), token.balance_of(v.address)
    token.approve(cast.bank, v.address, 100_000 * CNY)
    paid = v.fund(cast.bank, slot, 100_000 * CNY)
    assert event_args(paid, v, "SlotFunded") == [
        {"slot": slot, "payer": cast.bank.address, "amount": 100_000 * CNY, "funded": FACE, "faceValue": FACE}
    ]
    assert event_args(paid, v, "CreditReleased") == [{"slot": slot, "debtor": cast.hospital.address, "faceValue": FACE}]
    assert v.outstanding_of(cast.hospital.address) == 0
    assert token.balance_of(cast.bank.address) == bank_cash - 100_000 * CNY
    assert token.balance_of(v.address) == ledger_cash + 100_000 * CNY

    travel(now + 90 * DAY - suite.conn.block_timestamp() + 1)
    before = {a: token.balance_of(a) for a in (cast.tier1.address, cast.tier2.address)}
    suite.keeper.redeem_batch(cast.bank, [root, t2])
    assert token.balance_of(cast.tier1.address) == before[cast.tier1.address] + 700_000 * CNY
    assert token.balance_of(cast.tier2.address) == before[cast.tier2.address] + 300_000 * CNY
    assert token.balance_of(v.address) == ledger_cash - 900_000 * CNY  # all it was paid for this slot, paid out
    assert v.slot(slot).status == SlotStatus.SETTLED


def test_a_guarantors_part_payment_reduces_the_debt_but_only_full_funding_releases_the_credit_line(
    suite, cast, voucher
):
    slot, _ = voucher
    v, token = suite.voucher, suite.token
    token.approve(cast.bank, v.address, 400_000 * CNY)
    first = v.fund(cast.bank, slot, 400_000 * CNY)
    assert event_args(first, v, "CreditReleased") == []
    assert v.slot(slot).funded == 400_000 * CNY
    assert v.outstanding_of(cast.hospital.address) == FACE
    token.approve(cast.hospital, v.address, 600_000 * CNY)
    last = v.fund(cast.hospital, slot, 600_000 * CNY)
    assert event_args(last, v, "SlotFunded")[0]["payer"] == cast.hospital.address
    assert event_args(last, v, "CreditReleased") == [{"slot": slot, "debtor": cast.hospital.address, "faceValue": FACE}]
    assert v.outstanding_of(cast.hospital.address) == 0


def test_a_debtor_cannot_fund_more_than_the_face_value(suite, cast, voucher, refused):
    slot, _ = voucher
    suite.token.approve(cast.hospital, suite.voucher.address, 2 * FACE)
    suite.voucher.fund(cast.hospital, slot, 600_000 * CNY)
    refused(
        suite.voucher, cast.hospital, "fund", slot, 400_000 * CNY + 1,
        error="OverFunding", slot=slot, unfunded=400_000 * CNY, amount=400_000 * CNY + 1,
    )


def test_an_issuance_cannot_be_funded_before_it_is_accepted(suite, cast, issued, refused):
    suite.token.approve(cast.hospital, suite.voucher.address, FACE)
    refused(
        suite.voucher, cast.hospital, "fund", issued, FACE,
        error="UnexpectedSlotStatus", slot=issued, status=int(SlotStatus.ISSUED),
    )


# ------------------------------------------------------------------------ redemption


def test_a_voucher_cannot_be_redeemed_before_maturity(suite, cast, voucher, refused):
    slot, root = voucher
    fund_fully(suite, cast, slot)
    maturity = suite.voucher.slot(slot).maturity
    refused(
        suite.voucher, cast.tier1, "redeem", root,
        error="SlotNotMatured", tokenId=root, slot=slot, maturity=maturity,
    )


def test_a_voucher_cannot_be_redeemed_before_its_slot_is_fully_funded(suite, cast, voucher, travel, refused):
    slot, root = voucher
    fund_fully(suite, cast, slot, FACE // 2)
    travel(90 * DAY)
    refused(
        suite.voucher, cast.tier1, "redeem", root,
        error="SlotNotFullyFunded", tokenId=root, slot=slot, funded=FACE // 2, faceValue=FACE,
    )


def test_a_frozen_voucher_cannot_be_redeemed(suite, cast, voucher, travel, refused):
    slot, root = voucher
    fund_fully(suite, cast, slot)
    travel(90 * DAY)
    suite.voucher.freeze(cast.operator, root, REASON)
    refused(suite.voucher, cast.tier1, "redeem", root, error="VoucherFrozen", tokenId=root)


def test_an_unknown_voucher_cannot_be_redeemed(suite, cast, voucher, travel, refused):
    slot, _ = voucher
    fund_fully(suite, cast, slot)
    travel(90 * DAY)
    ghost = token_id(slot, 99)
    refused(suite.voucher, cast.tier1, "redeem", ghost, error="UnknownVoucher", tokenId=ghost)


def test_anyone_may_redeem_a_matured_funded_voucher_and_the_holder_is_the_one_paid(suite, cast, voucher, travel):
    slot, root = voucher
    v, cash = suite.voucher, suite.token
    piece, _ = v.split_transfer(cast.tier1, root, cast.tier2.address, 300_000 * CNY)
    fund_fully(suite, cast, slot)
    travel(90 * DAY)
    tier1_before, tier2_before = cash.balance_of(cast.tier1.address), cash.balance_of(cast.tier2.address)
    result = v.redeem(cast.outsider, piece)
    assert cash.balance_of(cast.tier2.address) == tier2_before + 300_000 * CNY
    assert cash.balance_of(cast.tier1.address) == tier1_before
    assert not v.voucher(piece).exists
    assert v.slot(slot).redeemed == 300_000 * CNY
    assert v.slot(slot).status == SlotStatus.ACCEPTED
    assert_slot_conserved(suite, slot)
    print(f"\ngas: redeem {result.gas_used}")


def skipped(result, suite) -> list[tuple[int, bytes]]:
    """(voucher, reason selector) of every RedemptionSkipped event of a batch."""
    return [
        (int(e["args"]["tokenId"]), bytes(e["args"]["reason"]))
        for e in result.events(suite.keeper.contract, "RedemptionSkipped")
    ]


def test_a_batch_redemption_skips_a_frozen_voucher_and_a_repeated_entry_and_pays_the_rest(
    suite, cast, voucher, travel
):
    slot, root = voucher
    v, token = suite.voucher, suite.token
    second, _ = v.split_transfer(cast.tier1, root, cast.tier2.address, 300_000 * CNY)
    third, _ = v.split_transfer(cast.tier1, root, cast.tier3.address, 100_000 * CNY)
    fund_fully(suite, cast, slot)
    travel(90 * DAY)
    v.freeze(cast.operator, third, REASON)
    before = {who.address: token.balance_of(who.address) for who in (cast.tier1, cast.tier2, cast.tier3)}

    first_run = suite.keeper.redeem_batch(cast.hospital, [root, second, third, root])

    assert skipped(first_run, suite) == [
        (third, function_signature_to_4byte_selector("VoucherFrozen(uint256)")),
        (root, function_signature_to_4byte_selector("UnknownVoucher(uint256)")),  # the same voucher twice: paid once
    ]
    assert token.balance_of(cast.tier1.address) == before[cast.tier1.address] + 600_000 * CNY
    assert token.balance_of(cast.tier2.address) == before[cast.tier2.address] + 300_000 * CNY
    assert token.balance_of(cast.tier3.address) == before[cast.tier3.address]
    assert v.voucher(third).value == 100_000 * CNY and v.slot(slot).status == SlotStatus.ACCEPTED

    v.unfreeze(cast.operator, third)
    second_run = suite.keeper.redeem_batch(cast.hospital, [root, third])
    assert skipped(second_run, suite) == [(root, function_signature_to_4byte_selector("UnknownVoucher(uint256)"))]
    info = v.slot(slot)
    assert info.status == SlotStatus.SETTLED and info.redeemed == FACE
    assert token.balance_of(cast.tier3.address) == before[cast.tier3.address] + 100_000 * CNY
    assert live_values(suite, slot) == {}
    assert token.balance_of(v.address) == 0


def test_a_batch_redemption_across_slots_skips_the_voucher_of_the_unfunded_slot(
    suite, cast, accepted_voucher, travel
):
    """A keeper's batch over two slots, one not funded: the funded one is paid, the other is
    left out with the reason a lone redeem would give, and stays redeemable later."""
    funded_slot, funded_root = accepted_voucher(FACE, 30)
    unfunded_slot, unfunded_root = accepted_voucher(FACE, 30)
    fund_fully(suite, cast, funded_slot)
    travel(30 * DAY)
    before = suite.token.balance_of(cast.tier1.address)

    result = suite.keeper.redeem_batch(cast.hospital, [funded_root, unfunded_root])

    assert skipped(result, suite) == [
        (unfunded_root, function_signature_to_4byte_selector("SlotNotFullyFunded(uint256,uint256,uint256,uint256)"))
    ]
    assert suite.token.balance_of(cast.tier1.address) == before + FACE
    assert suite.voucher.voucher(unfunded_root).value == FACE
    assert suite.voucher.slot(unfunded_slot).redeemed == 0


def test_burning_an_emptied_voucher_after_settlement_does_not_release_the_debtors_credit_twice(
    suite, cast, accepted_voucher, travel
):
    """Split-transferring a voucher's whole value leaves an empty voucher behind. Burning it
    after the slot settled must not settle the slot again (credit line released twice)."""
    slot, root = accepted_voucher(FACE, 90)
    accepted_voucher(FACE, 120)  # a second issuance keeps the hospital's line in use
    v = suite.voucher
    everything, _ = v.split_transfer(cast.tier1, root, cast.tier2.address, FACE)
    assert v.value_of(root) == 0
    fund_fully(suite, cast, slot)
    travel(90 * DAY)
    v.redeem(cast.tier2, everything)
    assert v.slot(slot).status == SlotStatus.SETTLED
    assert v.outstanding_of(cast.hospital.address) == FACE

    result = v.redeem(cast.hospital, root)

    assert result.events(v.contract, "SlotSettled") == [], "the slot settled a second time"
    assert v.outstanding_of(cast.hospital.address) == FACE, "the hospital's credit line was released twice"


# ---------------------------------------------------------------------------- overdue


def test_a_slot_cannot_be_marked_overdue_before_the_grace_period_ends(suite, cast, voucher, travel, refused):
    slot, _ = voucher
    maturity = suite.voucher.slot(slot).maturity
    travel(90 * DAY + 1 * DAY)
    refused(
        suite.voucher, cast.tier1, "markOverdue", slot,
        error="GracePeriodNotOver", slot=slot, overdueFrom=maturity + GRACE,
    )


def test_a_fully_funded_slot_cannot_be_marked_overdue(suite, cast, voucher, travel, refused):
    slot, _ = voucher
    fund_fully(suite, cast, slot)
    travel(90 * DAY + GRACE + 1)  # strictly after maturity + grace
    refused(suite.voucher, cast.tier1, "markOverdue", slot, error="SlotFullyFunded", slot=slot)


def test_a_slot_cannot_be_marked_overdue_twice(suite, cast, voucher, travel, refused):
    slot, _ = voucher
    travel(90 * DAY + GRACE + 1)  # strictly after maturity + grace
    result = suite.voucher.mark_overdue(cast.tier2, slot)
    (event,) = result.events(suite.voucher.contract, "SlotOverdue")
    assert event["args"]["unfunded"] == FACE and event["args"]["reporter"] == cast.tier2.address
    overdue_at = suite.voucher.slot(slot).overdue_at
    assert overdue_at == suite.conn.block_timestamp(result.block_number)
    refused(suite.voucher, cast.tier1, "markOverdue", slot, error="AlreadyOverdue", slot=slot, overdueAt=overdue_at)


def test_funding_an_overdue_slot_makes_it_redeemable_and_its_settlement_records_the_lateness(
    suite, cast, voucher, travel, refused
):
    slot, root = voucher
    v = suite.voucher
    travel(90 * DAY + GRACE + 1)  # strictly after maturity + grace
    v.mark_overdue(cast.tier1, slot)
    # Overdue with nothing funded: a pro-rata payout would pay nothing.
    refused(v, cast.tier1, "redeem", root, error="NothingToPay", tokenId=root)

    fund_fully(suite, cast, slot)
    before = suite.token.balance_of(cast.tier1.address)
    result = v.redeem(cast.tier1, root)

    (settled,) = result.events(v.contract, "SlotSettled")
    assert settled["args"]["wasOverdue"] is True
    assert settled["args"]["debtor"] == cast.hospital.address
    assert suite.token.balance_of(cast.tier1.address) == before + FACE
    assert v.slot(slot).status == SlotStatus.SETTLED
    assert v.outstanding_of(cast.hospital.address) == 0


# ----------------------------------------------------------------- supervision, governance


def test_only_an_operator_can_freeze_or_unfreeze_a_voucher(suite, cast, voucher, refused):
    _, root = voucher
    refused(suite.voucher, cast.auditor, "freeze", root, REASON, error="NotOperator", account=cast.auditor.address)
    suite.voucher.freeze(cast.operator, root, REASON)
    refused(suite.voucher, cast.tier1, "unfreeze", root, error="NotOperator", account=cast.tier1.address)


def test_a_frozen_voucher_cannot_be_frozen_again_nor_a_free_one_unfrozen(suite, cast, voucher, refused):
    _, root = voucher
    refused(suite.voucher, cast.operator, "unfreeze", root, error="VoucherNotFrozen", tokenId=root)
    suite.voucher.freeze(cast.operator, root, REASON)
    refused(
        suite.voucher, cast.operator, "freeze", root, keccak(text="another reason"),
        error="VoucherFrozen", tokenId=root,
    )
    assert suite.voucher.call("freezeReasonOf", root) == REASON


def test_only_an_operator_can_pause_the_ledger(suite, cast, refused):
    refused(suite.voucher, cast.tier1, "pause", error="NotOperator", account=cast.tier1.address)
    refused(suite.voucher, cast.governance, "pause", error="NotOperator", account=cast.governance.address)


def test_the_maximum_tenor_can_never_exceed_a_year(suite, cast, refused):
    refused(
        suite.voucher, cast.governance, "setMaxTenor", 366 * DAY,
        error="TenorOutOfRange", tenor=366 * DAY, cap=365 * DAY,
    )
    refused(suite.voucher, cast.governance, "setMaxTenor", 0, error="TenorOutOfRange", tenor=0, cap=365 * DAY)
    suite.voucher.send(cast.governance, "setMaxTenor", 365 * DAY)
    assert suite.voucher.call("parameters")[0] == 365 * DAY


def test_only_governance_sets_the_maximum_tenor(suite, cast, refused):
    refused(suite.voucher, cast.operator, "setMaxTenor", 90 * DAY, error="NotGovernance", account=cast.operator.address)


def test_only_the_discount_desk_may_call_desk_transfer(suite, cast, voucher, refused):
    _, root = voucher
    for caller in (cast.tier1, cast.governance):
        refused(
            suite.voucher, caller, "deskTransfer", root, cast.tier1.address, cast.tier2.address, 1_000 * CNY,
            error="NotDiscountDesk", account=caller.address,
        )


def test_a_refusal_names_the_contract_that_refused(suite, cast, voucher, refused):
    """Several contracts declare errors of the same name (ZeroAmount, NotOperator...); the
    exception must name the one that was called, not whichever ABI the decoder read first."""
    _, root = voucher
    refusal = refused(suite.voucher, cast.tier1, SPLIT_TRANSFER, root, cast.tier2.address, 0)
    assert (refusal.error, refusal.contract) == ("ZeroAmount", "ReceivableVoucher")
    refusal = refused(suite.voucher, cast.tier1, "pause")
    assert (refusal.error, refusal.contract) == ("NotOperator", "ReceivableVoucher")


# ------------------------------------------------------------ ERC-165, metadata, lineage


@pytest.mark.parametrize(
    ("interface_id", "supported"),
    [
        ("01ffc9a7", True),  # ERC-165
        ("80ac58cd", True),  # ERC-721
        ("5b5e139f", True),  # ERC-721 metadata
        ("d5358140", True),  # ERC-3525
        ("e1600902", True),  # ERC-3525 metadata
        ("ffffffff", False),  # ERC-165's invalid id
        ("009ce20b", False),  # ERC-3525 receiver: the ledger is not one
    ],
)
def test_the_ledger_declares_exactly_its_erc165_interfaces(suite, interface_id, supported):
    assert suite.voucher.call("supportsInterface", bytes.fromhex(interface_id)) is supported


def test_metadata_uris_are_self_contained_json_that_wallets_can_read(suite, cast, voucher):
    slot, root = voucher
    v = suite.voucher
    piece, _ = v.split_transfer(cast.tier1, root, cast.tier2.address, 250_000 * CNY)
    info = v.slot(slot)

    contract_meta = decode_data_uri(v.call("contractURI"))
    assert contract_meta["name"] == "Receivable Voucher"
    assert contract_meta["valueDecimals"] == 2

    slot_meta = decode_data_uri(v.call("slotURI", slot))
    properties = {p["name"]: p["value"] for p in slot_meta["properties"]}
    assert properties["debtor"].lower() == cast.hospital.address.lower()
    assert properties["creditor"].lower() == cast.tier1.address.lower()
    assert properties["face_value"] == FACE
    assert properties["maturity_date"] == info.maturity
    assert properties["issue_date"] == info.issued_at
    assert properties["trade_record"] == info.trade_record_id

    token_meta = decode_data_uri(v.call("tokenURI", piece))
    assert token_meta["balance"] == 250_000 * CNY
    assert token_meta["slot"] == slot
    assert token_meta["properties"]["holder"].lower() == cast.tier2.address.lower()
    assert int(token_meta["properties"]["parent"]) == root
    root_meta = decode_data_uri(v.call("tokenURI", root))
    assert root_meta["balance"] == 750_000 * CNY
    assert int(root_meta["properties"]["parent"]) == 0


def test_a_slots_metadata_names_its_status_in_every_state(suite, cast, invoice, now, accepted_voucher, travel):
    v = suite.voucher
    issued, _ = v.issue(cast.hospital, cast.tier1.address, FACE, now + 30 * DAY, invoice(amount=FACE))
    cancelled, _ = v.issue(cast.hospital, cast.tier1.address, FACE, now + 30 * DAY, invoice(amount=FACE))
    v.cancel(cast.hospital, cancelled)
    accepted, _ = accepted_voucher(FACE, 60)
    settled, root = accepted_voucher(FACE, 20)
    fund_fully(suite, cast, settled)
    travel(20 * DAY)
    v.redeem(cast.tier1, root)

    def status_shown(slot: int) -> str:
        try:
            properties = decode_data_uri(v.call("slotURI", slot))["properties"]
        except ContractRevert as exc:
            return f"slotURI reverted: {exc}"
        return {p["name"]: p["value"] for p in properties}["status"]

    shown = {slot: status_shown(slot) for slot in (issued, accepted, cancelled, settled)}
    assert shown == {issued: "Issued", accepted: "Accepted", cancelled: "Cancelled", settled: "Settled"}


def test_metadata_of_an_unknown_slot_or_voucher_is_refused(suite, voucher):
    slot, _ = voucher
    with pytest.raises(ContractRevert) as caught:
        suite.voucher.call("slotURI", slot + 1)
    assert caught.value.error == "UnknownSlot" and caught.value.args_by_name == {"slot": slot + 1}
    ghost = token_id(slot, 7)
    with pytest.raises(ContractRevert) as caught:
        suite.voucher.call("tokenURI", ghost)
    assert caught.value.error == "UnknownVoucher" and caught.value.args_by_name == {"tokenId": ghost}


def test_every_fraction_knows_the_voucher_its_value_came_from(suite, cast, voucher):
    slot, root = voucher
    v = suite.voucher
    to_tier2, _ = v.split_transfer(cast.tier1, root, cast.tier2.address, 400_000 * CNY)
    to_tier3, _ = v.split_transfer(cast.tier2, to_tier2, cast.tier3.address, 150_000 * CNY)
    v.merge(cast.tier3, to_tier3, to_tier2, 50_000 * CNY)  # merging does not rewrite lineage

    assert v.call("parentOf", root) == 0
    assert v.call("parentOf", to_tier2) == root
    assert v.call("parentOf", to_tier3) == to_tier2
    assert [v.voucher(t).parent for t in (root, to_tier2, to_tier3)] == [0, root, to_tier2]
    assert v.call("slotOf", to_tier3) == slot == to_tier3 >> 32
    assert_slot_conserved(suite, slot)
    with pytest.raises(ContractRevert) as caught:
        v.call("parentOf", token_id(slot, 9))
    assert caught.value.error == "UnknownVoucher"
