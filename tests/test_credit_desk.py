"""The CreditDesk, as its users see it and as an attacker tries it: pledges held in custody,
credit insurance with escrow and subrogation, payments on a payer's behalf, and what the desk
does when a court order or a member's suspension gets in the way.

The story: the hospital owes tier 1 1,000,000.00 on a voucher due in 90 days, and tier 1 has
passed 400,000.00 of it on to tier 2, its supplier (conftest: the hospital holds 3,000,000.00
cash, the bank 2,000,000.00, the suppliers none). Tier 2 borrows 250,000.00 from the bank
against its part (a pledge). A credit insurer, admitted here with the INSURER role and
1,000,000.00 of cash, covers the slot against the hospital's default for a premium.

Every refusal is mined as a failed transaction and checked by its custom error, its arguments,
and a book that reads the same before and after: everyone's cash (the desk's and the ledger's
too), cash in circulation, allowances to the desk, the slots, every voucher of the first
slots (holder, value, parent, freeze, payouts, approvals), the desk's pledges and policies,
and the cash the desk keeps for anyone it could not pay at once.
Figures are worked out by hand in each test; none is read back from the contract to be checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from scf.chain.devnet import next_block_at
from scf.contracts import Role, SlotStatus, label, token_id
from scf.contracts.base import ZERO_ADDRESS
from scf.contracts.credit import CoverState, Pledge, Policy, Recovery
from scf.contracts.voucher import MERGE, SPLIT_TRANSFER, WHOLE_TRANSFER
from scf.typed_data import DiscountOffer
from tests.support import (
    BANK_OPENING_CASH,
    CNY,
    DAY,
    FACE,
    GRACE,
    HOSPITAL_OPENING_CASH,
    KYC,
    REFUSAL_GAS,
    Refusals,
    event_args,
    funded,
    member_key,
    read_many,
    sign_permit,
    word,
)

PART = 400_000 * CNY  # tier 2's part of the hospital's voucher
REST = FACE - PART  # what tier 1 keeps: 600,000.00
SECURED = 250_000 * CNY  # the bank's loan to tier 2, secured by the pledge
INSURER = "credit insurer"
SECOND_INSURER = "second credit insurer"
INSURER_CASH = 1_000_000 * CNY
COVER = 600_000 * CNY
PREMIUM = 18_000 * CNY  # 3 % of the cover
COURT_ORDER = keccak(text="court order 2026-311: tier 2's receivable attached for its creditors")
SANCTIONS = keccak(text="sanctions screening")
SOLVENCY = keccak(text="solvency review")


# --------------------------------------------------------------------------- the story


@dataclass(frozen=True)
class Story:
    slot: int
    root: int  # tier 1's voucher, 600,000.00
    part: int  # tier 2's voucher, 400,000.00 (serial 2)
    maturity: int


@pytest.fixture
def story(suite, cast, accepted_voucher) -> Story:
    slot, root = accepted_voucher(FACE, 90)
    part, _ = suite.voucher.split_transfer(cast.tier1, root, cast.tier2.address, PART)
    assert part == token_id(slot, 2)
    return Story(slot, root, part, suite.voucher.slot(slot).maturity)


def admit_insurer(suite, cast, w3, name: str) -> LocalAccount:
    key = funded(w3, name)
    suite.registry.admit(cast.operator, key.address, name.title(), Role.INSURER, KYC)
    suite.token.mint(cast.operator, key.address, INSURER_CASH)
    return key


@pytest.fixture
def insurer(suite, cast, w3) -> LocalAccount:
    """A credit insurer, an active member with the INSURER role and 1,000,000.00 of cash."""
    return admit_insurer(suite, cast, w3, INSURER)


@pytest.fixture
def second_insurer(suite, cast, w3) -> LocalAccount:
    return admit_insurer(suite, cast, w3, SECOND_INSURER)


def approve_desk(suite, holder, token: int) -> None:
    """The holder approves the credit desk for the whole voucher (ERC-721 approve)."""
    suite.voucher.send(holder, "approve(address,uint256)", suite.credit.address, token)


def pledge_part(suite, cast, story: Story, value: int = PART, secured: int = SECURED, due: int | None = None):
    """Tier 2 pledges ``value`` of its part to the bank, securing ``secured``, due 30 days
    before maturity; returns (voucher in custody, transaction)."""
    approve_desk(suite, cast.tier2, story.part)
    due = story.maturity - 30 * DAY if due is None else due
    return suite.credit.pledge(cast.tier2, story.part, value, cast.bank.address, secured, due)


def fund(suite, cast, slot: int, amount: int):
    """The hospital pays ``amount`` into the slot at the ledger."""
    suite.token.approve(cast.hospital, suite.voucher.address, amount)
    return suite.voucher.fund(cast.hospital, slot, amount)


def pay(suite, payer, slot: int, amount: int):
    """``payer`` pays ``amount`` toward the slot through the credit desk."""
    suite.token.approve(payer, suite.credit.address, amount)
    return suite.credit.pay(payer, slot, amount)


def go_overdue(suite, cast, story: Story, travel) -> None:
    """The clock passes maturity and the grace period; the operator marks the slot overdue."""
    travel(story.maturity + GRACE + 1 - suite.conn.block_timestamp())
    suite.voucher.mark_overdue(cast.operator, story.slot)


def past_maturity(suite, story: Story, travel) -> None:
    travel(story.maturity + 1 - suite.conn.block_timestamp())


def offer(suite, insurer, slot: int, cover: int = COVER, premium: int = PREMIUM,
          order: Recovery = Recovery.HOLDERS_FIRST, deadline: int | None = None):
    """The insurer approves the desk for the cover and offers it, open for ten days."""
    suite.token.approve(insurer, suite.credit.address, cover)
    deadline = suite.conn.block_timestamp() + 10 * DAY if deadline is None else deadline
    return suite.credit.offer_cover(insurer, slot, cover, premium, order, deadline)


def terms(suite, slot: int) -> tuple:
    """The terms of the cover on offer, as a buyer names them to buyCover."""
    p = suite.credit.policy_of(slot)
    return p.insurer, p.cover, p.premium, int(p.order)


def buy(suite, buyer, slot: int, token: int = 0, premium: int = PREMIUM):
    suite.token.approve(buyer, suite.credit.address, premium)
    return suite.credit.buy_cover(buyer, slot, suite.credit.policy_of(slot), token)


def balances(suite, **accounts: str) -> dict[str, int]:
    return {name: suite.token.balance_of(address) for name, address in accounts.items()}


# ------------------------------------------------------------------------------- refusals


def desk_book(suite, cast) -> Callable[[], dict[str, Any]]:
    """What a refused call could have touched, read raw from the chain."""
    people = {name: person.address for name, person in vars(cast).items()}
    people |= {
        "insurer": member_key(INSURER).address,
        "second insurer": member_key(SECOND_INSURER).address,
        "credit desk": suite.credit.address,
        "ledger": suite.voucher.address,
    }

    def read() -> dict[str, Any]:
        cash, ledger, credit = suite.token.address, suite.voucher.address, suite.credit.address
        reg = suite.registry.address
        calls: dict[str, tuple[str, str, tuple[Any, ...]]] = {
            "cash in circulation": (cash, "totalSupply()", ()),
            "ledger owes": (ledger, "settlementOwed()", ()),
            "slots": (ledger, "slotCount()", ()),
        }
        for name, address in people.items():
            calls[f"{name}: cash"] = (cash, "balanceOf(address)", (address,))
            calls[f"{name}: cash allowance to the desk"] = (cash, "allowance(address,address)", (address, credit))
            calls[f"{name}: vouchers"] = (ledger, "balanceOf(address)", (address,))
            calls[f"{name}: outstanding"] = (ledger, "outstandingOf(address)", (address,))
            calls[f"{name}: member"] = (reg, "memberOf(address)", (address,))
            calls[f"{name}: cash the desk holds for it"] = (credit, "heldFor(address)", (address,))
            calls[f"{name}: operator for tier 2"] = (
                ledger, "isApprovedForAll(address,address)", (people["tier2"], address)
            )
        tokens = [token_id(slot, serial) for slot in range(1, 4) for serial in range(1, 7)]
        for slot in range(1, 4):
            calls[f"slot {slot}"] = (ledger, "slotInfo(uint256)", (slot,))
            calls[f"policy {slot}"] = (credit, "policyOf(uint256)", (slot,))
            calls[f"insurer owed on slot {slot}"] = (credit, "insurerOwed(uint256)", (slot,))
        for t in tokens:
            calls[f"voucher {label(t)}"] = (ledger, "tokenInfo(uint256)", (t,))
            calls[f"voucher {label(t)}: paid out"] = (ledger, "paidOutOf(uint256)", (t,))
            calls[f"pledge {label(t)}"] = (credit, "pledgeOf(uint256)", (t,))
        state = read_many(suite.conn.w3, calls)
        live = [t for t in tokens if word(state[f"voucher {label(t)}"]) != 0]
        more = {}
        for t in live:
            more[f"voucher {label(t)}: approved"] = (ledger, "getApproved(uint256)", (t,))
            more[f"voucher {label(t)}: desk's value allowance"] = (ledger, "allowance(uint256,address)", (t, credit))
        return state | read_many(suite.conn.w3, more)

    return read


@pytest.fixture
def refused(suite, cast) -> Refusals:
    """``refused(client, signer, "fn", *args, error="Name", **arguments)``: mined as a failed
    transaction with exactly that error and arguments, and the desk's book as it was."""
    return Refusals(suite.conn.w3, desk_book(suite, cast))


# ========================================================================== pledges


def test_tier2_pledges_its_whole_400k_part_to_the_bank_and_the_desk_holds_it_in_custody(suite, cast, story):
    v, credit = suite.voucher, suite.credit
    due = story.maturity - 30 * DAY
    supply = suite.token.total_supply()

    pledged, result = pledge_part(suite, cast, story, PART, SECURED, due)

    assert pledged == story.part
    assert v.owner_of(story.part) == credit.address
    assert v.value_of(story.part) == PART
    assert event_args(result, credit, "VoucherPledged") == [{
        "tokenId": story.part, "pledgor": cast.tier2.address, "pledgee": cast.bank.address,
        "value": PART, "secured": SECURED, "dueDate": due,
    }]
    assert credit.pledge_of(story.part) == Pledge(
        story.part, cast.tier2.address, due, cast.bank.address, PART, SECURED, 0, 0
    )
    assert v.call("balanceOf(address)", cast.tier2.address) == 0
    assert v.call("getApproved", story.part) == ZERO_ADDRESS  # the approval died with the move
    # A pledge moves no cash.
    assert suite.token.balance_of(credit.address) == 0
    assert suite.token.balance_of(cast.bank.address) == BANK_OPENING_CASH
    assert suite.token.total_supply() == supply


@pytest.mark.parametrize("approval", ["the whole voucher", "a value allowance of 150,000.00"])
def test_tier2_pledges_150k_of_its_part_and_keeps_the_other_250k(suite, cast, story, approval):
    v, credit = suite.voucher, suite.credit
    due = story.maturity - 30 * DAY
    if approval == "the whole voucher":
        approve_desk(suite, cast.tier2, story.part)
    else:
        v.approve_value(cast.tier2, story.part, credit.address, 150_000 * CNY)

    pledged, result = credit.pledge(cast.tier2, story.part, 150_000 * CNY, cast.bank.address, 100_000 * CNY, due)

    assert pledged == token_id(story.slot, 3)  # a new voucher split off tier 2's
    assert v.voucher(pledged).owner == credit.address
    assert v.voucher(pledged).value == 150_000 * CNY
    assert v.voucher(pledged).parent == story.part
    assert (v.owner_of(story.part), v.value_of(story.part)) == (cast.tier2.address, 250_000 * CNY)
    assert event_args(result, credit, "VoucherPledged") == [{
        "tokenId": pledged, "pledgor": cast.tier2.address, "pledgee": cast.bank.address,
        "value": 150_000 * CNY, "secured": 100_000 * CNY, "dueDate": due,
    }]
    assert credit.pledge_of(pledged) == Pledge(
        pledged, cast.tier2.address, due, cast.bank.address, 150_000 * CNY, 100_000 * CNY, 0, 0
    )
    assert not credit.pledge_of(story.part).exists
    if approval != "the whole voucher":
        assert v.call("allowance(uint256,address)", story.part, credit.address) == 0  # spent
    # What tier 2 kept moves freely: it passes 50,000.00 on to tier 3.
    v.split_transfer(cast.tier2, story.part, cast.tier3.address, 50_000 * CNY)
    assert v.value_of(story.part) == 200_000 * CNY


