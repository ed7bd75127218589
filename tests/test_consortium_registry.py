"""ConsortiumRegistry: who may take part, with which roles, and who decides.

Every state-changing function is exercised on its happy path, by every kind of caller that
must not use it, and with every input it must refuse. A refused call must name the rule it
broke (the custom error and its arguments) and leave every member record as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from scf.chain.reverts import ContractRevert
from scf.chain.sending import calldata
from scf.contracts import Admission, MemberStatus, Role
from scf.contracts.base import ZERO_ADDRESS
from tests.support import (
    CNY,
    HOSPITAL_CREDIT_LIMIT,
    KYC,
    OPERATOR_ROLE,
    Refusals,
    ViewFingerprint,
    event_args,
    funded,
)
from tests.support import NO_HASH as NO_REASON

ADMIN_ROLE = b"\0" * 32
NEW_KYC = keccak(text="kyc evidence of the new firm")
REASON = keccak(text="reason: overdue KYC refresh")
UINT128_MAX = 2**128 - 1


# --------------------------------------------------------------------------- helpers


@dataclass
class Scene:
    """The admitted story members plus one of each awkward status."""

    applicant: LocalAccount  # applied, pending
    newcomer: LocalAccount  # never seen by the registry
    operator2: LocalAccount  # a second operator
    suspended: LocalAccount  # tier2, suspended
    removed: LocalAccount  # tier3, removed


@pytest.fixture(scope="module")
def scene(suite, cast, w3) -> Scene:
    """Built once per module; ape reverts the chain to this state after every test."""
    reg, op = suite.registry, cast.operator
    applicant = funded(w3, "applicant")
    newcomer = funded(w3, "newcomer")
    operator2 = funded(w3, "second operator")
    reg.apply(applicant, "Fresh Fasteners Ltd", Role.SUPPLIER, NEW_KYC)
    reg.suspend(op, cast.tier2.address, REASON)
    reg.remove(op, cast.tier3.address, REASON)
    reg.send(cast.governance, "grantRole", OPERATOR_ROLE, operator2.address)
    return Scene(applicant, newcomer, operator2, cast.tier2, cast.tier3)


EVERYONE = ("hospital", "tier1", "tier2", "tier3", "bank", "auditor", "outsider")


@pytest.fixture(scope="module")
def everyone(cast, scene) -> list[str]:
    return [getattr(cast, name).address for name in EVERYONE] + [scene.applicant.address, scene.newcomer.address]


@pytest.fixture
def reg(suite):
    return suite.registry


@pytest.fixture(scope="module")
def registry_views(suite, cast, scene, everyone) -> ViewFingerprint:
    """Every member record, the approvals of the two firms that can have any, the threshold,
    the operators, the governance role, and the roles and flags a test might grant."""
    newcomers = (scene.applicant.address, scene.newcomer.address)
    return ViewFingerprint(
        suite.registry,
        [("memberOf", a) for a in everyone]
        + [("hasApproved", a, o.address) for a in newcomers for o in (cast.operator, scene.operator2)]
        + [("approvalThreshold",), ("getRoleMemberCount", OPERATOR_ROLE), ("isSystemAccount", scene.newcomer.address)]
        + [("hasRole", OPERATOR_ROLE, a) for a in (scene.operator2.address, scene.newcomer.address)]
        + [("hasRole", ADMIN_ROLE, cast.governance.address)],
    )


@pytest.fixture
def refused(reg, registry_views):
    """``refused(signer, fn, *args)``: the call is mined and fails, changes nothing, and the
    revert is returned (``tests.support.Refusals``)."""
    return Refusals(reg.conn.w3, registry_views).on(reg)


# ------------------------------------------------------------------- application


def test_a_firm_applies_for_membership_and_waits_as_pending(reg, scene, conn):
    firm = scene.newcomer
    result = reg.apply(firm, "Northern Steel Ltd", Role.SUPPLIER | Role.FINANCIER, NEW_KYC)

    member = reg.member(firm.address)
    assert member.status == MemberStatus.PENDING
    assert member.roles == Role.SUPPLIER | Role.FINANCIER
    assert (member.approvals, member.round, member.credit_limit) == (0, 1, 0)
    assert member.updated_at == conn.block_timestamp(result.block_number)
    assert event_args(result, reg, "MembershipApplied") == [
        {"applicant": firm.address, "round": 1, "roles": 6, "kycHash": NEW_KYC, "name": "Northern Steel Ltd"}
    ]
    assert event_args(result, reg, "MemberStatusChanged") == [
        {
            "account": firm.address,
            "from": MemberStatus.NONE,
            "to": MemberStatus.PENDING,
            "operator": firm.address,
            "reasonHash": NO_REASON,
        }
    ]


def test_one_operator_approval_activates_an_application_under_the_default_threshold(reg, scene, cast):
    assert reg.call("approvalThreshold") == 1
    result = reg.approve(cast.operator, scene.applicant.address)

    member = reg.member(scene.applicant.address)
    assert (member.status, member.approvals, member.round) == (MemberStatus.ACTIVE, 1, 1)
    assert reg.call("hasApproved", scene.applicant.address, cast.operator.address)
    assert not reg.call("hasApproved", scene.applicant.address, scene.operator2.address)
    assert event_args(result, reg, "ApplicationApproved") == [
        {"applicant": scene.applicant.address, "operator": cast.operator.address, "approvals": 1, "threshold": 1}
    ]
    (changed,) = event_args(result, reg, "MemberStatusChanged")
    assert (changed["from"], changed["to"], changed["operator"]) == (
        MemberStatus.PENDING,
        MemberStatus.ACTIVE,
        cast.operator.address,
    )


def test_a_two_of_three_threshold_needs_two_distinct_operators(reg, scene, cast, w3):
    operator3 = funded(w3, "third operator")
    granted = reg.send(cast.governance, "grantRole", OPERATOR_ROLE, operator3.address)
    assert event_args(granted, reg, "RoleGranted") == [
        {"role": OPERATOR_ROLE, "account": operator3.address, "sender": cast.governance.address}
    ]
    result = reg.send(cast.governance, "setApprovalThreshold", 2)
    assert event_args(result, reg, "ApprovalThresholdSet") == [{"from": 1, "to": 2}]
    assert reg.call("approvalThreshold") == 2
    applicant = scene.applicant.address

    first = reg.approve(cast.operator, applicant)
    assert event_args(first, reg, "ApplicationApproved") == [
        {"applicant": applicant, "operator": cast.operator.address, "approvals": 1, "threshold": 2}
    ]
    assert event_args(first, reg, "MemberStatusChanged") == []
    assert (reg.member(applicant).status, reg.member(applicant).approvals) == (MemberStatus.PENDING, 1)
    assert not reg.call("transactionAllowed", applicant, ZERO_ADDRESS, 0, 0, 0, b"")

    second = reg.approve(operator3, applicant)
    assert event_args(second, reg, "ApplicationApproved") == [
        {"applicant": applicant, "operator": operator3.address, "approvals": 2, "threshold": 2}
    ]
    assert (reg.member(applicant).status, reg.member(applicant).approvals) == (MemberStatus.ACTIVE, 2)
    assert reg.call("hasActiveRoles", applicant, int(Role.SUPPLIER))


def test_an_approval_by_an_operator_who_was_since_revoked_does_not_count(reg, scene, cast, w3):
    """k-of-n means k current operators: once governance revokes an operator (say its key was
    compromised), its approval of a pending application must no longer carry it over the
    threshold."""
    operator3 = funded(w3, "third operator")
    reg.send(cast.governance, "grantRole", OPERATOR_ROLE, operator3.address)
    reg.send(cast.governance, "setApprovalThreshold", 2)
    reg.approve(scene.operator2, scene.applicant.address)
    reg.send(cast.governance, "revokeRole", OPERATOR_ROLE, scene.operator2.address)

    reg.approve(cast.operator, scene.applicant.address)

    assert reg.status_of(scene.applicant.address) == MemberStatus.PENDING


def test_the_same_operator_cannot_approve_an_application_twice(reg, scene, cast, refused):
    reg.send(cast.governance, "setApprovalThreshold", 2)
    reg.approve(cast.operator, scene.applicant.address)

    error = refused(cast.operator, "approve", scene.applicant.address)

    assert error.error == "AlreadyApproved"
    assert error.args_by_name == {"applicant": scene.applicant.address, "operator": cast.operator.address}
    assert reg.member(scene.applicant.address).approvals == 1


def test_an_operator_rejects_an_application_and_the_firm_ends_removed(reg, scene, cast):
    result = reg.reject_application(cast.operator, scene.applicant.address, REASON)

    assert reg.status_of(scene.applicant.address) == MemberStatus.REMOVED
    assert event_args(result, reg, "ApplicationRejected") == [
        {"applicant": scene.applicant.address, "operator": cast.operator.address, "reasonHash": REASON}
    ]
    assert event_args(result, reg, "MemberStatusChanged") == [
        {
            "account": scene.applicant.address,
            "from": MemberStatus.PENDING,
            "to": MemberStatus.REMOVED,
            "operator": cast.operator.address,
            "reasonHash": REASON,
        }
    ]


def test_a_rejected_firm_applies_again_and_earlier_approvals_do_not_count(reg, scene, cast):
    applicant = scene.applicant.address
    reg.send(cast.governance, "setApprovalThreshold", 2)
    reg.approve(cast.operator, applicant)
    reg.reject_application(scene.operator2, applicant, REASON)

    result = reg.apply(scene.applicant, "Fresh Fasteners Ltd (resubmitted)", Role.SUPPLIER, KYC)

    member = reg.member(applicant)
    assert (member.status, member.round, member.approvals) == (MemberStatus.PENDING, 2, 0)
    assert not reg.call("hasApproved", applicant, cast.operator.address)
    (applied,) = event_args(result, reg, "MembershipApplied")
    assert (applied["round"], applied["name"], applied["kycHash"]) == (2, "Fresh Fasteners Ltd (resubmitted)", KYC)
    (changed,) = event_args(result, reg, "MemberStatusChanged")
    assert (changed["from"], changed["to"]) == (MemberStatus.REMOVED, MemberStatus.PENDING)

    reg.approve(cast.operator, applicant)  # allowed again in the new round
    assert reg.status_of(applicant) == MemberStatus.PENDING
    reg.approve(scene.operator2, applicant)
    assert reg.status_of(applicant) == MemberStatus.ACTIVE


# --------------------------------------------------------------------- admission


def test_an_operator_admits_a_core_enterprise_directly_with_a_credit_limit(reg, scene, cast):
    firm = scene.newcomer.address
    result = reg.admit(cast.operator, firm, "Eastern Motors", Role.CORE_ENTERPRISE, NEW_KYC, 750_000 * CNY)

    member = reg.member(firm)
    assert (member.status, member.roles, member.round) == (MemberStatus.ACTIVE, Role.CORE_ENTERPRISE, 1)
    assert member.credit_limit == 750_000 * CNY  # the name and KYC hash are in MemberAdmitted only
    assert reg.call("creditLimitOf", firm) == 750_000 * CNY
    assert event_args(result, reg, "MemberAdmitted") == [
        {
            "account": firm,
            "operator": cast.operator.address,
            "roles": 1,
            "kycHash": NEW_KYC,
            "name": "Eastern Motors",
        }
    ]
    assert event_args(result, reg, "MemberStatusChanged") == [
        {
            "account": firm,
            "from": MemberStatus.NONE,
            "to": MemberStatus.ACTIVE,
            "operator": cast.operator.address,
            "reasonHash": NO_REASON,
        }
    ]
    assert event_args(result, reg, "CreditLimitSet") == [
        {"account": firm, "from": 0, "to": 750_000 * CNY, "operator": cast.operator.address}
    ]


def test_admitting_without_a_credit_limit_sets_none(reg, scene, cast):
    result = reg.admit(cast.operator, scene.newcomer.address, "Small Supplier", Role.SUPPLIER, NEW_KYC)

    assert reg.member(scene.newcomer.address).credit_limit == 0
    assert event_args(result, reg, "CreditLimitSet") == []


def test_admitting_a_pending_applicant_activates_it_in_the_same_round(reg, scene, cast):
    applicant = scene.applicant.address
    reg.admit(cast.operator, applicant, "Fresh Fasteners Ltd", Role.SUPPLIER | Role.FINANCIER, NEW_KYC)

    member = reg.member(applicant)
    assert (member.status, member.round, member.roles) == (
        MemberStatus.ACTIVE,
        1,
        Role.SUPPLIER | Role.FINANCIER,
    )


# ----------------------------------------------------------- admission in batches


def _firms(w3, label: str, n: int) -> list[LocalAccount]:
    return [funded(w3, f"{label} {i}") for i in range(n)]


def _batch(firms, roles=Role.SUPPLIER, **by_index) -> list[Admission]:
    """An admission per firm (name "Firm i", KYC hash of its name); ``by_index`` replaces one."""
    out = [Admission(f.address, f"Firm {i}", roles, keccak(text=f"kyc firm {i}")) for i, f in enumerate(firms)]
    for index, admission in by_index.items():
        out[int(index.removeprefix("at"))] = admission
    return out


def test_an_operator_admits_a_batch_of_firms_each_as_admit_would(reg, cast, w3):
    firms = _firms(w3, "batch firm", 3)
    core = Admission(firms[2].address, "Western Foundry", Role.CORE_ENTERPRISE, NEW_KYC, 400_000 * CNY)
    batch = _batch(firms, at2=core)

    result = reg.admit_batch(cast.operator, batch)

    records = reg.members([f.address for f in firms])
    assert [(m.status, m.roles, m.round, m.credit_limit) for m in records] == [
        (MemberStatus.ACTIVE, Role.SUPPLIER, 1, 0),
        (MemberStatus.ACTIVE, Role.SUPPLIER, 1, 0),
        (MemberStatus.ACTIVE, Role.CORE_ENTERPRISE, 1, 400_000 * CNY),
    ]
    assert all(m.updated_at == reg.conn.block_timestamp(result.block_number) for m in records)
    assert event_args(result, reg, "MemberAdmitted") == [
        {"account": a.account, "operator": cast.operator.address, "roles": int(a.roles), "kycHash": a.kyc_hash,
         "name": a.name}
        for a in batch
    ]
    assert [(e["account"], e["from"], e["to"]) for e in event_args(result, reg, "MemberStatusChanged")] == [
        (f.address, MemberStatus.NONE, MemberStatus.ACTIVE) for f in firms
    ]
    assert event_args(result, reg, "CreditLimitSet") == [
        {"account": core.account, "from": 0, "to": 400_000 * CNY, "operator": cast.operator.address}
    ]
    assert reg.profile(core.account) == ("Western Foundry", NEW_KYC)  # from the event: not stored


def _refusals(reg, registry_views, firms):
    """``refused`` watching the batch's firms' records too."""
    refusals = Refusals(reg.conn.w3, registry_views)
    for i, firm in enumerate(firms):
        refusals.watch(f"firm {i}", reg.address, "memberOf(address)", firm.address)
    return refusals.on(reg)


@pytest.mark.parametrize("fault", [
    "not an operator", "empty", "an active member", "a pending applicant", "a removed member", "the same firm twice",
    "no name", "a credit line for a supplier", "no KYC evidence", "no roles", "the zero address",
])
def test_a_batch_with_any_firm_at_fault_is_refused_whole(reg, scene, cast, w3, registry_views, fault):
    firms = _firms(w3, "refused batch firm", 3)
    refused = _refusals(reg, registry_views, firms)
    batch = _batch(firms)
    signer = cast.operator
    last = batch[2]
    expected: tuple[str, dict] = ("", {})
    if fault == "not an operator":
        signer = cast.hospital
        expected = ("NotOperator", {"account": cast.hospital.address})
    elif fault == "empty":
        batch, expected = [], ("EmptyBatch", {})
    elif fault in ("an active member", "a pending applicant", "a removed member"):
        who, status = {"an active member": (cast.tier1, MemberStatus.ACTIVE),
                       "a pending applicant": (scene.applicant, MemberStatus.PENDING),
                       "a removed member": (scene.removed, MemberStatus.REMOVED)}[fault]
        batch[2] = Admission(who.address, "Someone Else", Role.SUPPLIER, KYC)
        expected = ("UnexpectedStatus", {"account": who.address, "actual": status})
    elif fault == "the same firm twice":
        batch[2] = Admission(firms[0].address, "Firm 0 again", Role.SUPPLIER, KYC)
        expected = ("UnexpectedStatus", {"account": firms[0].address, "actual": MemberStatus.ACTIVE})
    elif fault == "no name":
        batch[2] = Admission(last.account, "", last.roles, last.kyc_hash)
        expected = ("EmptyName", {})
    elif fault == "a credit line for a supplier":
        batch[2] = Admission(last.account, last.name, Role.SUPPLIER, last.kyc_hash, 1_000 * CNY)
        expected = ("NotCoreEnterprise", {"account": last.account})
    elif fault == "no KYC evidence":
        batch[2] = Admission(last.account, last.name, last.roles, NO_REASON)
        expected = ("MissingKycEvidence", {})
    elif fault == "no roles":
        batch[2] = Admission(last.account, last.name, Role(0), last.kyc_hash)
        expected = ("InvalidRoles", {"roles": 0})
    elif fault == "the zero address":
        batch[2] = Admission(ZERO_ADDRESS, last.name, last.roles, last.kyc_hash)
        expected = ("ZeroAddress", {})

    error = refused(signer, "admitBatch", [a.encoded() for a in batch])

    assert (error.error, error.args_by_name) == expected
    assert [m.status for m in reg.members([f.address for f in firms])] == [MemberStatus.NONE] * 3


def test_under_a_threshold_of_two_a_batch_takes_two_operators_making_the_identical_call(reg, scene, cast, w3):
    firms = _firms(w3, "threshold batch firm", 2)
    reg.send(cast.governance, "setApprovalThreshold", 2)
    batch = _batch(firms)

    first = reg.admit_batch(cast.operator, batch)
    assert not event_args(first, reg, "MemberAdmitted")
    (approval,) = event_args(first, reg, "ActionApproved")
    assert (approval["operator"], approval["approvals"], approval["threshold"]) == (cast.operator.address, 1, 2)
    assert [m.status for m in reg.members([f.address for f in firms])] == [MemberStatus.NONE] * 2

    # Another batch (one name changed) is another act: it does not complete the first.
    other = reg.admit_batch(scene.operator2, _batch(firms, at1=Admission(firms[1].address, "Renamed", Role.SUPPLIER,
                                                                          keccak(text="kyc firm 1"))))
    assert not event_args(other, reg, "MemberAdmitted")
    with pytest.raises(ContractRevert) as again:  # the same operator twice counts once
        reg.admit_batch(cast.operator, batch)
    assert again.value.error == "AlreadyApproved"

    second = reg.admit_batch(scene.operator2, batch)
    assert [e["account"] for e in event_args(second, reg, "MemberAdmitted")] == [f.address for f in firms]
    assert [m.status for m in reg.members([f.address for f in firms])] == [MemberStatus.ACTIVE] * 2


def test_a_batch_already_admitted_cannot_be_replayed(reg, cast, w3, registry_views):
    firms = _firms(w3, "replayed batch firm", 2)
    batch = _batch(firms)
    reg.admit_batch(cast.operator, batch)
    refused = _refusals(reg, registry_views, firms)
    error = refused(cast.operator, "admitBatch", [a.encoded() for a in batch])
    assert (error.error, error.args_by_name) == (
        "UnexpectedStatus", {"account": firms[0].address, "actual": MemberStatus.ACTIVE}
    )


# --------------------------------------------------------------------- lifecycle


def test_an_operator_suspends_an_active_member_and_reinstates_it(reg, cast):
    supplier = cast.tier1.address
    suspended = reg.suspend(cast.operator, supplier, REASON)

    assert reg.status_of(supplier) == MemberStatus.SUSPENDED
    assert reg.call("rolesIfActive", supplier) == 0
    assert event_args(suspended, reg, "MemberStatusChanged") == [
        {
            "account": supplier,
            "from": MemberStatus.ACTIVE,
            "to": MemberStatus.SUSPENDED,
            "operator": cast.operator.address,
            "reasonHash": REASON,
        }
    ]

    reinstated = reg.reinstate(cast.operator, supplier)

    assert reg.status_of(supplier) == MemberStatus.ACTIVE
    assert reg.call("rolesIfActive", supplier) == Role.SUPPLIER
    assert event_args(reinstated, reg, "MemberStatusChanged") == [
        {
            "account": supplier,
            "from": MemberStatus.SUSPENDED,
            "to": MemberStatus.ACTIVE,
            "operator": cast.operator.address,
            "reasonHash": NO_REASON,
        }
    ]


@pytest.mark.parametrize("who", ["pending applicant", "active supplier", "suspended supplier"])
def test_an_operator_removes_a_member_in_any_live_status(reg, scene, cast, who):
    account = {
        "pending applicant": scene.applicant,
        "active supplier": cast.tier1,
        "suspended supplier": scene.suspended,
    }[who].address
    before = reg.status_of(account)

    result = reg.remove(cast.operator, account, REASON)

    assert reg.status_of(account) == MemberStatus.REMOVED
    assert event_args(result, reg, "MemberStatusChanged") == [
        {
            "account": account,
            "from": before,
            "to": MemberStatus.REMOVED,
            "operator": cast.operator.address,
            "reasonHash": REASON,
        }
    ]


def test_a_removed_member_comes_back_only_through_a_new_application(reg, scene, cast, refused):
    removed = scene.removed

    error = refused(cast.operator, "admit", removed.address, "Raw Polymers Ltd", int(Role.SUPPLIER), KYC, 0)
    assert error.error == "UnexpectedStatus"
    assert error.args_by_name == {"account": removed.address, "actual": MemberStatus.REMOVED}

    reg.apply(removed, "Raw Polymers Ltd (new management)", Role.SUPPLIER, NEW_KYC)
    member = reg.member(removed.address)
    assert (member.status, member.round) == (MemberStatus.PENDING, 2)
    assert reg.profile(removed.address) == ("Raw Polymers Ltd (new management)", NEW_KYC)
    reg.approve(cast.operator, removed.address)
    assert reg.status_of(removed.address) == MemberStatus.ACTIVE


def test_a_readmitted_core_enterprise_does_not_inherit_its_old_credit_limit(reg, cast):
    """A credit limit is a credit decision about a member; a removed firm that is approved
    again on a fresh application must not silently get its old line back."""
    hospital = cast.hospital
    assert reg.call("creditLimitOf", hospital.address) == HOSPITAL_CREDIT_LIMIT
    reg.remove(cast.operator, hospital.address, REASON)
    reg.apply(hospital, "City Hospital Group", Role.CORE_ENTERPRISE, NEW_KYC)
    reg.approve(cast.operator, hospital.address)

    assert reg.status_of(hospital.address) == MemberStatus.ACTIVE
    assert reg.call("creditLimitOf", hospital.address) == 0


# ------------------------------------------------------------------ roles, credit


def test_an_operator_changes_the_roles_of_an_active_member(reg, cast):
    result = reg.set_roles(cast.operator, cast.tier1.address, Role.SUPPLIER | Role.FINANCIER)

    assert reg.member(cast.tier1.address).roles == Role.SUPPLIER | Role.FINANCIER
    assert reg.call("hasActiveRoles", cast.tier1.address, int(Role.FINANCIER))
    assert event_args(result, reg, "MemberRolesChanged") == [
        {"account": cast.tier1.address, "from": 2, "to": 6, "operator": cast.operator.address}
    ]


def test_an_operator_changes_the_roles_of_a_suspended_member(reg, scene, cast):
    reg.set_roles(cast.operator, scene.suspended.address, Role.AUDITOR)

    member = reg.member(scene.suspended.address)
    assert (member.status, member.roles) == (MemberStatus.SUSPENDED, Role.AUDITOR)


def test_an_operator_raises_and_lowers_a_core_enterprise_credit_limit(reg, cast):
    raised = reg.set_credit_limit(cast.operator, cast.hospital.address, 8_000_000 * CNY)
    assert event_args(raised, reg, "CreditLimitSet") == [
        {
            "account": cast.hospital.address,
            "from": HOSPITAL_CREDIT_LIMIT,
            "to": 8_000_000 * CNY,
            "operator": cast.operator.address,
        }
    ]
    reg.set_credit_limit(cast.operator, cast.hospital.address, 0)
    assert reg.call("creditLimitOf", cast.hospital.address) == 0
    reg.set_credit_limit(cast.operator, cast.hospital.address, UINT128_MAX)
    assert reg.call("creditLimitOf", cast.hospital.address) == UINT128_MAX


def test_an_operator_sets_the_credit_limit_of_a_suspended_core_enterprise(reg, cast):
    reg.suspend(cast.operator, cast.hospital.address, REASON)
    reg.set_credit_limit(cast.operator, cast.hospital.address, 1 * CNY)

    assert reg.call("creditLimitOf", cast.hospital.address) == 1 * CNY


# -------------------------------------------------------------------- governance


def test_governance_sets_the_approval_threshold_within_the_operator_count(reg, scene, cast):
    result = reg.send(cast.governance, "setApprovalThreshold", 2)

    assert reg.call("approvalThreshold") == 2
    assert event_args(result, reg, "ApprovalThresholdSet") == [{"from": 1, "to": 2}]


def test_governance_marks_and_unmarks_a_system_account(reg, scene, cast):
    contract_address = scene.newcomer.address
    enabled = reg.send(cast.governance, "setSystemAccount", contract_address, True)

    assert reg.call("isSystemAccount", contract_address)
    assert reg.call("mayHoldSettlement", contract_address)
    assert reg.call("transactionAllowed", contract_address, ZERO_ADDRESS, 0, 0, 0, b"")
    assert reg.status_of(contract_address) == MemberStatus.NONE
    assert event_args(enabled, reg, "SystemAccountSet") == [{"account": contract_address, "enabled": True}]

    disabled = reg.send(cast.governance, "setSystemAccount", contract_address, False)

    assert not reg.call("isSystemAccount", contract_address)
    assert not reg.call("mayHoldSettlement", contract_address)
    assert event_args(disabled, reg, "SystemAccountSet") == [{"account": contract_address, "enabled": False}]


def test_governance_revokes_an_operator_while_the_threshold_stays_reachable(reg, scene, cast):
    result = reg.send(cast.governance, "revokeRole", OPERATOR_ROLE, scene.operator2.address)

    assert not reg.is_operator(scene.operator2.address)
    assert event_args(result, reg, "RoleRevoked") == [
        {"role": OPERATOR_ROLE, "account": scene.operator2.address, "sender": cast.governance.address}
    ]


@pytest.mark.parametrize("how", ["revoked by governance", "renounced by the operator"])
def test_an_operator_cannot_leave_when_that_would_drop_below_the_threshold(reg, scene, cast, refused, how):
    reg.send(cast.governance, "setApprovalThreshold", 2)

    if how == "revoked by governance":
        error = refused(cast.governance, "revokeRole", OPERATOR_ROLE, scene.operator2.address)
    else:
        error = refused(scene.operator2, "renounceRole", OPERATOR_ROLE, scene.operator2.address)

    assert error.error == "InvalidThreshold"
    assert error.args_by_name == {"threshold": 2, "operators": 1}
    assert reg.is_operator(scene.operator2.address)


# ------------------------------------------------------------------------- views


def test_the_registry_publishes_its_role_bits(reg):
    assert reg.call("ROLE_CORE_ENTERPRISE") == Role.CORE_ENTERPRISE == 1
    assert reg.call("ROLE_SUPPLIER") == Role.SUPPLIER == 2
    assert reg.call("ROLE_FINANCIER") == Role.FINANCIER == 4
    assert reg.call("ROLE_AUDITOR") == Role.AUDITOR == 8
    assert reg.call("ROLE_INSURER") == Role.INSURER == 16
    assert reg.call("ALL_ROLES") == 31 == sum(Role)
    assert reg.call("OPERATOR_ROLE") == OPERATOR_ROLE


def test_views_report_roles_only_for_active_members(reg, scene, cast):
    hospital, tier1 = cast.hospital.address, cast.tier1.address
    assert reg.call("hasActiveRoles", hospital, int(Role.CORE_ENTERPRISE))
    assert not reg.call("hasActiveRoles", hospital, int(Role.CORE_ENTERPRISE | Role.SUPPLIER))
    assert reg.call("rolesIfActive", hospital) == Role.CORE_ENTERPRISE
    assert reg.call("rolesIfActivePair", hospital, tier1) == [1, 2]
    assert reg.call("creditLimitOf", hospital) == HOSPITAL_CREDIT_LIMIT
    assert reg.call("creditLimitOf", tier1) == 0

    for account, status in [
        (scene.applicant.address, MemberStatus.PENDING),
        (scene.suspended.address, MemberStatus.SUSPENDED),
        (scene.removed.address, MemberStatus.REMOVED),
        (cast.outsider.address, MemberStatus.NONE),
    ]:
        assert reg.status_of(account) == status
        assert reg.call("rolesIfActive", account) == 0
        assert not reg.call("hasActiveRoles", account, int(Role.SUPPLIER))
        assert not reg.call("mayHoldSettlement", account)
    assert reg.call("rolesIfActivePair", tier1, scene.suspended.address) == [2, 0]
    assert reg.member(scene.suspended.address).roles == Role.SUPPLIER  # kept, just not active

    outsider = reg.member(cast.outsider.address)
    assert (outsider.status, outsider.roles, outsider.credit_limit) == (MemberStatus.NONE, 0, 0)
    assert reg.is_operator(cast.operator.address) and reg.is_operator(scene.operator2.address)
    assert not reg.is_operator(cast.governance.address)
    assert not reg.is_operator(hospital)


@pytest.mark.parametrize(
    "who, allowed",
    [
        ("active core enterprise", True),
        ("active supplier", True),
        ("active financier", True),
        ("active auditor", True),
        ("operator", True),
        ("governance", True),
        ("pending applicant", False),
        ("suspended member", False),
        ("removed member", False),
        ("non-member", False),
    ],
)
def test_transaction_allowed_admits_only_active_members_and_the_consortium_staff(reg, scene, cast, who, allowed):
    sender = {
        "active core enterprise": cast.hospital,
        "active supplier": cast.tier1,
        "active financier": cast.bank,
        "active auditor": cast.auditor,
        "operator": cast.operator,
        "governance": cast.governance,
        "pending applicant": scene.applicant,
        "suspended member": scene.suspended,
        "removed member": scene.removed,
        "non-member": cast.outsider,
    }[who].address

    verdict = reg.call("transactionAllowed", sender, reg.address, 10**18, 10**9, 100_000, b"\x12\x34")

    assert verdict is allowed


# ----------------------------------------------------------------- permissions

OPERATOR_FUNCTIONS = {
    "approve": lambda s, c: ("approve", s.applicant.address),
    "rejectApplication": lambda s, c: ("rejectApplication", s.applicant.address, REASON),
    "admit": lambda s, c: ("admit", s.newcomer.address, "New Firm", int(Role.SUPPLIER), NEW_KYC, 0),
    "suspend": lambda s, c: ("suspend", c.tier1.address, REASON),
    "reinstate": lambda s, c: ("reinstate", s.suspended.address),
    "remove": lambda s, c: ("remove", c.tier1.address, REASON),
    "setRoles": lambda s, c: ("setRoles", c.tier1.address, int(Role.SUPPLIER | Role.FINANCIER)),
    "setCreditLimit": lambda s, c: ("setCreditLimit", c.hospital.address, 123 * CNY),
}

GOVERNANCE_FUNCTIONS = {
    "setApprovalThreshold": lambda s, c: ("setApprovalThreshold", 2),
    "setSystemAccount": lambda s, c: ("setSystemAccount", s.newcomer.address, True),
    "grantRole": lambda s, c: ("grantRole", OPERATOR_ROLE, s.newcomer.address),
    "revokeRole": lambda s, c: ("revokeRole", OPERATOR_ROLE, s.operator2.address),
}

MEMBER_CALLERS = {
    "a core enterprise": lambda s, c: c.hospital,
    "a supplier": lambda s, c: c.tier1,
    "a financier": lambda s, c: c.bank,
    "an auditor": lambda s, c: c.auditor,
    "a non-member": lambda s, c: c.outsider,
    "a pending applicant": lambda s, c: s.applicant,
    "a suspended member": lambda s, c: s.suspended,
    "a removed member": lambda s, c: s.removed,
}


@pytest.mark.parametrize("caller", [*MEMBER_CALLERS, "governance"])
@pytest.mark.parametrize("function", list(OPERATOR_FUNCTIONS))
def test_only_an_operator_may_call_an_operator_function(reg, scene, cast, refused, function, caller):
    signer = cast.governance if caller == "governance" else MEMBER_CALLERS[caller](scene, cast)
    call = OPERATOR_FUNCTIONS[function](scene, cast)

    error = refused(signer, *call)

    assert error.error == "NotOperator"
    assert error.args_by_name == {"account": signer.address}
    reg.send(cast.operator, *call)  # the very same call is fine from an operator


@pytest.mark.parametrize("caller", [*MEMBER_CALLERS, "an operator"])
@pytest.mark.parametrize("function", list(GOVERNANCE_FUNCTIONS))
def test_only_governance_may_call_a_governance_function(reg, scene, cast, refused, function, caller):
    signer = cast.operator if caller == "an operator" else MEMBER_CALLERS[caller](scene, cast)
    call = GOVERNANCE_FUNCTIONS[function](scene, cast)

    error = refused(signer, *call)

    assert error.error == "AccessControlUnauthorizedAccount"
    assert error.args_by_name == {"account": signer.address, "neededRole": ADMIN_ROLE}
    reg.send(cast.governance, *call)  # the very same call is fine from governance


# -------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    "name, roles, kyc, error, args",
    [
        ("Acme", 0, KYC, "InvalidRoles", {"roles": 0}),
        ("Acme", 32, KYC, "InvalidRoles", {"roles": 32}),
        ("Acme", 255, KYC, "InvalidRoles", {"roles": 255}),
        ("", int(Role.SUPPLIER), KYC, "EmptyName", {}),
        ("Acme", int(Role.SUPPLIER), NO_REASON, "MissingKycEvidence", {}),
    ],
    ids=["roles-0", "roles-32", "roles-255", "empty-name", "no-kyc-hash"],
)
def test_an_application_with_a_bad_profile_is_refused(scene, refused, name, roles, kyc, error, args):
    e = refused(scene.newcomer, "applyForMembership", name, roles, kyc)

    assert (e.error, e.args_by_name) == (error, args)


@pytest.mark.parametrize(
    "name, roles, kyc, error, args",
    [
        ("Acme", 0, KYC, "InvalidRoles", {"roles": 0}),
        ("Acme", 32, KYC, "InvalidRoles", {"roles": 32}),
        ("", int(Role.SUPPLIER), KYC, "EmptyName", {}),
        ("Acme", int(Role.SUPPLIER), NO_REASON, "MissingKycEvidence", {}),
    ],
    ids=["roles-0", "roles-32", "empty-name", "no-kyc-hash"],
)
def test_an_admission_with_a_bad_profile_is_refused(scene, cast, refused, name, roles, kyc, error, args):
    e = refused(cast.operator, "admit", scene.newcomer.address, name, roles, kyc, 0)

    assert (e.error, e.args_by_name) == (error, args)


def test_admitting_the_zero_address_is_refused(cast, refused):
    e = refused(cast.operator, "admit", ZERO_ADDRESS, "Nobody", int(Role.SUPPLIER), KYC, 0)

    assert (e.error, e.args_by_name) == ("ZeroAddress", {})


@pytest.mark.parametrize("who", ["pending applicant", "active supplier", "suspended supplier"])
def test_a_firm_cannot_apply_while_pending_active_or_suspended(reg, scene, cast, refused, who):
    signer = {
        "pending applicant": scene.applicant,
        "active supplier": cast.tier1,
        "suspended supplier": scene.suspended,
    }[who]

    e = refused(signer, "applyForMembership", "Again", int(Role.SUPPLIER), NEW_KYC)

    assert e.error == "UnexpectedStatus"
    assert e.args_by_name == {"account": signer.address, "actual": reg.status_of(signer.address)}


@pytest.mark.parametrize("who", ["active supplier", "suspended supplier", "removed supplier"])
def test_an_operator_cannot_admit_a_firm_that_is_not_new_or_pending(reg, scene, cast, refused, who):
    account = {"active supplier": cast.tier1, "suspended supplier": scene.suspended, "removed supplier": scene.removed}[
        who
    ].address

    e = refused(cast.operator, "admit", account, "Again", int(Role.SUPPLIER), NEW_KYC, 0)

    assert e.error == "UnexpectedStatus"
    assert e.args_by_name == {"account": account, "actual": reg.status_of(account)}


def _status_targets(scene, cast) -> dict[str, str]:
    return {
        "non-member": cast.outsider.address,
        "pending": scene.applicant.address,
        "active": cast.tier1.address,
        "suspended": scene.suspended.address,
        "removed": scene.removed.address,
    }


WRONG_TRANSITIONS = [
    # (function, target status, extra args)
    ("approve", "non-member", ()),
    ("approve", "active", ()),
    ("approve", "suspended", ()),
    ("approve", "removed", ()),
    ("rejectApplication", "non-member", (REASON,)),
    ("rejectApplication", "active", (REASON,)),
    ("rejectApplication", "removed", (REASON,)),
    ("suspend", "non-member", (REASON,)),
    ("suspend", "pending", (REASON,)),
    ("suspend", "suspended", (REASON,)),
    ("suspend", "removed", (REASON,)),
    ("reinstate", "non-member", ()),
    ("reinstate", "pending", ()),
    ("reinstate", "active", ()),
    ("reinstate", "removed", ()),
    ("remove", "non-member", (REASON,)),
    ("remove", "removed", (REASON,)),
    ("setRoles", "non-member", (int(Role.SUPPLIER),)),
    ("setRoles", "pending", (int(Role.SUPPLIER),)),
    ("setRoles", "removed", (int(Role.SUPPLIER),)),
    ("setCreditLimit", "non-member", (1,)),
    ("setCreditLimit", "pending", (1,)),
    ("setCreditLimit", "removed", (1,)),
]


@pytest.mark.parametrize(
    "function, target, extra", WRONG_TRANSITIONS, ids=[f"{f}-a-{t}-member" for f, t, _ in WRONG_TRANSITIONS]
)
def test_a_status_change_from_the_wrong_status_is_refused(reg, scene, cast, refused, function, target, extra):
    account = _status_targets(scene, cast)[target]

    e = refused(cast.operator, function, account, *extra)

    assert e.error == "UnexpectedStatus"
    assert e.args_by_name == {"account": account, "actual": reg.status_of(account)}


@pytest.mark.parametrize("roles", [0, 32, 200])
def test_setting_invalid_roles_is_refused(cast, refused, roles):
    e = refused(cast.operator, "setRoles", cast.tier1.address, roles)

    assert (e.error, e.args_by_name) == ("InvalidRoles", {"roles": roles})


@pytest.mark.parametrize("who", ["supplier", "financier", "auditor"])
def test_a_credit_limit_for_a_member_that_is_not_a_core_enterprise_is_refused(cast, refused, who):
    account = {"supplier": cast.tier1, "financier": cast.bank, "auditor": cast.auditor}[who].address

    e = refused(cast.operator, "setCreditLimit", account, 1_000 * CNY)

    assert (e.error, e.args_by_name) == ("NotCoreEnterprise", {"account": account})


def test_admitting_a_supplier_with_a_credit_limit_is_refused(scene, cast, refused):
    e = refused(cast.operator, "admit", scene.newcomer.address, "Acme", int(Role.SUPPLIER), KYC, 1_000 * CNY)

    assert (e.error, e.args_by_name) == ("NotCoreEnterprise", {"account": scene.newcomer.address})


def test_a_credit_limit_beyond_uint128_is_refused(cast, refused):
    e = refused(cast.operator, "setCreditLimit", cast.hospital.address, UINT128_MAX + 1)

    assert (e.error, e.args_by_name) == ("CreditLimitTooLarge", {"limit": UINT128_MAX + 1})


@pytest.mark.parametrize("threshold", [0, 3, 65535])
def test_an_approval_threshold_of_zero_or_above_the_operator_count_is_refused(cast, scene, refused, threshold):
    e = refused(cast.governance, "setApprovalThreshold", threshold)

    assert (e.error, e.args_by_name) == ("InvalidThreshold", {"threshold": threshold, "operators": 2})


def test_marking_the_zero_address_as_a_system_account_is_refused(cast, refused):
    e = refused(cast.governance, "setSystemAccount", ZERO_ADDRESS, True)

    assert (e.error, e.args_by_name) == ("ZeroAddress", {})


# ------------------------------------------------ the scf client on this registry


def test_an_operator_may_reassert_the_same_roles_in_the_block_after_setting_them(reg, cast, w3):
    """The record's ``updatedAt`` shares a storage word with the roles: when the last write
    was in the latest block, an estimate made against that block sees a no-op store, while the
    transaction, mined in the next block (a later timestamp, as on every real chain), pays for
    a real one. The client must leave gas headroom; with an exact estimate the transaction runs
    out of gas and is reported as ``RevertWithoutReason``."""
    both = Role.SUPPLIER | Role.FINANCIER
    reg.set_roles(cast.operator, cast.tier1.address, both)
    w3.provider.make_request("evm_increaseTime", [5])  # the next block comes 5 s later

    reg.set_roles(cast.operator, cast.tier1.address, both)

    assert reg.member(cast.tier1.address).roles == both


def test_a_call_mined_with_a_fixed_gas_limit_reports_the_contract_s_own_error(reg, scene, cast, refused):
    """With a fixed gas limit nothing is estimated: a failing call is mined, reverts, and the
    client replays it to recover the reason. The replay must run as the sender, or every
    permission check fails on address zero and the wrong error is reported (``refused``
    checks the replayed error against the mined transaction's own trace)."""
    e = refused(cast.governance, "setApprovalThreshold", 0)

    assert (e.error, e.args_by_name) == ("InvalidThreshold", {"threshold": 0, "operators": 2})


def test_under_besu_permissioning_an_outsider_may_send_only_its_membership_application(reg, cast):
    application = calldata(reg.fn("applyForMembership", "New Firm", int(Role.SUPPLIER), NEW_KYC))
    admit = calldata(reg.fn("admit", cast.outsider.address, "X", int(Role.SUPPLIER), NEW_KYC, 0))
    def allowed(target, payload):
        return reg.call("transactionAllowed", cast.outsider.address, target, 0, 0, 100_000, payload)

    assert allowed(reg.address, application) is True
    assert allowed(reg.address, admit) is False
    assert allowed(cast.tier1.address, application) is False  # the same bytes to another contract
    assert allowed(reg.address, b"") is False


def test_a_member_that_stops_being_a_core_enterprise_keeps_no_credit_line(reg, cast):
    assert reg.member(cast.hospital.address).credit_limit > 0
    result = reg.set_roles(cast.operator, cast.hospital.address, Role.SUPPLIER)
    assert reg.member(cast.hospital.address).credit_limit == 0
    (event,) = event_args(result, reg, "CreditLimitSet")
    assert event["to"] == 0
