"""SettlementToken: the permissioned cash leg, in fen (2 decimals).

Only active members and the suite's system contracts hold or receive it; only an operator
(the settlement bank) mints deposits and burns withdrawals, and only with the member's
consent; a pause stops every movement. A refused call names the rule it broke and moves
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from scf.contracts import Role
from scf.contracts.base import ZERO_ADDRESS
from tests.support import (
    BANK_OPENING_CASH,
    CNY,
    HOSPITAL_OPENING_CASH,
    KYC,
    NOT_ACTIVE,
    Refusals,
    ViewFingerprint,
    event_args,
    funded,
    member_key,
    not_active,
    sign_permit,
)

REASON = keccak(text="reason: court order")
TIER1_CASH = 40_000 * CNY
TIER2_CASH = 25_000 * CNY
TIER3_CASH = 10_000 * CNY


@dataclass
class Scene:
    applicant: LocalAccount  # applied, pending: not a holder yet
    suspended: LocalAccount  # tier2, holds TIER2_CASH, suspended
    removed: LocalAccount  # tier3, holds TIER3_CASH, removed


@pytest.fixture(scope="module")
def scene(suite, cast, w3) -> Scene:
    """Built once per module; ape reverts the chain to this state after every test."""
    op, token, reg = cast.operator, suite.token, suite.registry
    applicant = funded(w3, "token applicant")
    reg.apply(applicant, "Pending Paints Ltd", Role.SUPPLIER, KYC)
    token.mint(op, cast.tier1.address, TIER1_CASH)
    token.mint(op, cast.tier2.address, TIER2_CASH)
    token.mint(op, cast.tier3.address, TIER3_CASH)
    reg.suspend(op, cast.tier2.address, REASON)
    reg.remove(op, cast.tier3.address, REASON)
    return Scene(applicant, cast.tier2, cast.tier3)


@pytest.fixture
def token(suite):
    return suite.token


@pytest.fixture(scope="module")
def token_views(suite, cast, scene) -> ViewFingerprint:
    people = [cast.hospital, cast.tier1, cast.tier2, cast.tier3, cast.bank, cast.auditor, cast.outsider]
    holders = [p.address for p in people] + [scene.applicant.address, suite.voucher.address]
    return ViewFingerprint(
        suite.token,
        [("balanceOf", a) for a in holders]
        + [("allowance", cast.tier1.address, s) for s in (cast.operator.address, cast.bank.address)]
        + [("allowance", cast.tier2.address, cast.operator.address), ("nonces", cast.tier1.address)]
        + [("totalSupply",), ("paused",)],
    )


@pytest.fixture
def refused(token, token_views):
    """``refused(signer, fn, *args)``: the call is mined and fails, moves nothing, and the
    revert is returned (``tests.support.Refusals``)."""
    return Refusals(token.conn.w3, token_views).on(token)


# ------------------------------------------------------------------------ basics


def test_the_settlement_token_counts_in_fen_with_two_decimals(token, suite, scene):
    assert token.call("decimals") == 2
    assert token.call("name") == "Settlement CNY"
    assert token.call("symbol") == "sCNY"
    assert token.call("registry") == suite.registry.address
    # The cast's opening cash and the scene's deposits (the scene is built before any test of
    # this module runs on it, whatever the order).
    opening = BANK_OPENING_CASH + HOSPITAL_OPENING_CASH
    assert token.total_supply() == opening + TIER1_CASH + TIER2_CASH + TIER3_CASH


def test_the_settlement_bank_mints_a_deposit_to_an_active_member(token, scene, cast):
    supply = token.total_supply()
    result = token.mint(cast.operator, cast.tier1.address, 1_234_56)  # 1,234.56 CNY

    assert token.balance_of(cast.tier1.address) == TIER1_CASH + 1_234_56
    assert token.total_supply() == supply + 1_234_56
    assert event_args(result, token, "Transfer") == [
        {"from": ZERO_ADDRESS, "to": cast.tier1.address, "value": 1_234_56}
    ]


def test_the_settlement_bank_burns_a_withdrawal_the_member_consented_to(token, scene, cast):
    token.approve(cast.tier1, cast.operator.address, 15_000 * CNY)
    supply = token.total_supply()

    result = token.burn(cast.operator, cast.tier1.address, 10_000 * CNY)

    assert token.balance_of(cast.tier1.address) == TIER1_CASH - 10_000 * CNY
    assert token.allowance(cast.tier1.address, cast.operator.address) == 5_000 * CNY
    assert token.total_supply() == supply - 10_000 * CNY
    assert event_args(result, token, "Transfer") == [
        {"from": cast.tier1.address, "to": ZERO_ADDRESS, "value": 10_000 * CNY}
    ]


def test_a_withdrawal_without_the_member_s_consent_is_refused(scene, cast, refused):
    e = refused(cast.operator, "burn", cast.tier1.address, 1 * CNY)

    assert e.error == "ERC20InsufficientAllowance"
    assert e.args_by_name == {"spender": cast.operator.address, "allowance": 0, "needed": 1 * CNY}


def test_a_withdrawal_beyond_the_balance_is_refused(token, scene, cast, refused):
    token.approve(cast.tier1, cast.operator.address, TIER1_CASH + 1)

    e = refused(cast.operator, "burn", cast.tier1.address, TIER1_CASH + 1)

    assert e.error == "ERC20InsufficientBalance"
    assert e.args_by_name == {"sender": cast.tier1.address, "balance": TIER1_CASH, "needed": TIER1_CASH + 1}


@pytest.mark.parametrize("function", ["mint", "burn"])
def test_minting_or_burning_nothing_is_refused(scene, cast, refused, function):
    e = refused(cast.operator, function, cast.tier1.address, 0)

    assert (e.error, e.args_by_name) == ("ZeroAmount", {})


def test_minting_to_the_zero_address_is_refused(cast, scene, refused):
    e = refused(cast.operator, "mint", ZERO_ADDRESS, 1 * CNY)

    assert (e.error, e.args_by_name) == ("ERC20InvalidReceiver", {"receiver": ZERO_ADDRESS})


# ------------------------------------------------------------------- permissions

CALLERS = {
    "a core enterprise": lambda s, c: c.hospital,
    "a supplier": lambda s, c: c.tier1,
    "a financier": lambda s, c: c.bank,
    "an auditor": lambda s, c: c.auditor,
    "a non-member": lambda s, c: c.outsider,
    "a suspended member": lambda s, c: s.suspended,
    "a removed member": lambda s, c: s.removed,
    "governance": lambda s, c: c.governance,
}

OPERATOR_FUNCTIONS = {
    "mint": lambda s, c: ("mint", c.tier1.address, 100 * CNY),
    "burn": lambda s, c: ("burn", c.tier1.address, 100 * CNY),
    "pause": lambda s, c: ("pause",),
    "unpause": lambda s, c: ("unpause",),
}


@pytest.mark.parametrize("caller", list(CALLERS))
@pytest.mark.parametrize("function", list(OPERATOR_FUNCTIONS))
def test_only_an_operator_may_mint_burn_or_pause(token, scene, cast, refused, function, caller):
    signer = CALLERS[caller](scene, cast)
    call = OPERATOR_FUNCTIONS[function](scene, cast)
    if function == "burn":  # the member consents to whoever asks: only the role decides
        token.approve(cast.tier1, signer.address, 100 * CNY)
        token.approve(cast.tier1, cast.operator.address, 100 * CNY)
    if function == "unpause":
        token.send(cast.operator, "pause")

    e = refused(signer, *call)

    assert (e.error, e.args_by_name) == ("NotOperator", {"account": signer.address})
    token.send(cast.operator, *call)  # the very same call is fine from an operator


def test_a_refused_mint_names_the_settlement_token_as_the_contract_that_refused(token, scene, cast, refused):
    """Several contracts of the suite declare ``NotOperator(address)``; the decoded revert of
    a token call must name the token, not the first ABI that happens to declare the error."""
    e = refused(cast.tier1, "mint", cast.tier1.address, 1 * CNY)

    assert e.error == "NotOperator"
    assert e.contract == "SettlementToken"


# ---------------------------------------------------------------------- transfers


def test_an_active_member_pays_another_active_member(token, scene, cast):
    result = token.transfer(cast.tier1, cast.bank.address, 12_500 * CNY)

    assert token.balance_of(cast.tier1.address) == TIER1_CASH - 12_500 * CNY
    assert token.balance_of(cast.bank.address) == BANK_OPENING_CASH + 12_500 * CNY
    assert event_args(result, token, "Transfer") == [
        {"from": cast.tier1.address, "to": cast.bank.address, "value": 12_500 * CNY}
    ]


def test_an_approved_spender_moves_cash_between_active_members(token, scene, cast):
    token.approve(cast.tier1, cast.bank.address, 5_000 * CNY)

    token.send(cast.bank, "transferFrom", cast.tier1.address, cast.hospital.address, 3_000 * CNY)

    assert token.balance_of(cast.hospital.address) == HOSPITAL_OPENING_CASH + 3_000 * CNY
    assert token.allowance(cast.tier1.address, cast.bank.address) == 2_000 * CNY


NOT_HOLDERS = NOT_ACTIVE


@pytest.mark.parametrize("who", NOT_HOLDERS)
def test_settlement_tokens_cannot_be_paid_to(scene, cast, refused, who):
    receiver = not_active(scene, cast, who).address

    e = refused(cast.tier1, "transfer", receiver, 1 * CNY)

    assert (e.error, e.args_by_name) == ("NotPermittedHolder", {"account": receiver})


@pytest.mark.parametrize("who", NOT_HOLDERS)
def test_settlement_tokens_cannot_be_minted_to(scene, cast, refused, who):
    receiver = not_active(scene, cast, who).address

    e = refused(cast.operator, "mint", receiver, 1 * CNY)

    assert (e.error, e.args_by_name) == ("NotPermittedHolder", {"account": receiver})


@pytest.mark.parametrize("who", NOT_HOLDERS)
def test_settlement_tokens_cannot_be_paid_by(scene, cast, refused, who):
    sender = not_active(scene, cast, who)

    e = refused(sender, "transfer", cast.tier1.address, 1 * CNY)

    assert (e.error, e.args_by_name) == ("NotPermittedHolder", {"account": sender.address})


@pytest.mark.parametrize("who", ["a suspended member", "a removed member"])
def test_an_approved_spender_cannot_move_the_cash_of(token, scene, cast, refused, who):
    holder = not_active(scene, cast, who)
    token.approve(holder, cast.bank.address, 1_000 * CNY)  # approving moves nothing: allowed

    e = refused(cast.bank, "transferFrom", holder.address, cast.bank.address, 1_000 * CNY)

    assert (e.error, e.args_by_name) == ("NotPermittedHolder", {"account": holder.address})


@pytest.mark.parametrize("who", ["a non-member", "a suspended member", "a removed member"])
def test_an_allowance_cannot_be_spent_by(token, scene, cast, refused, who):
    """An allowance outlives the holder's trust in its spender: spending it needs the spender
    to be an active member (or a system contract) at the time."""
    spender = not_active(scene, cast, who)
    token.approve(cast.tier1, spender.address, 1_000 * CNY)

    e = refused(spender, "transferFrom", cast.tier1.address, cast.bank.address, 1_000 * CNY)

    assert (e.error, e.args_by_name) == ("NotPermittedSpender", {"spender": spender.address})
    assert token.allowance(cast.tier1.address, spender.address) == 1_000 * CNY


def test_a_suspended_member_can_neither_pay_nor_withdraw_until_reinstated(token, suite, scene, cast, refused):
    token.approve(scene.suspended, cast.operator.address, TIER2_CASH)

    e = refused(cast.operator, "burn", scene.suspended.address, TIER2_CASH)
    assert (e.error, e.args_by_name) == ("NotPermittedHolder", {"account": scene.suspended.address})

    suite.registry.reinstate(cast.operator, scene.suspended.address)
    token.transfer(scene.suspended, cast.tier1.address, 5_000 * CNY)
    token.burn(cast.operator, scene.suspended.address, 20_000 * CNY)

    assert token.balance_of(scene.suspended.address) == 0
    assert token.balance_of(cast.tier1.address) == TIER1_CASH + 5_000 * CNY


# ------------------------------------------------------------------------- pause


def test_the_operator_pauses_and_every_movement_stops(token, scene, cast, refused):
    result = token.send(cast.operator, "pause")
    assert token.call("paused") is True
    assert event_args(result, token, "Paused") == [{"operator": cast.operator.address}]
    token.approve(cast.tier1, cast.operator.address, 100 * CNY)  # approvals are not movements

    for signer, call in [
        (cast.tier1, ("transfer", cast.bank.address, 1 * CNY)),
        (cast.operator, ("mint", cast.tier1.address, 1 * CNY)),
        (cast.operator, ("burn", cast.tier1.address, 1 * CNY)),
    ]:
        e = refused(signer, *call)
        assert (e.error, e.args_by_name, e.contract) == ("TokenPaused", {}, "SettlementToken")

    e = refused(cast.operator, "pause")
    assert (e.error, e.args_by_name) == ("AlreadyInState", {"paused": True})


def test_the_operator_unpauses_and_payments_resume(token, scene, cast, refused):
    token.send(cast.operator, "pause")

    result = token.send(cast.operator, "unpause")

    assert token.call("paused") is False
    assert event_args(result, token, "Unpaused") == [{"operator": cast.operator.address}]
    token.transfer(cast.tier1, cast.bank.address, 1 * CNY)
    assert token.balance_of(cast.tier1.address) == TIER1_CASH - 1 * CNY

    e = refused(cast.operator, "unpause")
    assert (e.error, e.args_by_name) == ("AlreadyInState", {"paused": False})


# ------------------------------------------------------------------------ permit


def test_a_member_grants_an_allowance_by_signature_and_the_spender_uses_it(token, scene, cast, conn, now):
    owner, spender = cast.tier1, cast.bank
    nonce = token.call("nonces", owner.address)
    deadline = now + 3_600
    v, r, s = sign_permit(owner, token, spender.address, 7_500 * CNY, nonce, deadline, conn.chain_id)

    result = token.send(spender, "permit", owner.address, spender.address, 7_500 * CNY, deadline, v, r, s)

    assert token.allowance(owner.address, spender.address) == 7_500 * CNY
    assert token.call("nonces", owner.address) == nonce + 1
    assert event_args(result, token, "Approval") == [
        {"owner": owner.address, "spender": spender.address, "value": 7_500 * CNY}
    ]
    token.send(spender, "transferFrom", owner.address, spender.address, 7_500 * CNY)
    assert token.balance_of(owner.address) == TIER1_CASH - 7_500 * CNY


def test_a_permit_cannot_be_replayed(token, scene, cast, conn, now, refused):
    owner, spender = cast.tier1, cast.bank
    deadline = now + 3_600
    v, r, s = sign_permit(owner, token, spender.address, 7_500 * CNY, 0, deadline, conn.chain_id)
    token.send(spender, "permit", owner.address, spender.address, 7_500 * CNY, deadline, v, r, s)
    token.send(spender, "transferFrom", owner.address, spender.address, 7_500 * CNY)

    e = refused(spender, "permit", owner.address, spender.address, 7_500 * CNY, deadline, v, r, s)

    assert e.error == "ERC2612InvalidSigner"
    assert e.args_by_name["owner"] == owner.address
    assert e.args_by_name["signer"] != owner.address
    assert token.allowance(owner.address, spender.address) == 0


def test_an_expired_permit_is_refused(scene, token, cast, conn, now, refused):
    deadline = now - 1
    v, r, s = sign_permit(cast.tier1, token, cast.bank.address, 1 * CNY, 0, deadline, conn.chain_id)

    e = refused(cast.bank, "permit", cast.tier1.address, cast.bank.address, 1 * CNY, deadline, v, r, s)

    assert (e.error, e.args_by_name) == ("ERC2612ExpiredSignature", {"deadline": deadline})


@pytest.mark.parametrize("forgery", ["signed by someone else", "signed for another chain", "value raised"])
def test_a_forged_permit_is_refused(scene, token, cast, conn, now, refused, forgery):
    deadline = now + 3_600
    signer, chain_id, value = cast.tier1, conn.chain_id, 1_000 * CNY
    if forgery == "signed by someone else":
        signer = cast.bank
    if forgery == "signed for another chain":
        chain_id = 1
    v, r, s = sign_permit(signer, token, cast.bank.address, value, 0, deadline, chain_id, owner=cast.tier1.address)
    if forgery == "value raised":
        value = 1_000_000 * CNY

    e = refused(cast.bank, "permit", cast.tier1.address, cast.bank.address, value, deadline, v, r, s)

    assert e.error == "ERC2612InvalidSigner"
    assert e.args_by_name["owner"] == cast.tier1.address
    if forgery == "signed by someone else":
        assert e.args_by_name["signer"] == cast.bank.address


# --------------------------------------------------------------- system accounts


def test_the_voucher_ledger_is_a_system_account_that_holds_settlement_tokens(token, suite, scene, cast):
    ledger = suite.voucher.address
    assert suite.registry.call("isSystemAccount", ledger)

    token.mint(cast.operator, ledger, 50 * CNY)
    token.transfer(cast.hospital, ledger, 100 * CNY)

    assert token.balance_of(ledger) == 150 * CNY


def test_a_system_account_that_is_switched_off_can_no_longer_receive(token, suite, scene, cast, refused):
    account = member_key("retired system contract").address
    suite.registry.send(cast.governance, "setSystemAccount", account, True)
    token.mint(cast.operator, account, 1 * CNY)
    assert token.balance_of(account) == 1 * CNY
    suite.registry.send(cast.governance, "setSystemAccount", account, False)

    e = refused(cast.operator, "mint", account, 1 * CNY)

    assert (e.error, e.args_by_name) == ("NotPermittedHolder", {"account": account})