def test_the_desk_takes_nothing_tier2_did_not_approve(suite, cast, story, refused):
    due = story.maturity - 30 * DAY
    refused(
        suite.credit, cast.tier2, "pledge", story.part, PART, cast.bank.address, SECURED, due,
        error="NotAuthorized", tokenId=story.part, spender=suite.credit.address,
    )
    refused(
        suite.credit, cast.tier2, "pledge", story.part, 150_000 * CNY, cast.bank.address, SECURED // 2, due,
        error="InsufficientAllowance", tokenId=story.part, spender=suite.credit.address,
        allowance=0, needed=150_000 * CNY,
    )
    # A value allowance of 100,000.00 does not cover a pledge of 150,000.00.
    suite.voucher.approve_value(cast.tier2, story.part, suite.credit.address, 100_000 * CNY)
    refused(
        suite.credit, cast.tier2, "pledge", story.part, 150_000 * CNY, cast.bank.address, SECURED // 2, due,
        error="InsufficientAllowance", tokenId=story.part, spender=suite.credit.address,
        allowance=100_000 * CNY, needed=150_000 * CNY,
    )


def test_while_pledged_nobody_can_move_split_merge_or_discount_tier2s_part(suite, cast, story, refused):
    v = suite.voucher
    pledge_part(suite, cast, story)
    desk = suite.credit.address

    # Tier 2 no longer holds it: no whole transfer, no split, no split-transfer.
    refused(v, cast.tier2, WHOLE_TRANSFER, cast.tier2.address, cast.tier3.address, story.part,
            error="NotHolder", tokenId=story.part, account=cast.tier2.address)
    refused(v, cast.tier2, WHOLE_TRANSFER, desk, cast.tier3.address, story.part,
            error="NotAuthorized", tokenId=story.part, spender=cast.tier2.address)
    refused(v, cast.tier2, "split", story.part, [100_000 * CNY],
            error="NotHolder", tokenId=story.part, account=cast.tier2.address)
    refused(v, cast.tier2, SPLIT_TRANSFER, story.part, cast.tier3.address, 100_000 * CNY,
            error="InsufficientAllowance", tokenId=story.part, spender=cast.tier2.address,
            allowance=0, needed=100_000 * CNY)
    refused(v, cast.tier2, "approve(address,uint256)", cast.tier3.address, story.part,
            error="NotAuthorized", tokenId=story.part, spender=cast.tier2.address)
    # The pledgee cannot help itself to it either.
    refused(v, cast.bank, WHOLE_TRANSFER, desk, cast.bank.address, story.part,
            error="NotAuthorized", tokenId=story.part, spender=cast.bank.address)

    # Nor can tier 2 sell it to the bank at the discount desk (the bank gave the desk a line).
    suite.token.approve(cast.bank, suite.desk.address, PART)
    deal = DiscountOffer(
        token_id=story.part, value=PART, rate_bps=500, deadline=suite.conn.block_timestamp() + DAY, nonce=1,
        financier=cast.bank.address, seller=cast.tier2.address,
    )
    refused(suite.desk, cast.tier2, "discount", deal.as_tuple(), suite.desk.sign(cast.bank.key, deal),
            error="NotHolder", tokenId=story.part, account=cast.tier2.address)

    # Tier 1 merging value into the pledged voucher would change the collateral: the desk
    # refuses unsolicited value, so the ledger reports the desk as an invalid receiver.
    refused(v, cast.tier1, MERGE, story.root, story.part, 10_000 * CNY, error="InvalidReceiver", receiver=desk)
    # And nothing can be split off it to the desk as a new voucher either.
    refused(v, cast.tier1, SPLIT_TRANSFER, story.root, desk, 10_000 * CNY, error="InvalidReceiver", receiver=desk)

    assert (v.owner_of(story.part), v.value_of(story.part)) == (desk, PART)


def test_the_bank_releases_the_pledge_before_maturity_and_tier2_has_its_voucher_back(suite, cast, story):
    v, credit = suite.voucher, suite.credit
    pledge_part(suite, cast, story)

    result = credit.release_pledge(cast.bank, story.part)

    assert event_args(result, credit, "PledgeReleased") == [{
        "tokenId": story.part, "pledgee": cast.bank.address, "pledgor": cast.tier2.address, "returned": True,
    }]
    assert (v.owner_of(story.part), v.value_of(story.part)) == (cast.tier2.address, PART)
    assert not credit.pledge_of(story.part).exists
    # Free again: tier 2 splits it, and may pledge it anew.
    v.split(cast.tier2, story.part, [100_000 * CNY])
    assert v.value_of(story.part) == 300_000 * CNY
    pledged, _ = pledge_part(suite, cast, story, 300_000 * CNY, 200_000 * CNY)
    assert pledged == story.part


def test_a_pledge_released_after_maturity_stays_in_custody_and_pays_tier2_everything_after(
    suite, cast, story, travel
):
    """The slot is 40 % funded when it goes overdue: the pledged 400,000.00 is paid its share,
    160,000.00, all to the bank (below the 250,000.00 secured). The bank is repaid otherwise and
    releases the pledge: the voucher cannot move any more, so it stays in custody, and the
    240,000.00 it is paid once the hospital funds the rest go to tier 2 alone."""
    v, credit = suite.voucher, suite.credit
    due = story.maturity - 30 * DAY
    pledge_part(suite, cast, story, due=due)
    fund(suite, cast, story.slot, 400_000 * CNY)
    go_overdue(suite, cast, story, travel)
    supply = suite.token.total_supply()

    credit.collect(cast.outsider, story.part)
    assert balances(suite, bank=cast.bank.address, tier2=cast.tier2.address) == {
        "bank": BANK_OPENING_CASH + 160_000 * CNY, "tier2": 0,
    }

    result = credit.release_pledge(cast.bank, story.part)

    assert event_args(result, credit, "PledgeReleased") == [{
        "tokenId": story.part, "pledgee": cast.bank.address, "pledgor": cast.tier2.address, "returned": False,
    }]
    assert v.owner_of(story.part) == credit.address
    # The secured amount drops to what the bank was paid: nothing more is owed to it.
    assert credit.pledge_of(story.part) == Pledge(
        story.part, cast.tier2.address, due, cast.bank.address, PART, 160_000 * CNY, 160_000 * CNY, 160_000 * CNY
    )

    fund(suite, cast, story.slot, 600_000 * CNY)
    result = credit.collect(cast.outsider, story.part)

    assert event_args(result, credit, "PledgePayout") == [{
        "tokenId": story.part, "pledgee": cast.bank.address, "pledgor": cast.tier2.address,
        "toPledgee": 0, "toPledgor": 240_000 * CNY, "closed": True,
    }]
    assert balances(suite, bank=cast.bank.address, tier2=cast.tier2.address, desk=credit.address) == {
        "bank": BANK_OPENING_CASH + 160_000 * CNY, "tier2": 240_000 * CNY, "desk": 0,
    }
    assert not credit.pledge_of(story.part).exists
    assert not v.voucher(story.part).exists
    assert suite.token.total_supply() == supply


def test_a_pledge_released_after_maturity_before_any_payout_leaves_the_bank_nothing(suite, cast, story, travel):
    credit = suite.credit
    pledge_part(suite, cast, story)
    fund(suite, cast, story.slot, FACE)
    past_maturity(suite, story, travel)

    credit.release_pledge(cast.bank, story.part)
    assert credit.pledge_of(story.part).secured == 0
    result = credit.collect(cast.outsider, story.part)

    assert event_args(result, credit, "PledgePayout") == [{
        "tokenId": story.part, "pledgee": cast.bank.address, "pledgor": cast.tier2.address,
        "toPledgee": 0, "toPledgor": PART, "closed": True,
    }]
    assert suite.token.balance_of(cast.bank.address) == BANK_OPENING_CASH
    assert suite.token.balance_of(cast.tier2.address) == PART


def test_the_bank_enforces_a_pledge_securing_the_whole_voucher_from_its_due_date(
    suite, cast, story, w3, refused
):
    v, credit = suite.voucher, suite.credit
    due = story.maturity - 30 * DAY
    pledge_part(suite, cast, story, PART, PART, due)

    next_block_at(w3, due - 1)
    refused(credit, cast.bank, "enforcePledge", story.part, error="PledgeNotDue", tokenId=story.part, dueDate=due)

    next_block_at(w3, due)  # sent with a fixed gas limit: an estimate would run a second early
    result = credit.send(cast.bank, "enforcePledge", story.part, gas=REFUSAL_GAS)

    assert suite.conn.block_timestamp(result.block_number) == due
    assert (v.owner_of(story.part), v.value_of(story.part)) == (cast.bank.address, PART)
    assert event_args(result, credit, "PledgeEnforced") == [{
        "tokenId": story.part, "pledgee": cast.bank.address, "pledgor": cast.tier2.address,
        "pledgeeTokenId": story.part, "value": PART, "restReturned": True,
    }]
    assert not credit.pledge_of(story.part).exists
    assert v.call("balanceOf(address)", cast.tier2.address) == 0
    # The bank's voucher is an ordinary one: it passes 100,000.00 on to tier 3.
    v.split_transfer(cast.bank, story.part, cast.tier3.address, 100_000 * CNY)


def test_enforcing_a_pledge_of_250k_gives_the_bank_250k_and_returns_150k_to_tier2(suite, cast, story, travel):
    v, credit = suite.voucher, suite.credit
    pledge_part(suite, cast, story, PART, SECURED, story.maturity - 30 * DAY)
    travel(60 * DAY)

    taken, result = credit.enforce_pledge(cast.bank, story.part)

    assert taken == token_id(story.slot, 3)
    assert (v.voucher(taken).owner, v.voucher(taken).value, v.voucher(taken).parent) == (
        cast.bank.address, SECURED, story.part
    )
    assert (v.owner_of(story.part), v.value_of(story.part)) == (cast.tier2.address, 150_000 * CNY)
    assert event_args(result, credit, "PledgeEnforced") == [{
        "tokenId": story.part, "pledgee": cast.bank.address, "pledgor": cast.tier2.address,
        "pledgeeTokenId": taken, "value": SECURED, "restReturned": True,
    }]
    assert not credit.pledge_of(story.part).exists
    assert not credit.pledge_of(taken).exists
    assert suite.token.balance_of(credit.address) == 0


def test_enforcing_a_pledged_part_gives_the_bank_its_secured_share_and_tier2_the_rest(suite, cast, story, travel):
    """Tier 2 pledged 150,000.00 of its 400,000.00 securing 100,000.00: on enforcement the bank
    holds 100,000.00 and tier 2 has two vouchers, the 250,000.00 it kept and the 50,000.00 back."""
    v, credit = suite.voucher, suite.credit
    approve_desk(suite, cast.tier2, story.part)
    pledged, _ = credit.pledge(
        cast.tier2, story.part, 150_000 * CNY, cast.bank.address, 100_000 * CNY, story.maturity - 30 * DAY
    )
    travel(60 * DAY)

    taken, _ = credit.enforce_pledge(cast.bank, pledged)

    assert taken == token_id(story.slot, 4)
    assert (v.voucher(taken).owner, v.voucher(taken).value) == (cast.bank.address, 100_000 * CNY)
    assert (v.owner_of(pledged), v.value_of(pledged)) == (cast.tier2.address, 50_000 * CNY)
    assert (v.owner_of(story.part), v.value_of(story.part)) == (cast.tier2.address, 250_000 * CNY)


def test_enforcement_closes_at_maturity(suite, cast, story, w3, refused):
    credit = suite.credit
    pledge_part(suite, cast, story)

    next_block_at(w3, story.maturity)
    refused(credit, cast.bank, "enforcePledge", story.part,
            error="EnforcementClosed", tokenId=story.part, maturity=story.maturity)
    # Nor later, even fully funded: the payouts go to the bank first anyway.
    fund(suite, cast, story.slot, FACE)
    refused(credit, cast.bank, "enforcePledge", story.part,
            error="EnforcementClosed", tokenId=story.part, maturity=story.maturity)


