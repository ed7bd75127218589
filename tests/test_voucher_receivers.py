"""Contract members as voucher receivers: the ERC-3525 and ERC-721 receiver hooks.

A member that is a contract (a treasury wallet, a factoring vault) is called back when it
receives value. A hostile one calls back into the ledger from inside the hook: split the
value just received back out, merge it back, pass the voucher on, redeem it, take more than
it got. None of that may create or lose value: per slot, the values of the live vouchers
plus what was redeemed always equal the face value. A receiver that refuses (reverts or
answers the wrong magic value) makes the transfer fail as a whole; a contract that does not
declare IERC3525Receiver still receives value transfers, but ERC-721 safe transfers to a
contract without onERC721Received fail.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Any

import pytest
from eth_utils import keccak

from scf.chain import ContractRevert
from scf.contracts import Role, token_id
from scf.contracts.base import ZERO_ADDRESS
from scf.contracts.voucher import MERGE, SAFE_WHOLE_TRANSFER, SPLIT_TRANSFER
from tests.support import CNY, FACE, Refusals, read_many

PART = 100_000 * CNY

ERC165 = bytes.fromhex("01ffc9a7")
ERC3525_RECEIVER = bytes.fromhex("009ce20b")
ERC721_RECEIVER = bytes.fromhex("150b7a02")


class Action(IntEnum):
    """ReentrantReceiver.Action: what the receiver does from inside its hook."""

    NOTHING = 0
    SPLIT_OUT = 1
    MERGE_BACK = 2
    TRANSFER_ON = 3
    REDEEM = 4
    SPEND_SOURCE = 5
    SPLIT_OUT_MORE = 6
    WRONG_MAGIC = 7
    REFUSE = 8


# --------------------------------------------------------------------------- helpers


class Receiver:
    """The deployed ReentrantReceiver; its owner (governance, in tests) configures it."""

    def __init__(self, conn, owner, address: str) -> None:
        self.conn, self.owner = conn, owner
        self.contract = conn.contract("ReentrantReceiver", address)
        self.address = self.contract.address

    def configure(
        self, action: Action, beneficiary: str = ZERO_ADDRESS, merge_target: int = 0, *, declares: bool = True
    ):
        call = self.contract.functions.configure(int(action), beneficiary, merge_target, declares)
        return self.conn.transact(self.owner, call)

    def view(self, name: str, *args: Any) -> Any:
        return getattr(self.contract.functions, name)(*args).call()

    def reentry(self) -> tuple[bool, ContractRevert | None]:
        """(whether the re-entrant call succeeded, the ledger's error if it did not)."""
        assert self.view("reentryAttempted"), "the hook never re-entered the ledger"
        if self.view("reentrySucceeded"):
            return True, None
        return False, self.conn.errors.decode(self.view("reentryReturnData"))


@pytest.fixture
def receiver(conn, suite, cast) -> Receiver:
    address = conn.deploy(cast.governance, "ReentrantReceiver", suite.voucher.address).result
    suite.registry.admit(cast.operator, address, "Hostile Vault Ltd", Role.SUPPLIER, keccak(text="vault kyc"))
    return Receiver(conn, cast.governance, address)


@pytest.fixture
def plain(conn, suite, cast):
    address = conn.deploy(cast.governance, "PlainHolder").result
    suite.registry.admit(cast.operator, address, "Plain Treasury Wallet", Role.SUPPLIER, keccak(text="wallet kyc"))
    return conn.contract("PlainHolder", address)


@pytest.fixture
def voucher(accepted_voucher) -> tuple[int, int]:
    """Tier 1's 1,000,000.00 voucher from the hospital, due in 90 days: (slot, root)."""
    return accepted_voucher(FACE, 90)


@pytest.fixture
def ledger(suite, cast, receiver, plain) -> Callable[[], dict[str, bytes]]:
    v = suite.voucher.address
    people = {name: account.address for name, account in vars(cast).items()}
    people |= {"receiver": receiver.address, "plain holder": plain.address}

    def read() -> dict[str, bytes]:
        calls: dict[str, tuple[str, str, tuple[Any, ...]]] = {"receiver hooks": (receiver.address, "hooksCalled()", ())}
        for name, address in people.items():
            calls[f"{name}: vouchers"] = (v, "balanceOf(address)", (address,))
        calls["slot 1"] = (v, "slotInfo(uint256)", (1,))
        for serial in range(1, 8):
            calls[f"voucher 1.{serial}"] = (v, "tokenInfo(uint256)", (token_id(1, serial),))
        return read_many(suite.conn.w3, calls)

    return read


@pytest.fixture
def refused(suite, ledger) -> Refusals:
    """``refused(client, signer, "fn", *args, error="Name", **arguments)``: mined as a failed
    transaction with exactly that error, and the ledger as it was (``tests.support.Refusals``)."""
    return Refusals(suite.conn.w3, ledger)


def holdings(suite, slot: int) -> dict[int, tuple[str, int]]:
    """Every live voucher of the slot: {token: (holder, value)}."""
    v = suite.voucher
    live = {}
    for serial in range(1, v.slot(slot).last_serial + 1):
        info = v.voucher(token_id(slot, serial))
        if info.exists:
            live[info.token_id] = (info.owner, info.value)
    return live


def assert_no_value_created_or_lost(suite, slot: int) -> None:
    info = suite.voucher.slot(slot)
    live = holdings(suite, slot)
    assert sum(value for _, value in live.values()) + info.redeemed == info.face_value, live
    by_holder: dict[str, int] = {}
    for holder, _ in live.values():
        by_holder[holder] = by_holder.get(holder, 0) + 1
    for holder, count in by_holder.items():
        assert suite.voucher.call("balanceOf(address)", holder) == count, f"voucher count of {holder}"


# ------------------------------------------------------------------------ ERC-165


def test_the_receiver_declares_both_receiver_interfaces(receiver):
    assert receiver.view("supportsInterface", ERC165)
    assert receiver.view("supportsInterface", ERC3525_RECEIVER)
    assert receiver.view("supportsInterface", ERC721_RECEIVER)
    assert not receiver.view("supportsInterface", bytes.fromhex("ffffffff"))


# ------------------------------------------------------------- re-entry, value path


def test_a_receiver_that_splits_the_value_straight_back_out_creates_no_value(suite, cast, voucher, receiver):
    slot, root = voucher
    receiver.configure(Action.SPLIT_OUT, cast.tier3.address)

    received, _ = suite.voucher.split_transfer(cast.tier1, root, receiver.address, PART)

    assert receiver.reentry() == (True, None)
    assert received == token_id(slot, 2)
    assert holdings(suite, slot) == {
        root: (cast.tier1.address, FACE - PART),
        received: (receiver.address, 0),
        token_id(slot, 3): (cast.tier3.address, PART),
    }
    assert suite.voucher.call("parentOf", token_id(slot, 3)) == received
    assert_no_value_created_or_lost(suite, slot)


def test_a_receiver_that_merges_the_value_back_into_the_senders_voucher_creates_no_value(
    suite, cast, voucher, receiver
):
    slot, root = voucher
    receiver.configure(Action.MERGE_BACK)

    received, _ = suite.voucher.split_transfer(cast.tier1, root, receiver.address, PART)

    assert receiver.reentry() == (True, None)
    assert holdings(suite, slot) == {root: (cast.tier1.address, FACE), received: (receiver.address, 0)}
    assert_no_value_created_or_lost(suite, slot)


def test_a_receiver_that_passes_the_new_voucher_on_whole_from_inside_the_hook_creates_no_value(
    suite, cast, voucher, receiver
):
    slot, root = voucher
    receiver.configure(Action.TRANSFER_ON, cast.tier3.address)

    received, _ = suite.voucher.split_transfer(cast.tier1, root, receiver.address, PART)

    assert receiver.reentry() == (True, None)
    assert holdings(suite, slot) == {root: (cast.tier1.address, FACE - PART), received: (cast.tier3.address, PART)}
    assert suite.voucher.call("balanceOf(address)", receiver.address) == 0
    assert_no_value_created_or_lost(suite, slot)


def test_a_receiver_cannot_redeem_from_inside_the_hook_before_maturity(suite, cast, voucher, receiver):
    slot, root = voucher
    suite.token.approve(cast.hospital, suite.voucher.address, FACE)
    suite.voucher.fund(cast.hospital, slot, FACE)
    receiver.configure(Action.REDEEM)

    received, _ = suite.voucher.split_transfer(cast.tier1, root, receiver.address, PART)

    ok, error = receiver.reentry()
    assert not ok and error.error == "SlotNotMatured"
    assert error.args_by_name == {"tokenId": received, "slot": slot, "maturity": suite.voucher.slot(slot).maturity}
    assert holdings(suite, slot)[received] == (receiver.address, PART)
    assert suite.voucher.slot(slot).redeemed == 0
    assert suite.token.balance_of(suite.voucher.address) == FACE
    assert_no_value_created_or_lost(suite, slot)


def test_a_receiver_cannot_take_the_same_value_again_from_the_senders_voucher(suite, cast, voucher, receiver):
    slot, root = voucher
    receiver.configure(Action.SPEND_SOURCE)

    received, _ = suite.voucher.split_transfer(cast.tier1, root, receiver.address, PART)

    ok, error = receiver.reentry()
    assert not ok and error.error == "InsufficientAllowance"
    assert error.args_by_name == {"tokenId": root, "spender": receiver.address, "allowance": 0, "needed": PART}
    assert holdings(suite, slot) == {root: (cast.tier1.address, FACE - PART), received: (receiver.address, PART)}
    assert_no_value_created_or_lost(suite, slot)


def test_a_receiver_cannot_spend_more_than_it_just_received(suite, cast, voucher, receiver):
    slot, root = voucher
    receiver.configure(Action.SPLIT_OUT_MORE, cast.tier3.address)

    received, _ = suite.voucher.split_transfer(cast.tier1, root, receiver.address, PART)

    ok, error = receiver.reentry()
    assert not ok and error.error == "InsufficientValue"
    assert error.args_by_name == {"tokenId": received, "value": PART, "needed": PART + 1}
    assert_no_value_created_or_lost(suite, slot)


def test_a_merge_into_a_receivers_voucher_calls_its_hook_and_a_re_entrant_split_creates_no_value(
    suite, cast, voucher, receiver
):
    slot, root = voucher
    receiver.configure(Action.NOTHING)
    held, _ = suite.voucher.split_transfer(cast.tier1, root, receiver.address, PART)
    receiver.configure(Action.SPLIT_OUT, cast.tier3.address)

    suite.voucher.merge(cast.tier1, root, held, 50_000 * CNY)

    assert receiver.reentry() == (True, None)
    assert receiver.view("lastReceivedTokenId") == held
    assert holdings(suite, slot) == {
        root: (cast.tier1.address, FACE - PART - 50_000 * CNY),
        held: (receiver.address, PART),
        token_id(slot, 3): (cast.tier3.address, 50_000 * CNY),
    }
    assert_no_value_created_or_lost(suite, slot)


# ----------------------------------------------------------- re-entry, ERC-721 path


def test_a_receiver_that_passes_a_safely_transferred_voucher_on_creates_no_value(suite, cast, voucher, receiver):
    slot, root = voucher
    receiver.configure(Action.TRANSFER_ON, cast.tier3.address)

    suite.voucher.transfer_whole(cast.tier1, cast.tier1.address, receiver.address, root, safe=True)

    assert receiver.reentry() == (True, None)
    assert holdings(suite, slot) == {root: (cast.tier3.address, FACE)}
    assert [suite.voucher.call("balanceOf(address)", a) for a in (cast.tier1.address, receiver.address)] == [0, 0]
    assert_no_value_created_or_lost(suite, slot)


def test_a_receiver_that_splits_a_safely_transferred_voucher_empty_creates_no_value(suite, cast, voucher, receiver):
    slot, root = voucher
    receiver.configure(Action.SPLIT_OUT, cast.tier2.address)

    suite.voucher.transfer_whole(cast.tier1, cast.tier1.address, receiver.address, root, safe=True)

    assert receiver.reentry() == (True, None)
    assert holdings(suite, slot) == {root: (receiver.address, 0), token_id(slot, 2): (cast.tier2.address, FACE)}
    assert_no_value_created_or_lost(suite, slot)


def test_a_plain_erc721_transfer_to_a_receiver_does_not_call_its_hook(suite, cast, voucher, receiver):
    slot, root = voucher
    receiver.configure(Action.REFUSE)
    suite.voucher.transfer_whole(cast.tier1, cast.tier1.address, receiver.address, root)
    assert receiver.view("hooksCalled") == 0
    assert holdings(suite, slot) == {root: (receiver.address, FACE)}


# ------------------------------------------------------------- refusing receivers


@pytest.mark.parametrize("refusal", [Action.WRONG_MAGIC, Action.REFUSE], ids=["wrong magic", "reverting hook"])
def test_a_receiver_that_refuses_value_makes_the_split_transfer_fail(suite, cast, voucher, receiver, refused, refusal):
    _, root = voucher
    receiver.configure(refusal)
    refused(
        suite.voucher, cast.tier1, SPLIT_TRANSFER, root, receiver.address, PART,
        error="InvalidReceiver", receiver=receiver.address,
    )


@pytest.mark.parametrize("refusal", [Action.WRONG_MAGIC, Action.REFUSE], ids=["wrong magic", "reverting hook"])
def test_a_receiver_that_refuses_value_makes_a_merge_into_its_voucher_fail(
    suite, cast, voucher, receiver, refused, refusal
):
    _, root = voucher
    receiver.configure(Action.NOTHING)
    held, _ = suite.voucher.split_transfer(cast.tier1, root, receiver.address, PART)
    receiver.configure(refusal)
    refused(
        suite.voucher, cast.tier1, MERGE, root, held, 1_000 * CNY,
        error="InvalidReceiver", receiver=receiver.address,
    )


@pytest.mark.parametrize("refusal", [Action.WRONG_MAGIC, Action.REFUSE], ids=["wrong magic", "reverting hook"])
def test_a_receiver_that_refuses_a_voucher_makes_the_safe_transfer_fail(
    suite, cast, voucher, receiver, refused, refusal
):
    _, root = voucher
    receiver.configure(refusal)
    refused(
        suite.voucher, cast.tier1, SAFE_WHOLE_TRANSFER, cast.tier1.address, receiver.address, root,
        error="InvalidReceiver", receiver=receiver.address,
    )


def test_a_contract_that_does_not_declare_erc3525_receiver_is_not_called_and_still_receives_value(
    suite, cast, voucher, receiver
):
    slot, root = voucher
    receiver.configure(Action.REFUSE, declares=False)  # its hook would revert if it were called
    assert not receiver.view("supportsInterface", ERC3525_RECEIVER)

    received, _ = suite.voucher.split_transfer(cast.tier1, root, receiver.address, PART)

    assert receiver.view("hooksCalled") == 0
    assert holdings(suite, slot)[received] == (receiver.address, PART)


# --------------------------------------------------------------- plain contracts


def test_a_contract_without_any_receiver_hook_still_receives_value_and_passes_it_on(suite, conn, cast, voucher, plain):
    slot, root = voucher
    received, _ = suite.voucher.split_transfer(cast.tier1, root, plain.address, PART)
    assert holdings(suite, slot)[received] == (plain.address, PART)

    conn.transact(
        cast.governance,
        plain.functions.splitTransfer(suite.voucher.address, received, cast.tier2.address, 40_000 * CNY),
    )
    assert holdings(suite, slot)[token_id(slot, 3)] == (cast.tier2.address, 40_000 * CNY)
    assert suite.voucher.value_of(received) == 60_000 * CNY
    assert_no_value_created_or_lost(suite, slot)


def test_a_safe_transfer_to_a_contract_without_on_erc721_received_is_refused(suite, cast, voucher, plain, refused):
    _, root = voucher
    refused(
        suite.voucher, cast.tier1, SAFE_WHOLE_TRANSFER, cast.tier1.address, plain.address, root,
        error="InvalidReceiver", receiver=plain.address,
    )
    # A plain ERC-721 transfer does not ask, and goes through.
    suite.voucher.transfer_whole(cast.tier1, cast.tier1.address, plain.address, root)
    assert suite.voucher.owner_of(root) == plain.address