def test_matured_and_fully_funded_the_pledged_part_pays_the_bank_250k_and_tier2_150k(
    suite, cast, story, travel, refused
):
    v, credit = suite.voucher, suite.credit
    pledge_part(suite, cast, story)
    fund(suite, cast, story.slot, FACE)
    past_maturity(suite, story, travel)
    supply = suite.token.total_supply()

    result = credit.collect(cast.outsider, story.part)  # anyone may collect

    assert event_args(result, credit, "PledgePayout") == [{
        "tokenId": story.part, "pledgee": cast.bank.address, "pledgor": cast.tier2.address,
        "toPledgee": SECURED, "toPledgor": 150_000 * CNY, "closed": True,
    }]
    assert event_args(result, v, "VoucherRedeemed") == [{
        "tokenId": story.part, "slot": story.slot, "holder": credit.address, "value": PART,
    }]
    assert balances(suite, bank=cast.bank.address, tier2=cast.tier2.address, desk=credit.address) == {
        "bank": BANK_OPENING_CASH + 250_000 * CNY, "tier2": 150_000 * CNY, "desk": 0,
    }
    assert not v.voucher(story.part).exists
    assert not credit.pledge_of(story.part).exists
    assert suite.token.total_supply() == supply
    # The pledge is over: nothing more to collect or distribute.
    refused(credit, cast.outsider, "distribute", story.part, error="NotPledged", tokenId=story.part)
    refused(credit, cast.outsider, "collect", story.part, error="NotPledged", tokenId=story.part)


def test_while_the_settlement_token_is_paused_nothing_is_distributed_nor_held(suite, cast, story, travel, refused):
    """A pause stops every payment: the desk refuses to pass the voucher's cash on (it does not
    keep it as if the bank and tier 2 could not hold cash) and pays both once resumed."""
    v, credit = suite.voucher, suite.credit
    pledge_part(suite, cast, story)
    fund(suite, cast, story.slot, FACE)
    past_maturity(suite, story, travel)
    v.redeem(cast.outsider, story.part)  # a keeper redeems at the ledger: the desk holds 400,000.00
    suite.token.send(cast.operator, "pause")

    refused(credit, cast.outsider, "distribute", story.part, error="SettlementPaused")

    suite.token.send(cast.operator, "unpause")
    credit.distribute(cast.outsider, story.part)
    assert balances(suite, bank=cast.bank.address, tier2=cast.tier2.address, desk=credit.address) == {
        "bank": BANK_OPENING_CASH + SECURED, "tier2": PART - SECURED, "desk": 0,
    }
    assert credit.held_for(cast.bank.address) == credit.held_for(cast.tier2.address) == 0


def test_a_pledge_securing_the_whole_voucher_pays_the_bank_everything(suite, cast, story, travel):
    credit = suite.credit
    pledge_part(suite, cast, story, PART, PART)
    fund(suite, cast, story.slot, FACE)
    past_maturity(suite, story, travel)

    result = credit.collect(cast.tier2, story.part)

    assert [(e["toPledgee"], e["toPledgor"], e["closed"]) for e in event_args(result, credit, "PledgePayout")] == [
        (PART, 0, True)
    ]
    assert balances(suite, bank=cast.bank.address, tier2=cast.tier2.address, desk=credit.address) == {
        "bank": BANK_OPENING_CASH + PART, "tier2": 0, "desk": 0,
    }


def test_an_overdue_slot_pays_the_bank_first_across_partial_fundings_and_a_keepers_redemption(
    suite, cast, story, travel, insurer, accepted_voucher, refused
):
    """The hospital funds 40 % before maturity and defaults. The pledged 400,000.00 is due 40 %
    of its nominal at each step (pro rata: 400,000.00 x funded / 1,000,000.00):
    - 400,000.00 funded: collect pays 160,000.00, all to the bank (secured 250,000.00);
    - 700,000.00 funded: a keeper redeems at the ledger, 280,000.00 - 160,000.00 = 120,000.00
      reach the desk; distribute pays the bank the 90,000.00 it is still owed, tier 2 30,000.00;
    - fully funded: collect pays the last 120,000.00, all to tier 2.
    An insurer's unbought offer on another slot sits in the desk all along: after each
    distribution the desk holds exactly that escrow."""
    v, credit = suite.voucher, suite.credit
    other_slot, _ = accepted_voucher(500_000 * CNY, 60)
    offer(suite, insurer, other_slot, cover=300_000 * CNY)
    escrow = 300_000 * CNY
    due = story.maturity - 30 * DAY
    pledge_part(suite, cast, story, due=due)
    fund(suite, cast, story.slot, 400_000 * CNY)
    go_overdue(suite, cast, story, travel)
    supply = suite.token.total_supply()
    bank0 = BANK_OPENING_CASH

    result = credit.collect(cast.outsider, story.part)
    assert event_args(result, credit, "PledgePayout") == [{
        "tokenId": story.part, "pledgee": cast.bank.address, "pledgor": cast.tier2.address,
        "toPledgee": 160_000 * CNY, "toPledgor": 0, "closed": False,
    }]
    assert credit.pledge_of(story.part) == Pledge(
        story.part, cast.tier2.address, due, cast.bank.address, PART, SECURED, 160_000 * CNY, 160_000 * CNY
    )
    assert v.value_of(story.part) == 240_000 * CNY and v.owner_of(story.part) == credit.address
    assert balances(suite, bank=cast.bank.address, tier2=cast.tier2.address, desk=credit.address) == {
        "bank": bank0 + 160_000 * CNY, "tier2": 0, "desk": escrow,
    }
    refused(credit, cast.outsider, "distribute", story.part, error="NothingToDistribute", tokenId=story.part)

    fund(suite, cast, story.slot, 300_000 * CNY)
    v.redeem(cast.operator, story.part)  # a keeper, at the ledger: the desk is paid
    assert suite.token.balance_of(credit.address) == escrow + 120_000 * CNY
    result = credit.distribute(cast.outsider, story.part)
    assert event_args(result, credit, "PledgePayout") == [{
        "tokenId": story.part, "pledgee": cast.bank.address, "pledgor": cast.tier2.address,
        "toPledgee": 90_000 * CNY, "toPledgor": 30_000 * CNY, "closed": False,
    }]
    assert credit.pledge_of(story.part) == Pledge(
        story.part, cast.tier2.address, due, cast.bank.address, PART, SECURED, SECURED, 280_000 * CNY
    )
    assert balances(suite, bank=cast.bank.address, tier2=cast.tier2.address, desk=credit.address) == {
        "bank": bank0 + 250_000 * CNY, "tier2": 30_000 * CNY, "desk": escrow,
    }
    refused(credit, cast.outsider, "distribute", story.part, error="NothingToDistribute", tokenId=story.part)

    fund(suite, cast, story.slot, 300_000 * CNY)
    result = credit.collect(cast.tier1, story.part)
    assert event_args(result, credit, "PledgePayout") == [{
        "tokenId": story.part, "pledgee": cast.bank.address, "pledgor": cast.tier2.address,
        "toPledgee": 0, "toPledgor": 120_000 * CNY, "closed": True,
    }]
    assert balances(suite, bank=cast.bank.address, tier2=cast.tier2.address, desk=credit.address) == {
        "bank": bank0 + 250_000 * CNY, "tier2": 150_000 * CNY, "desk": escrow,
    }
    assert not credit.pledge_of(story.part).exists
    # Tier 1's 600,000.00 is untouched by the pledge: it is paid in full at the ledger.
    v.redeem(cast.tier1, story.root)
    assert suite.token.balance_of(cast.tier1.address) == REST
    assert suite.token.balance_of(v.address) == 0
    assert suite.token.total_supply() == supply


# ------------------------------------------------------------------ pledge refusals


@pytest.fixture
def due(story) -> int:
    return story.maturity - 30 * DAY


def test_only_the_holder_can_pledge_a_voucher(suite, cast, story, due, refused):
    approve_desk(suite, cast.tier2, story.part)
    refused(suite.credit, cast.tier3, "pledge", story.part, PART, cast.bank.address, SECURED, due,
            error="NotHolder", tokenId=story.part, account=cast.tier3.address)
    # Not the voucher's approved agent either, nor the pledgee.
    refused(suite.credit, cast.bank, "pledge", story.part, PART, cast.bank.address, SECURED, due,
            error="NotHolder", tokenId=story.part, account=cast.bank.address)
    refused(suite.credit, cast.outsider, "pledge", token_id(story.slot, 9), PART, cast.bank.address, SECURED, due,
            error="NotHolder", tokenId=token_id(story.slot, 9), account=cast.outsider.address)


def test_a_frozen_voucher_cannot_be_pledged(suite, cast, story, due, refused):
    approve_desk(suite, cast.tier2, story.part)
    suite.voucher.freeze(cast.operator, story.part, COURT_ORDER)
    refused(suite.credit, cast.tier2, "pledge", story.part, PART, cast.bank.address, SECURED, due,
            error="VoucherFrozen", tokenId=story.part)


def test_a_pledged_voucher_cannot_be_pledged_again(suite, cast, story, due, refused):
    pledge_part(suite, cast, story)
    for who in (cast.tier2, cast.bank):
        refused(suite.credit, who, "pledge", story.part, PART, cast.bank.address, SECURED, due,
                error="AlreadyPledged", tokenId=story.part)


def test_a_pledge_cannot_secure_more_than_its_value_nor_take_more_than_the_voucher(suite, cast, story, due, refused):
    approve_desk(suite, cast.tier2, story.part)
    refused(suite.credit, cast.tier2, "pledge", story.part, 150_000 * CNY, cast.bank.address, 150_000 * CNY + 1, due,
            error="SecuredAboveValue", secured=150_000 * CNY + 1, value=150_000 * CNY)
    refused(suite.credit, cast.tier2, "pledge", story.part, PART + 1, cast.bank.address, SECURED, due,
            error="ValueAboveVoucher", value=PART + 1, voucherValue=PART)
    refused(suite.credit, cast.tier2, "pledge", story.part, 0, cast.bank.address, 0, due, error="ZeroAmount")
    refused(suite.credit, cast.tier2, "pledge", story.part, PART, cast.bank.address, 0, due, error="ZeroAmount")


def test_a_voucher_is_pledged_only_to_an_active_financier_other_than_the_desk(suite, cast, story, due, refused):
    approve_desk(suite, cast.tier2, story.part)
    for pledgee in (cast.tier3.address, cast.hospital.address, cast.auditor.address, cast.outsider.address,
                    suite.credit.address, ZERO_ADDRESS):
        refused(suite.credit, cast.tier2, "pledge", story.part, PART, pledgee, SECURED, due,
                error="NotFinancier", account=pledgee)
    suite.registry.suspend(cast.operator, cast.bank.address, keccak(text="licence under review"))
    refused(suite.credit, cast.tier2, "pledge", story.part, PART, cast.bank.address, SECURED, due,
            error="NotFinancier", account=cast.bank.address)


def test_a_financier_cannot_pledge_its_own_voucher_to_itself(suite, cast, story, due, refused):
    suite.voucher.transfer_whole(cast.tier2, cast.tier2.address, cast.bank.address, story.part)
    approve_desk(suite, cast.bank, story.part)
    refused(suite.credit, cast.bank, "pledge", story.part, PART, cast.bank.address, SECURED, due,
            error="SelfPledge", account=cast.bank.address)


def test_a_pledge_falls_due_after_now_and_before_maturity(suite, cast, story, w3, refused):
    approve_desk(suite, cast.tier2, story.part)
    now = suite.conn.block_timestamp() + 100
    for due in (now, now - DAY, story.maturity, story.maturity + DAY):
        next_block_at(w3, now)
        refused(suite.credit, cast.tier2, "pledge", story.part, PART, cast.bank.address, SECURED, due,
                error="DueDateOutOfRange", dueDate=due, now_=now, maturity=story.maturity)
        now += 1
    # One second either side of the window is fine.
    next_block_at(w3, now)
    pledged, _ = suite.credit.pledge(cast.tier2, story.part, 100_000 * CNY, cast.bank.address, SECURED // 5, now + 1)
    approve_desk(suite, cast.tier2, story.part)
    suite.credit.pledge(cast.tier2, story.part, 100_000 * CNY, cast.bank.address, SECURED // 5, story.maturity - 1)
    assert suite.credit.pledge_of(pledged).due_date == now + 1


def test_only_the_pledgee_releases_or_enforces_a_pledge(suite, cast, story, travel, refused):
    pledge_part(suite, cast, story)
    for who in (cast.tier2, cast.tier1, cast.outsider, cast.operator):
        refused(suite.credit, who, "releasePledge", story.part,
                error="NotHolder", tokenId=story.part, account=who.address)
    travel(60 * DAY + 1)  # past the due date
    for who in (cast.tier2, cast.tier1, cast.outsider, cast.operator):
        refused(suite.credit, who, "enforcePledge", story.part,
                error="NotHolder", tokenId=story.part, account=who.address)


def test_a_voucher_never_pledged_cannot_be_released_enforced_collected_or_distributed(suite, cast, story, refused):
    for function in ("releasePledge", "enforcePledge", "collect", "distribute"):
        refused(suite.credit, cast.bank, function, story.part, error="NotPledged", tokenId=story.part)
    refused(suite.credit, cast.tier2, "reclaim", story.part, error="NotPledged", tokenId=story.part)
    # Nor one the bank released already.
    pledge_part(suite, cast, story)
    suite.credit.release_pledge(cast.bank, story.part)
    for function in ("releasePledge", "enforcePledge", "collect", "distribute"):
        refused(suite.credit, cast.bank, function, story.part, error="NotPledged", tokenId=story.part)
    refused(suite.credit, cast.tier2, "reclaim", story.part, error="NotPledged", tokenId=story.part)


# ================================================================= credit insurance


def test_an_insurer_escrows_its_cover_and_the_hospital_buys_it(suite, cast, story, insurer):
    credit = suite.credit
    deadline = suite.conn.block_timestamp() + 10 * DAY
    supply = suite.token.total_supply()

    result = offer(suite, insurer, story.slot, deadline=deadline)

    assert event_args(result, credit, "CoverOffered") == [{
        "slot": story.slot, "insurer": insurer.address, "cover": COVER, "premium": PREMIUM,
        "order": int(Recovery.HOLDERS_FIRST), "offerDeadline": deadline,
    }]
    assert credit.policy_of(story.slot) == Policy(
        story.slot, insurer.address, deadline, CoverState.OFFERED, Recovery.HOLDERS_FIRST, ZERO_ADDRESS,
        COVER, PREMIUM, 0, 0,
    )
    assert balances(suite, insurer=insurer.address, desk=credit.address) == {
        "insurer": INSURER_CASH - COVER, "desk": COVER,
    }

    result = buy(suite, cast.hospital, story.slot)

    assert event_args(result, credit, "CoverBought") == [{
        "slot": story.slot, "buyer": cast.hospital.address, "insurer": insurer.address, "premium": PREMIUM,
    }]
    policy = credit.policy_of(story.slot)
    assert (policy.state, policy.buyer) == (CoverState.ACTIVE, cast.hospital.address)
    assert balances(suite, insurer=insurer.address, desk=credit.address, hospital=cast.hospital.address) == {
        "insurer": INSURER_CASH - COVER + PREMIUM, "desk": COVER, "hospital": HOSPITAL_OPENING_CASH - PREMIUM,
    }
    assert credit.call("insurerOwed", story.slot) == 0
    assert suite.token.total_supply() == supply


def test_tier2_a_holder_of_the_slot_buys_the_cover_itself(suite, cast, story, insurer):
    suite.token.transfer(cast.bank, cast.tier2.address, PREMIUM)  # a loan from the bank, say
    offer(suite, insurer, story.slot)

    result = buy(suite, cast.tier2, story.slot, story.part)

    assert [e["buyer"] for e in event_args(result, suite.credit, "CoverBought")] == [cast.tier2.address]
    assert suite.credit.policy_of(story.slot).buyer == cast.tier2.address
    assert balances(suite, insurer=insurer.address, tier2=cast.tier2.address) == {
        "insurer": INSURER_CASH - COVER + PREMIUM, "tier2": 0,
    }


def test_a_claim_pays_the_whole_cover_into_a_slot_that_lacks_more(suite, cast, story, insurer, travel, refused):
    """Funded 300,000.00 of 1,000,000.00, covered 600,000.00: the claim pays the whole cover;
    the slot is 900,000.00 funded and the hospital owes the insurer 600,000.00."""
    credit, v = suite.credit, suite.voucher
    offer(suite, insurer, story.slot)
    buy(suite, cast.hospital, story.slot)
    fund(suite, cast, story.slot, 300_000 * CNY)
    supply = suite.token.total_supply()

    refused(credit, cast.tier2, "claim", story.slot, error="ClaimNotDue", slot=story.slot)
    past_maturity(suite, story, travel)
    refused(credit, cast.tier2, "claim", story.slot, error="ClaimNotDue", slot=story.slot)
    travel(GRACE)  # the grace period is over, but nobody marked the slot overdue yet
    refused(credit, cast.tier2, "claim", story.slot, error="ClaimNotDue", slot=story.slot)
    v.mark_overdue(cast.tier2, story.slot)

    result = credit.claim(cast.tier2, story.slot)

    assert event_args(result, credit, "ClaimPaid") == [{
        "slot": story.slot, "insurer": insurer.address, "trigger": cast.tier2.address,
        "paid": COVER, "refunded": 0,
    }]
    assert v.slot(story.slot).funded == 900_000 * CNY
    policy = credit.policy_of(story.slot)
    assert (policy.state, policy.claim_paid, policy.recovered) == (CoverState.CLAIMED, COVER, 0)
    assert credit.call("insurerOwed", story.slot) == COVER
    assert balances(suite, insurer=insurer.address, desk=credit.address, ledger=v.address) == {
        "insurer": INSURER_CASH - COVER + PREMIUM, "desk": 0, "ledger": 900_000 * CNY,
    }
    refused(credit, cast.tier1, "claim", story.slot,
            error="UnexpectedCoverState", slot=story.slot, state=int(CoverState.CLAIMED))
    # The holders are paid pro rata from what the claim added: tier 2 360,000.00 of its 400,000.00.
    v.redeem(cast.operator, story.part)
    assert suite.token.balance_of(cast.tier2.address) == 360_000 * CNY
    assert suite.token.total_supply() == supply


def test_a_claim_pays_only_what_the_slot_lacks_and_refunds_the_rest_of_the_escrow(
    suite, cast, story, insurer, travel
):
    """Funded 700,000.00, covered 600,000.00: the claim pays 300,000.00 and refunds 300,000.00."""
    credit, v = suite.credit, suite.voucher
    offer(suite, insurer, story.slot)
    buy(suite, cast.hospital, story.slot)
    fund(suite, cast, story.slot, 700_000 * CNY)
    go_overdue(suite, cast, story, travel)

    result = credit.claim(cast.outsider, story.slot)

    assert event_args(result, credit, "ClaimPaid") == [{
        "slot": story.slot, "insurer": insurer.address, "trigger": cast.outsider.address,
        "paid": 300_000 * CNY, "refunded": 300_000 * CNY,
    }]
    assert v.slot(story.slot).funded == FACE
    assert v.outstanding_of(cast.hospital.address) == 0  # the completing payment frees the credit line
    assert credit.call("insurerOwed", story.slot) == 300_000 * CNY
    assert balances(suite, insurer=insurer.address, desk=credit.address) == {
        "insurer": INSURER_CASH - COVER + PREMIUM + 300_000 * CNY, "desk": 0,
    }
    # Fully funded: every holder is paid in full.
    v.redeem(cast.operator, story.part)
    v.redeem(cast.operator, story.root)
    assert balances(suite, tier1=cast.tier1.address, tier2=cast.tier2.address) == {"tier1": REST, "tier2": PART}


def test_cover_in_force_on_a_slot_funded_late_has_nothing_to_claim_and_is_withdrawn(
    suite, cast, story, insurer, travel, refused
):
    credit = suite.credit
    offer(suite, insurer, story.slot)
    buy(suite, cast.hospital, story.slot)
    go_overdue(suite, cast, story, travel)
    refused(credit, insurer, "withdrawCover", story.slot, error="CoverInForce", slot=story.slot)
    fund(suite, cast, story.slot, FACE)  # the hospital pays late, in full

    refused(credit, cast.tier2, "claim", story.slot, error="NothingToClaim", slot=story.slot)
    result = credit.withdraw_cover(insurer, story.slot)

    assert event_args(result, credit, "CoverWithdrawn") == [
        {"slot": story.slot, "insurer": insurer.address, "refunded": COVER}
    ]
    assert credit.policy_of(story.slot).state == CoverState.CLOSED
    assert balances(suite, insurer=insurer.address, desk=credit.address) == {
        "insurer": INSURER_CASH + PREMIUM, "desk": 0,
    }
    refused(credit, cast.tier2, "claim", story.slot,
            error="UnexpectedCoverState", slot=story.slot, state=int(CoverState.CLOSED))


def test_an_offer_nobody_bought_is_withdrawn_in_full_and_the_slot_is_open_to_another_insurer(
    suite, cast, story, insurer, second_insurer, refused
):
    credit = suite.credit
    offer(suite, insurer, story.slot)
    refused(credit, second_insurer, "withdrawCover", story.slot,
            error="NotPolicyInsurer", slot=story.slot, account=second_insurer.address)
    refused(credit, cast.hospital, "withdrawCover", story.slot,
            error="NotPolicyInsurer", slot=story.slot, account=cast.hospital.address)

    credit.withdraw_cover(insurer, story.slot)

    assert balances(suite, insurer=insurer.address, desk=credit.address) == {"insurer": INSURER_CASH, "desk": 0}
    refused(credit, insurer, "withdrawCover", story.slot,
            error="UnexpectedCoverState", slot=story.slot, state=int(CoverState.CLOSED))
    refused(credit, cast.hospital, "buyCover", story.slot, 0, *terms(suite, story.slot),
            error="UnexpectedCoverState", slot=story.slot, state=int(CoverState.CLOSED))
    offer(suite, second_insurer, story.slot, cover=400_000 * CNY, premium=10_000 * CNY)
    assert credit.policy_of(story.slot).insurer == second_insurer.address
    assert balances(suite, second=second_insurer.address, desk=credit.address) == {
        "second": INSURER_CASH - 400_000 * CNY, "desk": 400_000 * CNY,
    }


def test_an_offer_nobody_bought_pays_no_claim_when_the_slot_defaults(suite, cast, story, insurer, travel, refused):
    """Cover is in force only once bought: the hospital defaults on an offer nobody took, and
    the insurer takes its whole escrow back."""
    credit = suite.credit
    offer(suite, insurer, story.slot)
    go_overdue(suite, cast, story, travel)

    for who in (cast.tier1, cast.tier2, cast.hospital):
        refused(credit, who, "claim", story.slot,
                error="UnexpectedCoverState", slot=story.slot, state=int(CoverState.OFFERED))
    refused(credit, cast.tier1, "claim", story.slot + 1,
            error="UnexpectedCoverState", slot=story.slot + 1, state=int(CoverState.NONE))
    credit.withdraw_cover(insurer, story.slot)

    assert balances(suite, insurer=insurer.address, desk=credit.address) == {"insurer": INSURER_CASH, "desk": 0}
    assert suite.voucher.slot(story.slot).funded == 0


def test_cover_in_force_is_withdrawn_once_the_slot_is_fully_funded_before_maturity(
    suite, cast, story, insurer, refused
):
    credit = suite.credit
    offer(suite, insurer, story.slot)
    buy(suite, cast.hospital, story.slot)
    refused(credit, insurer, "withdrawCover", story.slot, error="CoverInForce", slot=story.slot)
    fund(suite, cast, story.slot, 999_999_99)
    refused(credit, insurer, "withdrawCover", story.slot, error="CoverInForce", slot=story.slot)
    fund(suite, cast, story.slot, 1)

    credit.withdraw_cover(insurer, story.slot)

    assert balances(suite, insurer=insurer.address, desk=credit.address) == {
        "insurer": INSURER_CASH + PREMIUM, "desk": 0,
    }


def test_only_an_active_insurer_offers_cover_and_never_above_face_value(suite, cast, story, insurer, refused):
    credit = suite.credit
    deadline = suite.conn.block_timestamp() + 10 * DAY
    suite.token.approve(cast.bank, credit.address, COVER)
    for who in (cast.bank, cast.tier1, cast.hospital, cast.outsider):
        refused(credit, who, "offerCover", story.slot, COVER, PREMIUM, 0, deadline,
                error="NotInsurer", account=who.address)
    suite.token.approve(insurer, credit.address, FACE + 1)
    refused(credit, insurer, "offerCover", story.slot, FACE + 1, PREMIUM, 0, deadline,
            error="CoverAboveFace", cover=FACE + 1, faceValue=FACE)
    refused(credit, insurer, "offerCover", story.slot, 0, PREMIUM, 0, deadline, error="ZeroAmount")
    refused(credit, insurer, "offerCover", story.slot + 1, COVER, PREMIUM, 0, deadline,
            error="SlotNotCoverable", slot=story.slot + 1)
    refused(credit, insurer, "offerCover", story.slot, COVER, 2**64, 0, deadline,
            error="AmountTooLarge", value=2**64, max=2**64 - 1)
    suite.registry.suspend(cast.operator, insurer.address, keccak(text="solvency review"))
    refused(credit, insurer, "offerCover", story.slot, COVER, PREMIUM, 0, deadline,
            error="NotInsurer", account=insurer.address)
    suite.registry.reinstate(cast.operator, insurer.address)
    # Exactly the face value may be covered.
    offer(suite, insurer, story.slot, cover=FACE)
    assert suite.token.balance_of(credit.address) == FACE


def test_an_offer_cannot_expire_before_it_is_made_nor_cover_a_matured_slot(
    suite, cast, story, insurer, travel, w3, refused
):
    credit = suite.credit
    suite.token.approve(insurer, credit.address, COVER)
    now = suite.conn.block_timestamp() + 50
    next_block_at(w3, now)
    refused(credit, insurer, "offerCover", story.slot, COVER, PREMIUM, 0, now - 1,
            error="OfferExpired", deadline=now - 1, now_=now)
    past_maturity(suite, story, travel)
    refused(credit, insurer, "offerCover", story.slot, COVER, PREMIUM, 0, story.maturity + DAY,
            error="SlotNotCoverable", slot=story.slot)


def test_a_second_offer_on_a_covered_slot_is_refused(suite, cast, story, insurer, second_insurer, refused):
    credit = suite.credit
    deadline = suite.conn.block_timestamp() + 10 * DAY
    offer(suite, insurer, story.slot)
    suite.token.approve(second_insurer, credit.address, COVER)
    suite.token.approve(insurer, credit.address, COVER)
    for who in (second_insurer, insurer):
        refused(credit, who, "offerCover", story.slot, COVER // 2, PREMIUM // 2, 1, deadline,
                error="SlotAlreadyCovered", slot=story.slot)
    buy(suite, cast.hospital, story.slot)
    refused(credit, second_insurer, "offerCover", story.slot, COVER // 2, PREMIUM // 2, 1, deadline,
            error="SlotAlreadyCovered", slot=story.slot)


def test_only_the_debtor_or_a_holder_of_the_slot_in_good_standing_buys_the_cover_before_its_deadline(
    suite, cast, story, insurer, accepted_voucher, w3, refused
):
    credit = suite.credit
    _, other_root = accepted_voucher(FACE, 60)  # tier 1 holds a voucher of another slot
    deadline = suite.conn.block_timestamp() + 10 * DAY
    offer(suite, insurer, story.slot, deadline=deadline)
    suite.token.approve(cast.bank, credit.address, PREMIUM)
    attempts = [
        (cast.bank, 0),  # a financier with cash but no voucher of the slot
        (cast.tier1, other_root),  # a voucher of another slot
        (cast.tier3, story.part),  # tier 2's voucher, not tier 3's
        (cast.tier1, story.part),
        (cast.tier1, token_id(story.slot, 9)),  # no such voucher
    ]
    for who, token in attempts:
        refused(credit, who, "buyCover", story.slot, token, *terms(suite, story.slot),
                error="NotDebtorOrHolder", slot=story.slot, account=who.address)
    refused(credit, cast.hospital, "buyCover", story.slot + 5, 0, *terms(suite, story.slot + 5),
            error="UnexpectedCoverState", slot=story.slot + 5, state=int(CoverState.NONE))
    # Only an active member buys cover: not an outsider, nor tier 2, a holder, while suspended.
    refused(credit, cast.outsider, "buyCover", story.slot, 0, *terms(suite, story.slot),
            error="NotActiveMember", account=cast.outsider.address)
    suite.token.transfer(cast.bank, cast.tier2.address, PREMIUM)
    suite.token.approve(cast.tier2, credit.address, PREMIUM)
    suite.registry.suspend(cast.operator, cast.tier2.address, SANCTIONS)
    refused(credit, cast.tier2, "buyCover", story.slot, story.part, *terms(suite, story.slot),
            error="NotActiveMember", account=cast.tier2.address)

    suite.token.approve(cast.hospital, credit.address, PREMIUM)
    next_block_at(w3, deadline + 1)
    refused(credit, cast.hospital, "buyCover", story.slot, 0, *terms(suite, story.slot),
            error="OfferExpired", deadline=deadline, now_=deadline + 1)


def test_an_offer_open_past_maturity_cannot_be_bought_after_it(suite, cast, story, insurer, travel, refused):
    offer(suite, insurer, story.slot, deadline=story.maturity + 30 * DAY)
    suite.token.approve(cast.hospital, suite.credit.address, PREMIUM)
    past_maturity(suite, story, travel)
    refused(suite.credit, cast.hospital, "buyCover", story.slot, 0, *terms(suite, story.slot),
            error="SlotNotCoverable", slot=story.slot)


def test_cover_bought_once_cannot_be_bought_again(suite, cast, story, insurer, refused):
    offer(suite, insurer, story.slot)
    buy(suite, cast.hospital, story.slot)
    suite.token.approve(cast.hospital, suite.credit.address, PREMIUM)
    refused(suite.credit, cast.hospital, "buyCover", story.slot, 0, *terms(suite, story.slot),
            error="UnexpectedCoverState", slot=story.slot, state=int(CoverState.ACTIVE))


# ---------------------------------------------------------------------- subrogation


@pytest.fixture
def claimed(suite, cast, story, insurer, travel):
    """Covered 600,000.00 for 18,000.00, funded 300,000.00 by the hospital, overdue, claimed:
    the slot is 900,000.00 funded and the hospital owes the insurer 600,000.00."""

    def make(order: Recovery) -> None:
        offer(suite, insurer, story.slot, order=order)
        buy(suite, cast.hospital, story.slot)
        fund(suite, cast, story.slot, 300_000 * CNY)
        go_overdue(suite, cast, story, travel)
        suite.credit.claim(cast.tier1, story.slot)

    return make


def test_after_a_claim_the_hospital_funds_only_through_the_desk(suite, cast, story, claimed, refused):
    claimed(Recovery.HOLDERS_FIRST)
    suite.token.approve(cast.hospital, suite.voucher.address, 100_000 * CNY)
    suite.token.approve(cast.bank, suite.voucher.address, 100_000 * CNY)
    for who in (cast.hospital, cast.bank):
        refused(suite.voucher, who, "fund", story.slot, 100_000 * CNY,
                error="FundThroughDesk", slot=story.slot, desk=suite.credit.address)


def test_holders_first_the_hospitals_payments_complete_the_slot_and_then_repay_the_insurer(
    suite, cast, story, insurer, claimed, refused
):
    """After the claim the slot lacks 100,000.00 and the hospital owes the insurer 600,000.00.
    It pays 250,000.00: 100,000.00 complete the slot, 150,000.00 go to the insurer; then
    450,000.00, all to the insurer. Tier 2 is paid 360,000.00 pro rata after the claim and its
    last 40,000.00 once the slot is complete."""
    credit, v = suite.credit, suite.voucher
    supply = suite.token.total_supply()
    claimed(Recovery.HOLDERS_FIRST)
    v.redeem(cast.operator, story.part)
    assert suite.token.balance_of(cast.tier2.address) == 360_000 * CNY  # 400,000.00 x 900,000.00 / 1,000,000.00

    result = pay(suite, cast.hospital, story.slot, 250_000 * CNY)

    assert event_args(result, credit, "PaidThroughDesk") == [{
        "slot": story.slot, "payer": cast.hospital.address, "toSlot": 100_000 * CNY,
        "toInsurer": 150_000 * CNY, "insurerOwed": 450_000 * CNY,
    }]
    assert v.slot(story.slot).funded == FACE
    assert v.outstanding_of(cast.hospital.address) == 0
    assert credit.call("insurerOwed", story.slot) == 450_000 * CNY
    assert credit.policy_of(story.slot).recovered == 150_000 * CNY
    assert suite.token.balance_of(insurer.address) == INSURER_CASH - COVER + PREMIUM + 150_000 * CNY
    v.redeem(cast.operator, story.part)
    assert suite.token.balance_of(cast.tier2.address) == PART

    refused(credit, cast.hospital, "pay", story.slot, 450_000 * CNY + 1,
            error="OverPayment", slot=story.slot, payable_=450_000 * CNY, amount=450_000 * CNY + 1)
    result = pay(suite, cast.hospital, story.slot, 450_000 * CNY)
    assert event_args(result, credit, "PaidThroughDesk") == [{
        "slot": story.slot, "payer": cast.hospital.address, "toSlot": 0,
        "toInsurer": 450_000 * CNY, "insurerOwed": 0,
    }]
    assert credit.policy_of(story.slot).recovered == COVER
    suite.token.approve(cast.hospital, credit.address, 1)
    refused(credit, cast.hospital, "pay", story.slot, 1, error="OverPayment", slot=story.slot, payable_=0, amount=1)

    v.redeem(cast.operator, story.root)
    assert balances(
        suite, insurer=insurer.address, hospital=cast.hospital.address, tier1=cast.tier1.address,
        tier2=cast.tier2.address, desk=credit.address, ledger=v.address,
    ) == {
        "insurer": INSURER_CASH + PREMIUM,  # the cover came back whole, and the premium is earned
        "hospital": HOSPITAL_OPENING_CASH - PREMIUM - 300_000 * CNY - 250_000 * CNY - 450_000 * CNY,
        "tier1": REST,
        "tier2": PART,
        "desk": 0,
        "ledger": 0,
    }
    assert suite.token.total_supply() == supply


def test_insurer_first_the_hospitals_payments_repay_the_insurer_before_the_slot(
    suite, cast, story, insurer, claimed, refused
):
    """After the claim the slot lacks 100,000.00 and the hospital owes the insurer 600,000.00.
    The hospital pays 250,000.00: all to the insurer. The bank, as guarantor, pays 400,000.00:
    350,000.00 finish repaying the insurer, 50,000.00 go into the slot (950,000.00 funded).
    The hospital pays the last 50,000.00. Tier 2 is paid 360,000.00, then 20,000.00, then 20,000.00."""
    credit, v = suite.credit, suite.voucher
    supply = suite.token.total_supply()
    claimed(Recovery.INSURER_FIRST)
    v.redeem(cast.operator, story.part)
    assert suite.token.balance_of(cast.tier2.address) == 360_000 * CNY

    result = pay(suite, cast.hospital, story.slot, 250_000 * CNY)
    assert event_args(result, credit, "PaidThroughDesk") == [{
        "slot": story.slot, "payer": cast.hospital.address, "toSlot": 0,
        "toInsurer": 250_000 * CNY, "insurerOwed": 350_000 * CNY,
    }]
    assert v.slot(story.slot).funded == 900_000 * CNY
    assert credit.policy_of(story.slot).recovered == 250_000 * CNY
    refused(v, cast.operator, "redeem", story.part, error="NothingToPay", tokenId=story.part)

    refused(credit, cast.bank, "pay", story.slot, 450_000 * CNY + 1,
            error="OverPayment", slot=story.slot, payable_=450_000 * CNY, amount=450_000 * CNY + 1)
    result = pay(suite, cast.bank, story.slot, 400_000 * CNY)
    assert event_args(result, credit, "PaidThroughDesk") == [{
        "slot": story.slot, "payer": cast.bank.address, "toSlot": 50_000 * CNY,
        "toInsurer": 350_000 * CNY, "insurerOwed": 0,
    }]
    assert v.slot(story.slot).funded == 950_000 * CNY
    assert credit.call("insurerOwed", story.slot) == 0
    v.redeem(cast.operator, story.part)  # 400,000.00 x 950,000.00 / 1,000,000.00 - 360,000.00
    assert suite.token.balance_of(cast.tier2.address) == 380_000 * CNY

    suite.token.approve(cast.hospital, credit.address, 50_000 * CNY + 1)
    refused(credit, cast.hospital, "pay", story.slot, 50_000 * CNY + 1,
            error="OverPayment", slot=story.slot, payable_=50_000 * CNY, amount=50_000 * CNY + 1)
    result = pay(suite, cast.hospital, story.slot, 50_000 * CNY)
    assert [(e["toSlot"], e["toInsurer"]) for e in event_args(result, credit, "PaidThroughDesk")] == [
        (50_000 * CNY, 0)
    ]
    v.redeem(cast.operator, story.part)
    v.redeem(cast.operator, story.root)
    assert balances(
        suite, insurer=insurer.address, hospital=cast.hospital.address, bank=cast.bank.address,
        tier1=cast.tier1.address, tier2=cast.tier2.address, desk=credit.address, ledger=v.address,
    ) == {
        "insurer": INSURER_CASH + PREMIUM,
        "hospital": HOSPITAL_OPENING_CASH - PREMIUM - 300_000 * CNY - 250_000 * CNY - 50_000 * CNY,
        "bank": BANK_OPENING_CASH - 400_000 * CNY,
        "tier1": REST,
        "tier2": PART,
        "desk": 0,
        "ledger": 0,
    }
    assert v.slot(story.slot).status == SlotStatus.SETTLED
    assert suite.token.total_supply() == supply


def test_the_insurer_never_pays_twice_nor_before_the_trigger_nor_more_than_its_cover(
    suite, cast, story, insurer, travel, refused
):
    """The hospital pays nothing at all. The insurer's cash moves exactly twice: the 600,000.00
    escrow in, the 18,000.00 premium in; no call gets a cent more out of it or the desk."""
    credit, v = suite.credit, suite.voucher
    supply = suite.token.total_supply()
    offer(suite, insurer, story.slot)
    buy(suite, cast.hospital, story.slot)
    after_sale = {"insurer": INSURER_CASH - COVER + PREMIUM, "desk": COVER}
    assert balances(suite, insurer=insurer.address, desk=credit.address) == after_sale

    refused(credit, cast.tier2, "claim", story.slot, error="ClaimNotDue", slot=story.slot)
    past_maturity(suite, story, travel)
    refused(credit, cast.tier2, "claim", story.slot, error="ClaimNotDue", slot=story.slot)
    go_overdue(suite, cast, story, travel)
    assert balances(suite, insurer=insurer.address, desk=credit.address) == after_sale

    credit.claim(cast.tier2, story.slot)  # the slot lacks 1,000,000.00: the cover, 600,000.00, is paid

    paid_once = {"insurer": INSURER_CASH - COVER + PREMIUM, "desk": 0}
    assert balances(suite, insurer=insurer.address, desk=credit.address) == paid_once
    assert v.slot(story.slot).funded == COVER
    for who in (cast.tier2, cast.tier1, insurer, cast.hospital):
        refused(credit, who, "claim", story.slot,
                error="UnexpectedCoverState", slot=story.slot, state=int(CoverState.CLAIMED))
    refused(credit, insurer, "withdrawCover", story.slot,
            error="UnexpectedCoverState", slot=story.slot, state=int(CoverState.CLAIMED))
    refused(credit, insurer, "offerCover", story.slot, COVER, PREMIUM, 0, story.maturity + DAY,
            error="SlotNotCoverable", slot=story.slot)
    # Tier 2 writes off what is left of its voucher: the claim does not grow back.
    v.redeem(cast.operator, story.part)  # 400,000.00 x 600,000.00 / 1,000,000.00
    v.write_off(cast.tier2, story.part)
    refused(credit, cast.tier2, "claim", story.slot,
            error="UnexpectedCoverState", slot=story.slot, state=int(CoverState.CLAIMED))
    assert balances(suite, insurer=insurer.address, desk=credit.address, tier2=cast.tier2.address) == (
        paid_once | {"tier2": 240_000 * CNY}
    )
    assert suite.token.total_supply() == supply


def test_paying_through_the_desk_without_a_claim_funds_the_slot_whole(suite, cast, story, insurer, refused):
    """The bank guarantees the hospital: it pays 100,000.00 through the desk with an EIP-2612
    permit, in one transaction. Cover in force but not claimed changes nothing."""
    credit, v, token = suite.credit, suite.voucher, suite.token
    offer(suite, insurer, story.slot)
    buy(suite, cast.hospital, story.slot)
    deadline = suite.conn.block_timestamp() + DAY
    nonce = token.call("nonces", cast.bank.address)
    sig = sign_permit(cast.bank, token, credit.address, 100_000 * CNY, nonce, deadline, suite.conn.chain_id)

    result = credit.send(cast.bank, "payWithPermit", story.slot, 100_000 * CNY, deadline, *sig)

    assert event_args(result, credit, "PaidThroughDesk") == [{
        "slot": story.slot, "payer": cast.bank.address, "toSlot": 100_000 * CNY, "toInsurer": 0, "insurerOwed": 0,
    }]
    assert [(e["payer"], e["amount"]) for e in event_args(result, v, "SlotFunded")] == [
        (credit.address, 100_000 * CNY)
    ]
    assert v.slot(story.slot).funded == 100_000 * CNY
    assert balances(suite, bank=cast.bank.address, desk=credit.address, ledger=v.address) == {
        "bank": BANK_OPENING_CASH - 100_000 * CNY, "desk": COVER, "ledger": 100_000 * CNY,
    }
    # Not claimed: the hospital may still fund at the ledger itself.
    fund(suite, cast, story.slot, 100_000 * CNY)
    refused(credit, cast.outsider, "pay", story.slot, 1, error="NotActiveMember", account=cast.outsider.address)
    refused(credit, cast.hospital, "pay", story.slot, 0, error="ZeroAmount")
    suite.token.approve(cast.hospital, credit.address, 800_000 * CNY + 1)
    refused(credit, cast.hospital, "pay", story.slot, 800_000 * CNY + 1,
            error="OverFunding", slot=story.slot, unfunded=800_000 * CNY, amount=800_000 * CNY + 1)


# ============================================================ court orders and custody

ESCROW = 300_000 * CNY  # an insurer's unbought offer on another slot (`open_offer`)


@pytest.fixture
def open_offer(suite, story, insurer, accepted_voucher) -> int:
    """The insurer offers 300,000.00 of cover on another slot (500,000.00, due in 60 days) and
    nobody buys it: its escrow sits in the desk. Returns that slot."""
    other_slot, _ = accepted_voucher(500_000 * CNY, 60)
    offer(suite, insurer, other_slot, cover=ESCROW)
    return other_slot


@pytest.mark.parametrize("moment", ["before maturity", "after a keeper's pro-rata redemption"])
def test_a_court_order_takes_the_pledged_part_out_of_custody_and_ends_the_pledge(
    suite, cast, story, insurer, open_offer, travel, refused, moment
):
    """The desk is a member in good standing, so the operators freeze the voucher first; the
    court's new holder is tier 3, and the pledge is over with the court order. Before maturity
    the voucher had received nothing. Overdue at 70 %, a keeper had redeemed it at the ledger:
    its share, 400,000.00 x 700,000.00 / 1,000,000.00 = 280,000.00, reached the desk and is
    passed on with the court order, 250,000.00 to the bank (all it is secured for) and
    30,000.00 to tier 2. Either way the desk keeps only the escrow of the open offer."""
    v, credit = suite.voucher, suite.credit
    pledge_part(suite, cast, story)
    if moment == "before maturity":
        received, to_bank, to_tier2 = 0, 0, 0
    else:
        fund(suite, cast, story.slot, 700_000 * CNY)
        go_overdue(suite, cast, story, travel)
        v.redeem(cast.operator, story.part)
        received, to_bank, to_tier2 = 280_000 * CNY, 250_000 * CNY, 30_000 * CNY
        assert suite.token.balance_of(credit.address) == ESCROW + 280_000 * CNY
    supply = suite.token.total_supply()
    refused(v, cast.operator, "forceTransfer", story.part, cast.tier3.address, COURT_ORDER,
            error="HolderInGoodStanding", tokenId=story.part, holder=credit.address)
    v.freeze(cast.operator, story.part, COURT_ORDER)

    moved, result = v.force_transfer(cast.operator, story.part, cast.tier3.address, COURT_ORDER)

    assert moved
    assert (v.owner_of(story.part), v.value_of(story.part)) == (cast.tier3.address, PART - received)
    assert event_args(result, credit, "PledgeEnded") == [
        {"tokenId": story.part, "pledgee": cast.bank.address, "pledgor": cast.tier2.address}
    ]
    assert event_args(result, credit, "PledgePayout") == ([] if received == 0 else [{
        "tokenId": story.part, "pledgee": cast.bank.address, "pledgor": cast.tier2.address,
        "toPledgee": to_bank, "toPledgor": to_tier2, "closed": True,
    }])
    assert not credit.pledge_of(story.part).exists
    assert balances(suite, bank=cast.bank.address, tier2=cast.tier2.address, desk=credit.address) == {
        "bank": BANK_OPENING_CASH + to_bank, "tier2": to_tier2, "desk": ESCROW,
    }
    assert suite.token.total_supply() == supply
    # Nothing is left for the desk to do with the voucher.
    for function in ("distribute", "collect", "releasePledge", "enforcePledge"):
        refused(credit, cast.bank, function, story.part, error="NotPledged", tokenId=story.part)
    refused(credit, cast.tier2, "reclaim", story.part, error="NotPledged", tokenId=story.part)
    # The escrow was never touched: the insurer takes it back whole.
    credit.withdraw_cover(insurer, open_offer)
    assert balances(suite, insurer=insurer.address, desk=credit.address) == {"insurer": INSURER_CASH, "desk": 0}


def test_a_pledged_part_redeemed_by_its_court_appointed_holder_is_not_paid_again_out_of_the_escrow(
    suite, cast, story, insurer, open_offer, travel, refused
):
    """Tier 2's pledged part is moved by court order to tier 3, who redeems it at maturity
    (400,000.00, to tier 3). The pledge ended with the court order and the desk never received
    a cent for the voucher: nothing is paid to the bank or tier 2 out of the insurer's escrow."""
    v, credit = suite.voucher, suite.credit
    pledge_part(suite, cast, story)
    v.freeze(cast.operator, story.part, COURT_ORDER)
    v.force_transfer(cast.operator, story.part, cast.tier3.address, COURT_ORDER)
    v.unfreeze(cast.operator, story.part)
    fund(suite, cast, story.slot, FACE)
    past_maturity(suite, story, travel)
    v.redeem(cast.outsider, story.part)

    assert balances(
        suite, tier3=cast.tier3.address, bank=cast.bank.address, tier2=cast.tier2.address, desk=credit.address
    ) == {"tier3": PART, "bank": BANK_OPENING_CASH, "tier2": 0, "desk": ESCROW}
    refused(credit, cast.outsider, "distribute", story.part, error="NotPledged", tokenId=story.part)
    refused(credit, cast.bank, "collect", story.part, error="NotPledged", tokenId=story.part)

    result = credit.withdraw_cover(insurer, open_offer)

    assert event_args(result, credit, "CoverWithdrawn") == [
        {"slot": open_offer, "insurer": insurer.address, "refunded": ESCROW}
    ]
    assert balances(suite, insurer=insurer.address, desk=credit.address) == {"insurer": INSURER_CASH, "desk": 0}


def test_only_the_ledger_tells_the_desk_that_a_court_order_ended_its_custody(suite, cast, story, travel, refused):
    """A keeper redeemed the pledged part at the ledger: the desk holds its 400,000.00, not yet
    passed on. Nobody but the ledger can end the pledge and have that cash paid out; the
    payout then goes as pledged, 250,000.00 to the bank and 150,000.00 to tier 2."""
    v, credit = suite.voucher, suite.credit
    pledge_part(suite, cast, story)
    fund(suite, cast, story.slot, FACE)
    past_maturity(suite, story, travel)
    v.redeem(cast.operator, story.part)
    assert suite.token.balance_of(credit.address) == PART

    for who in (cast.tier2, cast.bank, cast.tier3, cast.operator, cast.governance, cast.outsider):
        refused(credit, who, "custodyEnded", story.part, error="NotLedger", caller=who.address)
        refused(credit, who, "custodyEnded", story.root, error="NotLedger", caller=who.address)

    result = credit.distribute(cast.outsider, story.part)
    assert [(e["toPledgee"], e["toPledgor"], e["closed"]) for e in event_args(result, credit, "PledgePayout")] == [
        (SECURED, 150_000 * CNY, True)
    ]
    assert balances(suite, bank=cast.bank.address, tier2=cast.tier2.address, desk=credit.address) == {
        "bank": BANK_OPENING_CASH + SECURED, "tier2": 150_000 * CNY, "desk": 0,
    }


def test_nothing_is_distributed_before_a_pledged_voucher_is_paid_and_it_is_not_collected_before_maturity(
    suite, cast, story, refused
):
    pledge_part(suite, cast, story)
    refused(suite.credit, cast.outsider, "distribute", story.part, error="NothingToDistribute", tokenId=story.part)
    fund(suite, cast, story.slot, FACE)
    refused(suite.credit, cast.outsider, "collect", story.part,
            error="SlotNotMatured", tokenId=story.part, slot=story.slot, maturity=story.maturity)


# =================================== a suspended member does not hold up what others are owed
#
# The settlement token refuses a suspended member's cash, the ledger its vouchers. What the
# desk owes such a member is kept for it (PaymentHeld) until it withdraws it, reinstated; a
# voucher it cannot take back stays in custody, released, until it reclaims it.

def test_the_bank_is_paid_its_secured_250k_while_tier2_is_suspended_and_tier2s_150k_is_held_for_it(
    suite, cast, story, travel, refused
):
    v, credit = suite.voucher, suite.credit
    pledge_part(suite, cast, story)
    fund(suite, cast, story.slot, FACE)
    past_maturity(suite, story, travel)
    suite.registry.suspend(cast.operator, cast.tier2.address, SANCTIONS)
    supply = suite.token.total_supply()

    result = credit.collect(cast.outsider, story.part)

    assert event_args(result, credit, "PledgePayout") == [{
        "tokenId": story.part, "pledgee": cast.bank.address, "pledgor": cast.tier2.address,
        "toPledgee": SECURED, "toPledgor": 150_000 * CNY, "closed": True,
    }]
    assert event_args(result, credit, "PaymentHeld") == [
        {"account": cast.tier2.address, "amount": 150_000 * CNY, "heldTotal": 150_000 * CNY}
    ]
    assert balances(suite, bank=cast.bank.address, tier2=cast.tier2.address, desk=credit.address) == {
        "bank": BANK_OPENING_CASH + SECURED, "tier2": 0, "desk": 150_000 * CNY,
    }
    assert (credit.held_for(cast.tier2.address), credit.held_for(cast.bank.address)) == (150_000 * CNY, 0)
    assert not credit.pledge_of(story.part).exists
    assert not v.voucher(story.part).exists
    # Suspended, tier 2 cannot take it yet; nobody else can take it for it.
    refused(credit, cast.tier2, "withdraw", error="NotPermittedHolder", account=cast.tier2.address)
    for who in (cast.bank, cast.tier3, cast.operator):
        refused(credit, who, "withdraw", error="NothingHeld", account=who.address)

    suite.registry.reinstate(cast.operator, cast.tier2.address)
    result = credit.withdraw(cast.tier2)

    assert event_args(result, credit, "PaymentWithdrawn") == [
        {"account": cast.tier2.address, "amount": 150_000 * CNY}
    ]
    assert balances(suite, bank=cast.bank.address, tier2=cast.tier2.address, desk=credit.address) == {
        "bank": BANK_OPENING_CASH + SECURED, "tier2": 150_000 * CNY, "desk": 0,
    }
    assert credit.held_for(cast.tier2.address) == 0
    refused(credit, cast.tier2, "withdraw", error="NothingHeld", account=cast.tier2.address)
    assert suite.token.total_supply() == supply


def test_an_overdue_payout_to_a_suspended_bank_is_held_for_it_and_tier2_is_paid_its_part(suite, cast, story, travel):
    """Overdue at 70 %: the pledged 400,000.00 is paid 280,000.00. The bank's 250,000.00 is kept
    for it while it is suspended; tier 2's 30,000.00 reaches tier 2 at once."""
    credit = suite.credit
    due = story.maturity - 30 * DAY
    pledge_part(suite, cast, story, due=due)
    fund(suite, cast, story.slot, 700_000 * CNY)
    go_overdue(suite, cast, story, travel)
    suite.registry.suspend(cast.operator, cast.bank.address, keccak(text="licence under review"))

    result = credit.collect(cast.outsider, story.part)

    assert event_args(result, credit, "PledgePayout") == [{
        "tokenId": story.part, "pledgee": cast.bank.address, "pledgor": cast.tier2.address,
        "toPledgee": SECURED, "toPledgor": 30_000 * CNY, "closed": False,
    }]
    assert event_args(result, credit, "PaymentHeld") == [
        {"account": cast.bank.address, "amount": SECURED, "heldTotal": SECURED}
    ]
    assert credit.pledge_of(story.part) == Pledge(
        story.part, cast.tier2.address, due, cast.bank.address, PART, SECURED, SECURED, 280_000 * CNY
    )
    assert balances(suite, bank=cast.bank.address, tier2=cast.tier2.address, desk=credit.address) == {
        "bank": BANK_OPENING_CASH, "tier2": 30_000 * CNY, "desk": SECURED,
    }

    suite.registry.reinstate(cast.operator, cast.bank.address)
    credit.withdraw(cast.bank)

    assert balances(suite, bank=cast.bank.address, desk=credit.address) == {
        "bank": BANK_OPENING_CASH + SECURED, "desk": 0,
    }


def test_the_bank_enforces_its_250k_while_tier2_is_suspended_and_the_150k_rest_waits_in_custody_for_tier2(
    suite, cast, story, travel, refused
):
    v, credit = suite.voucher, suite.credit
    due = story.maturity - 30 * DAY
    pledge_part(suite, cast, story, due=due)
    travel(60 * DAY + 1)
    suite.registry.suspend(cast.operator, cast.tier2.address, keccak(text="insolvency filing"))

    taken, result = credit.enforce_pledge(cast.bank, story.part)

    assert taken == token_id(story.slot, 3)
    assert (v.voucher(taken).owner, v.voucher(taken).value, v.voucher(taken).parent) == (
        cast.bank.address, SECURED, story.part
    )
    assert event_args(result, credit, "PledgeEnforced") == [{
        "tokenId": story.part, "pledgee": cast.bank.address, "pledgor": cast.tier2.address,
        "pledgeeTokenId": taken, "value": SECURED, "restReturned": False,
    }]
    # The rest stays in custody, released: it secures nothing any more.
    assert (v.owner_of(story.part), v.value_of(story.part)) == (credit.address, 150_000 * CNY)
    assert credit.pledge_of(story.part) == Pledge(
        story.part, cast.tier2.address, due, cast.bank.address, 150_000 * CNY, 0, 0, 0
    )
    assert not credit.pledge_of(taken).exists
    assert suite.token.balance_of(credit.address) == 0
    # The bank's voucher is its own: it passes 100,000.00 on to tier 3.
    v.split_transfer(cast.bank, taken, cast.tier3.address, 100_000 * CNY)
    # Nobody else takes the rest, nor does suspended tier 2 yet; the bank cannot enforce again
    # (the pledge secures nothing: the desk would split off nothing).
    for who in (cast.bank, cast.tier3, cast.operator):
        refused(credit, who, "reclaim", story.part, error="NotReclaimable", tokenId=story.part, caller=who.address)
    refused(credit, cast.tier2, "reclaim", story.part, error="NotActiveMember", account=cast.tier2.address)
    refused(credit, cast.bank, "enforcePledge", story.part, error="NothingSecured", tokenId=story.part)

    suite.registry.reinstate(cast.operator, cast.tier2.address)
    result = credit.reclaim(cast.tier2, story.part)

    assert event_args(result, credit, "VoucherReclaimed") == [
        {"tokenId": story.part, "pledgor": cast.tier2.address}
    ]
    assert (v.owner_of(story.part), v.value_of(story.part)) == (cast.tier2.address, 150_000 * CNY)
    assert not credit.pledge_of(story.part).exists
    refused(credit, cast.tier2, "reclaim", story.part, error="NotPledged", tokenId=story.part)
    # Free again: tier 2 passes 50,000.00 of it on to tier 3.
    v.split_transfer(cast.tier2, story.part, cast.tier3.address, 50_000 * CNY)
    assert v.value_of(story.part) == 100_000 * CNY


def test_a_pledge_released_while_tier2_is_suspended_stays_in_custody_until_tier2_reclaims_it(
    suite, cast, story, travel, refused
):
    v, credit = suite.voucher, suite.credit
    due = story.maturity - 30 * DAY
    pledge_part(suite, cast, story, due=due)
    suite.registry.suspend(cast.operator, cast.tier2.address, SANCTIONS)

    result = credit.release_pledge(cast.bank, story.part)

    assert event_args(result, credit, "PledgeReleased") == [{
        "tokenId": story.part, "pledgee": cast.bank.address, "pledgor": cast.tier2.address, "returned": False,
    }]
    assert v.owner_of(story.part) == credit.address
    assert credit.pledge_of(story.part) == Pledge(story.part, cast.tier2.address, due, cast.bank.address, PART, 0, 0, 0)
    refused(credit, cast.bank, "reclaim", story.part,
            error="NotReclaimable", tokenId=story.part, caller=cast.bank.address)
    refused(credit, cast.tier2, "reclaim", story.part, error="NotActiveMember", account=cast.tier2.address)
    # Released once: a second release has nothing to give up.
    refused(credit, cast.bank, "releasePledge", story.part, error="NothingSecured", tokenId=story.part)
    travel(60 * DAY + 1)  # past the loan's due date: the bank gave up its claim, it cannot enforce
    refused(credit, cast.bank, "enforcePledge", story.part, error="NothingSecured", tokenId=story.part)

    suite.registry.reinstate(cast.operator, cast.tier2.address)
    result = credit.reclaim(cast.tier2, story.part)

    assert event_args(result, credit, "VoucherReclaimed") == [
        {"tokenId": story.part, "pledgor": cast.tier2.address}
    ]
    assert (v.owner_of(story.part), v.value_of(story.part)) == (cast.tier2.address, PART)
    assert not credit.pledge_of(story.part).exists


def test_a_rest_kept_in_custody_past_maturity_cannot_move_and_is_collected_for_tier2(
    suite, cast, story, travel, refused
):
    """Tier 2 is reinstated only after maturity: the 150,000.00 left after the bank's
    enforcement cannot move any more, so it is not reclaimed but collected, all for tier 2."""
    v, credit = suite.voucher, suite.credit
    pledge_part(suite, cast, story)
    travel(60 * DAY + 1)
    suite.registry.suspend(cast.operator, cast.tier2.address, SANCTIONS)
    taken, _ = credit.enforce_pledge(cast.bank, story.part)
    fund(suite, cast, story.slot, FACE)
    past_maturity(suite, story, travel)
    suite.registry.reinstate(cast.operator, cast.tier2.address)

    refused(credit, cast.tier2, "reclaim", story.part, error="SlotMatured", slot=story.slot, maturity=story.maturity)
    result = credit.collect(cast.outsider, story.part)

    assert event_args(result, credit, "PledgePayout") == [{
        "tokenId": story.part, "pledgee": cast.bank.address, "pledgor": cast.tier2.address,
        "toPledgee": 0, "toPledgor": 150_000 * CNY, "closed": True,
    }]
    assert event_args(result, credit, "PaymentHeld") == []
    v.redeem(cast.bank, taken)
    assert balances(suite, bank=cast.bank.address, tier2=cast.tier2.address, desk=credit.address) == {
        "bank": BANK_OPENING_CASH + SECURED, "tier2": 150_000 * CNY, "desk": 0,
    }
    assert not credit.pledge_of(story.part).exists


def test_the_claim_is_paid_to_the_holders_while_the_insurer_is_suspended_and_its_refund_is_held(
    suite, cast, story, insurer, travel, refused
):
    """Funded 700,000.00, covered 600,000.00: the claim pays 300,000.00 into the slot and the
    other 300,000.00 of the escrow is kept for the suspended insurer."""
    credit, v = suite.credit, suite.voucher
    offer(suite, insurer, story.slot)
    buy(suite, cast.hospital, story.slot)
    fund(suite, cast, story.slot, 700_000 * CNY)
    go_overdue(suite, cast, story, travel)
    suite.registry.suspend(cast.operator, insurer.address, SOLVENCY)

    result = credit.claim(cast.tier1, story.slot)

    assert event_args(result, credit, "ClaimPaid") == [{
        "slot": story.slot, "insurer": insurer.address, "trigger": cast.tier1.address,
        "paid": 300_000 * CNY, "refunded": 300_000 * CNY,
    }]
    assert event_args(result, credit, "PaymentHeld") == [
        {"account": insurer.address, "amount": 300_000 * CNY, "heldTotal": 300_000 * CNY}
    ]
    assert v.slot(story.slot).funded == FACE
    assert credit.call("insurerOwed", story.slot) == 300_000 * CNY
    assert credit.held_for(insurer.address) == 300_000 * CNY
    assert balances(suite, insurer=insurer.address, desk=credit.address) == {
        "insurer": INSURER_CASH - COVER + PREMIUM, "desk": 300_000 * CNY,
    }
    # The holders are paid in full meanwhile.
    v.redeem(cast.operator, story.part)
    v.redeem(cast.operator, story.root)
    assert balances(suite, tier1=cast.tier1.address, tier2=cast.tier2.address) == {"tier1": REST, "tier2": PART}
    refused(credit, insurer, "withdraw", error="NotPermittedHolder", account=insurer.address)

    suite.registry.reinstate(cast.operator, insurer.address)
    result = credit.withdraw(insurer)

    assert event_args(result, credit, "PaymentWithdrawn") == [{"account": insurer.address, "amount": 300_000 * CNY}]
    assert balances(suite, insurer=insurer.address, desk=credit.address) == {
        "insurer": INSURER_CASH - COVER + PREMIUM + 300_000 * CNY, "desk": 0,
    }


def test_the_hospital_still_funds_the_slot_after_a_claim_while_the_insurer_is_suspended(
    suite, cast, story, insurer, claimed
):
    """Insurer first: after the claim the slot lacks 100,000.00 and the hospital owes the
    insurer 600,000.00; the insurer is suspended. The hospital pays 250,000.00, all the
    insurer's, then 450,000.00: 350,000.00 for the insurer, 100,000.00 into the slot. The
    slot is complete, the holders are paid in full, and the insurer's 600,000.00 waits in the
    desk until it is reinstated."""
    credit, v = suite.credit, suite.voucher
    supply = suite.token.total_supply()
    claimed(Recovery.INSURER_FIRST)
    suite.registry.suspend(cast.operator, insurer.address, SOLVENCY)

    result = pay(suite, cast.hospital, story.slot, 250_000 * CNY)

    assert event_args(result, credit, "PaidThroughDesk") == [{
        "slot": story.slot, "payer": cast.hospital.address, "toSlot": 0,
        "toInsurer": 250_000 * CNY, "insurerOwed": 350_000 * CNY,
    }]
    assert event_args(result, credit, "PaymentHeld") == [
        {"account": insurer.address, "amount": 250_000 * CNY, "heldTotal": 250_000 * CNY}
    ]

    result = pay(suite, cast.hospital, story.slot, 450_000 * CNY)

    assert event_args(result, credit, "PaidThroughDesk") == [{
        "slot": story.slot, "payer": cast.hospital.address, "toSlot": 100_000 * CNY,
        "toInsurer": 350_000 * CNY, "insurerOwed": 0,
    }]
    assert event_args(result, credit, "PaymentHeld") == [
        {"account": insurer.address, "amount": 350_000 * CNY, "heldTotal": COVER}
    ]
    assert v.slot(story.slot).funded == FACE
    assert credit.policy_of(story.slot).recovered == COVER
    assert credit.held_for(insurer.address) == COVER
    assert balances(suite, insurer=insurer.address, desk=credit.address) == {
        "insurer": INSURER_CASH - COVER + PREMIUM, "desk": COVER,
    }
    v.redeem(cast.operator, story.part)
    v.redeem(cast.operator, story.root)

    suite.registry.reinstate(cast.operator, insurer.address)
    result = credit.withdraw(insurer)

    assert event_args(result, credit, "PaymentWithdrawn") == [{"account": insurer.address, "amount": COVER}]
    assert balances(
        suite, insurer=insurer.address, hospital=cast.hospital.address, tier1=cast.tier1.address,
        tier2=cast.tier2.address, desk=credit.address, ledger=v.address,
    ) == {
        "insurer": INSURER_CASH + PREMIUM,
        "hospital": HOSPITAL_OPENING_CASH - PREMIUM - 300_000 * CNY - 250_000 * CNY - 450_000 * CNY,
        "tier1": REST,
        "tier2": PART,
        "desk": 0,
        "ledger": 0,
    }
    assert suite.token.total_supply() == supply


@pytest.mark.parametrize("first_insurer", ["active", "suspended"])
def test_a_second_insurer_may_offer_once_the_first_offer_expired_unbought_and_the_first_is_refunded(
    suite, cast, story, insurer, second_insurer, w3, refused, first_insurer
):
    """The first insurer's 600,000.00 offer was open ten days and nobody bought it. Up to its
    deadline it keeps the slot; a second later a second insurer offers 400,000.00 for 10,000.00
    and the first offer gives way: closed, its escrow refunded (kept for the first insurer while
    it is suspended)."""
    credit = suite.credit
    deadline = suite.conn.block_timestamp() + 10 * DAY
    second_deadline = deadline + 10 * DAY
    offer(suite, insurer, story.slot, deadline=deadline)
    suite.token.approve(second_insurer, credit.address, FACE + 1)
    if first_insurer == "suspended":
        suite.registry.suspend(cast.operator, insurer.address, SOLVENCY)

    next_block_at(w3, deadline)
    refused(credit, second_insurer, "offerCover", story.slot, 400_000 * CNY, 10_000 * CNY, 1, second_deadline,
            error="SlotAlreadyCovered", slot=story.slot)
    assert suite.conn.block_timestamp() == deadline  # refused at the deadline itself
    # A new offer refused on its own terms leaves the expired one as it was.
    next_block_at(w3, deadline + 1)
    refused(credit, second_insurer, "offerCover", story.slot, FACE + 1, 10_000 * CNY, 1, second_deadline,
            error="CoverAboveFace", cover=FACE + 1, faceValue=FACE)
    assert suite.conn.block_timestamp() == deadline + 1

    result = credit.offer_cover(
        second_insurer, story.slot, 400_000 * CNY, 10_000 * CNY, Recovery.INSURER_FIRST, second_deadline
    )

    held = COVER if first_insurer == "suspended" else 0
    assert event_args(result, credit, "CoverWithdrawn") == [
        {"slot": story.slot, "insurer": insurer.address, "refunded": COVER}
    ]
    assert event_args(result, credit, "PaymentHeld") == (
        [{"account": insurer.address, "amount": COVER, "heldTotal": COVER}] if held else []
    )
    assert event_args(result, credit, "CoverOffered") == [{
        "slot": story.slot, "insurer": second_insurer.address, "cover": 400_000 * CNY, "premium": 10_000 * CNY,
        "order": int(Recovery.INSURER_FIRST), "offerDeadline": second_deadline,
    }]
    assert credit.policy_of(story.slot) == Policy(
        story.slot, second_insurer.address, second_deadline, CoverState.OFFERED, Recovery.INSURER_FIRST,
        ZERO_ADDRESS, 400_000 * CNY, 10_000 * CNY, 0, 0,
    )
    assert balances(suite, first=insurer.address, second=second_insurer.address, desk=credit.address) == {
        "first": INSURER_CASH - held, "second": INSURER_CASH - 400_000 * CNY, "desk": 400_000 * CNY + held,
    }
    assert credit.held_for(insurer.address) == held
    refused(credit, insurer, "withdrawCover", story.slot,
            error="NotPolicyInsurer", slot=story.slot, account=insurer.address)
    # The hospital buys the new cover.
    result = buy(suite, cast.hospital, story.slot, premium=10_000 * CNY)
    assert [e["insurer"] for e in event_args(result, credit, "CoverBought")] == [second_insurer.address]
    if held:
        suite.registry.reinstate(cast.operator, insurer.address)
        credit.withdraw(insurer)
        assert balances(suite, first=insurer.address, desk=credit.address) == {
            "first": INSURER_CASH, "desk": 400_000 * CNY,
        }


# ---------------------------------------------------------- withdraw and reclaim refusals


def test_nobody_withdraws_what_the_desk_does_not_hold_for_it(suite, cast, story, insurer, refused):
    offer(suite, insurer, story.slot)  # the desk holds 600,000.00 of escrow, none of it held for anyone
    for who in (cast.tier2, cast.bank, cast.hospital, insurer, cast.outsider):
        refused(suite.credit, who, "withdraw", error="NothingHeld", account=who.address)


def test_a_pledged_voucher_is_reclaimed_only_by_its_pledgor_once_the_pledge_secures_nothing(
    suite, cast, story, refused
):
    """While the pledge secures the bank's 250,000.00 not even tier 2 takes its voucher back;
    the bank releases or enforces it."""
    pledge_part(suite, cast, story)
    for who in (cast.tier2, cast.bank, cast.tier3, cast.outsider):
        refused(suite.credit, who, "reclaim", story.part,
                error="NotReclaimable", tokenId=story.part, caller=who.address)
    refused(suite.credit, cast.tier1, "reclaim", story.root, error="NotPledged", tokenId=story.root)


def test_an_insurer_cannot_swap_its_offer_under_a_buyer_who_named_the_terms(suite, cast, story, insurer, refused):
    """The hospital reads the offer (600,000.00 of cover for 18,000.00) and buys it with those
    terms; the insurer withdraws and re-offers one fen of cover for the same premium before the
    purchase lands. The purchase is refused (TermsChanged): no premium moves for other terms."""
    credit = suite.credit
    offer(suite, insurer, story.slot)
    seen = credit.policy_of(story.slot)
    suite.token.approve(cast.hospital, credit.address, PREMIUM)
    credit.withdraw_cover(insurer, story.slot)
    offer(suite, insurer, story.slot, cover=1, premium=PREMIUM, order=Recovery.INSURER_FIRST)

    refused(credit, cast.hospital, "buyCover", story.slot, 0, seen.insurer, seen.cover, seen.premium,
            int(seen.order), error="TermsChanged", slot=story.slot)

    # On the terms on offer now, knowingly, it could still buy them.
    assert credit.policy_of(story.slot).cover == 1


def test_operators_send_the_cash_held_for_a_removed_pledgor_to_its_successor(suite, cast, story, travel, refused):
    """Tier 2, the pledgor, is removed before its pledged part is paid: the bank receives its
    250,000.00 and the desk holds tier 2's 150,000.00, which tier 2 can never withdraw. Under a
    court's order the operators send it to tier 3, the successor (threshold 1: one approval)."""
    credit = suite.credit
    pledge_part(suite, cast, story)
    fund(suite, cast, story.slot, FACE)
    past_maturity(suite, story, travel)
    suite.registry.remove(cast.operator, cast.tier2.address, SOLVENCY)
    credit.collect(cast.outsider, story.part)
    assert credit.held_for(cast.tier2.address) == PART - SECURED
    tier3_before = suite.token.balance_of(cast.tier3.address)

    refused(credit, cast.tier3, "redirectHeld", cast.tier2.address, cast.tier3.address, COURT_ORDER,
            error="NotOperator", account=cast.tier3.address)
    refused(credit, cast.operator, "redirectHeld", cast.bank.address, cast.tier3.address, COURT_ORDER,
            error="AccountInGoodStanding", account=cast.bank.address)
    refused(credit, cast.operator, "redirectHeld", cast.tier1.address, cast.tier3.address, COURT_ORDER,
            error="AccountInGoodStanding", account=cast.tier1.address)

    moved, result = credit.redirect_held(cast.operator, cast.tier2.address, cast.tier3.address, COURT_ORDER)

    assert moved
    assert event_args(result, credit, "HeldRedirected") == [{
        "account": cast.tier2.address, "to": cast.tier3.address, "amount": PART - SECURED,
        "reasonHash": COURT_ORDER, "operator": cast.operator.address,
    }]
    assert credit.held_for(cast.tier2.address) == 0
    assert suite.token.balance_of(cast.tier3.address) == tier3_before + PART - SECURED
    assert suite.token.balance_of(credit.address) == 0
    refused(credit, cast.operator, "redirectHeld", cast.tier2.address, cast.tier3.address, COURT_ORDER,
            error="NothingHeld", account=cast.tier2.address)
