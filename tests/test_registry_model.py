"""The membership lifecycle fuzzed against a small Python model of the registry.

Random sequences of applications, approvals, rejections, admissions, suspensions,
reinstatements, removals, role changes and threshold changes, by operators and by
non-operators, over six firms and three operators. After every step the chain must agree
with the model, and every refused action must fail with the very error the model predicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from eth_abi import decode as abi_decode
from eth_utils import keccak
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from scf.chain.devnet import revert, set_balance, snapshot
from scf.chain.errors import ContractRevert
from scf.contracts import MemberStatus
from tests.support import fuzz_budget, member_key

ETHER = 10**18
CNY = 100  # minor units per yuan (2 decimals), as in conftest

OPERATOR_ROLE = keccak(text="OPERATOR_ROLE")
KYC = keccak(text="kyc evidence")
NO_HASH = b"\0" * 32
NO_REASON = b"\0" * 32
ACTORS = 6
OPERATORS = 3
# Actions the model expects to succeed go out with fixed gas: an exact estimate can starve a
# no-op role change (see the registry tests). Actions it expects to fail go through the
# estimate, which is where the client decodes a revert faithfully; were the model wrong and the
# action succeeded, it would be mined and the test would say so.
GAS = 400_000
MEMBER_TUPLE = "(uint8,uint8,uint16,uint32,uint40,uint128,bytes32,string)"

actor_indexes = st.integers(0, ACTORS - 1)
caller_indexes = st.integers(0, OPERATORS)  # OPERATORS itself stands for a caller who is no operator
# Mostly valid inputs, so that lifecycles get somewhere; the invalid ones still come up.
role_bits = st.sampled_from([1, 2, 3, 4, 6, 8, 9, 15] * 3 + [0, 16, 255])
profile_names = st.sampled_from(["Firm"] * 7 + [""])
kyc_hashes = st.sampled_from([KYC] * 7 + [NO_HASH])
credit_limits = st.sampled_from([0, 0, 100_000 * CNY])
thresholds = st.sampled_from([1, 2, 3] * 2 + [0, 4])
actions = st.sampled_from(
    ["apply", "approve", "approve", "reject", "admit", "suspend", "reinstate", "remove", "set_roles", "set_threshold"]
)
# Mostly aim an action at an actor whose status allows it (when there is one), else anyone.
aims = st.sampled_from([True, True, True, False])
START = ["new", "pending", "active", "suspended", "removed"]


@dataclass
class ModelMember:
    status: MemberStatus = MemberStatus.NONE
    roles: int = 0
    approvals: int = 0
    round: int = 0
    credit_limit: int = 0
    kyc_hash: bytes = NO_HASH
    name: str = ""
    approved_by: set[str] = field(default_factory=set)  # operators, in the current round


class RegistryMachine(RuleBasedStateMachine):
    """Every actor's on-chain membership record (status, roles, approvals, round, credit limit,
    KYC hash, name) and per-operator approvals always equal the model's, and every action the
    model refuses reverts with exactly the error and arguments the model predicts."""

    # Bound by the test function below: the suite, its people and the chain.
    registry = None
    w3 = None
    governance = None
    operators: list = []
    outsider = None
    actors: list = []
    reads: list = []

    def __init__(self) -> None:
        super().__init__()
        self.snapshot_id = snapshot(self.w3)
        self.model = {a.address: ModelMember() for a in self.actors}
        self.threshold = 1

    def teardown(self) -> None:
        revert(self.w3, self.snapshot_id)

    # ---------------------------------------------------------------- plumbing

    def pick(self, index: int, aim: bool, statuses: tuple[MemberStatus, ...]) -> str:
        """The address the action targets: with ``aim``, one of the actors in ``statuses``."""
        fitting = [a.address for a in self.actors if self.model[a.address].status in statuses]
        if aim and fitting:
            return fitting[index % len(fitting)]
        return self.actors[index].address

    def caller(self, index: int):
        return self.operators[index] if index < OPERATORS else self.outsider

    def is_operator(self, signer) -> bool:
        return signer.address in {op.address for op in self.operators}

    def act(self, signer, function: str, *args, expected: tuple[str, dict] | None) -> None:
        """Sends the action; it must succeed when the model expects no error, else revert with
        exactly the predicted error and arguments."""
        if expected is None:
            self.registry.send(signer, function, *args, gas=GAS)
            return
        with pytest.raises(ContractRevert) as e:
            self.registry.send(signer, function, *args)
        assert (e.value.error, e.value.args_by_name) == expected, f"{function}{args} by {signer.address}"

    @staticmethod
    def profile_error(roles: int, name: str, kyc: bytes) -> tuple[str, dict] | None:
        if roles == 0 or roles > 15:
            return ("InvalidRoles", {"roles": roles})
        if name == "":
            return ("EmptyName", {})
        if kyc == NO_HASH:
            return ("MissingKycEvidence", {})
        return None

    def status_error(self, address: str, allowed: tuple[MemberStatus, ...]) -> tuple[str, dict] | None:
        status = self.model[address].status
        return None if status in allowed else ("UnexpectedStatus", {"account": address, "actual": status})

    def not_operator(self, signer) -> tuple[str, dict] | None:
        return None if self.is_operator(signer) else ("NotOperator", {"account": signer.address})

    # ------------------------------------------------------------------- rules

    @initialize(
        starts=st.lists(st.sampled_from(START), min_size=ACTORS, max_size=ACTORS),
        roles=role_bits,
        threshold=st.sampled_from([1, 2, 3]),
        approvals=st.lists(st.integers(0, OPERATORS - 1), min_size=ACTORS, max_size=ACTORS),
    )
    def spread_the_actors_over_the_statuses(self, starts, roles, threshold, approvals):
        """Every example starts with the actors spread over the statuses (pending ones part-way
        through a k-of-3 approval), reached through the same actions and model updates as the
        rules."""
        roles = roles if 0 < roles <= 15 else 2
        self.set_threshold(threshold)
        for actor, start in enumerate(starts):
            if start == "pending":
                self.apply(actor, False, roles, "Firm", KYC)
                for operator in range(min(approvals[actor], threshold - 1)):
                    self.approve(operator, actor, False)
            elif start != "new":
                self.admit(0, actor, False, roles, "Firm", KYC, 0)
            if start == "suspended":
                self.suspend(0, actor, False)
            elif start == "removed":
                self.remove(0, actor, False)

    @rule(
        action=actions,
        caller=caller_indexes,
        actor=actor_indexes,
        aim=aims,
        roles=role_bits,
        name=profile_names,
        kyc=kyc_hashes,
        credit=credit_limits,
        threshold=thresholds,
    )
    def step(self, action, caller, actor, aim, roles, name, kyc, credit, threshold):
        """One action, drawn here rather than as separate rules: hypothesis' swarm testing
        switches whole rules off per example, and with 15 examples that leaves most runs
        repeating one or two actions."""
        if action == "apply":
            self.apply(actor, aim, roles, name, kyc)
        elif action == "admit":
            self.admit(caller, actor, aim, roles, name, kyc, credit)
        elif action == "set_roles":
            self.set_roles(caller, actor, aim, roles)
        elif action == "set_threshold":
            self.set_threshold(threshold)
        else:
            getattr(self, action)(caller, actor, aim)

    # ----------------------------------------------------------------- actions

    def apply(self, actor, aim, roles, name, kyc):
        may_apply = (MemberStatus.NONE, MemberStatus.REMOVED)
        address = self.pick(actor, aim, may_apply)
        signer = next(a for a in self.actors if a.address == address)  # firms apply themselves
        m = self.model[address]
        expected = self.profile_error(roles, name, kyc) or self.status_error(address, may_apply)
        self.act(signer, "applyForMembership", name, roles, kyc, expected=expected)
        if expected is None:
            m.status, m.roles, m.approvals, m.round = MemberStatus.PENDING, roles, 0, m.round + 1
            m.kyc_hash, m.name, m.approved_by = kyc, name, set()
            m.credit_limit = 0  # a firm coming back after removal starts with no credit line

    def approve(self, caller, actor, aim):
        signer, address = self.caller(caller), self.pick(actor, aim, (MemberStatus.PENDING,))
        m = self.model[address]
        expected = self.not_operator(signer) or self.status_error(address, (MemberStatus.PENDING,))
        if expected is None and signer.address in m.approved_by:
            expected = ("AlreadyApproved", {"applicant": address, "operator": signer.address})
        self.act(signer, "approve", address, expected=expected)
        if expected is None:
            m.approved_by.add(signer.address)
            m.approvals += 1
            if m.approvals >= self.threshold:
                m.status = MemberStatus.ACTIVE

    def reject(self, caller, actor, aim):
        signer, address = self.caller(caller), self.pick(actor, aim, (MemberStatus.PENDING,))
        expected = self.not_operator(signer) or self.status_error(address, (MemberStatus.PENDING,))
        self.act(signer, "rejectApplication", address, NO_REASON, expected=expected)
        if expected is None:
            self.model[address].status = MemberStatus.REMOVED

    def admit(self, caller, actor, aim, roles, name, kyc, credit):
        admissible = (MemberStatus.NONE, MemberStatus.PENDING)
        signer, address = self.caller(caller), self.pick(actor, aim, admissible)
        m = self.model[address]
        expected = (
            self.not_operator(signer) or self.profile_error(roles, name, kyc) or self.status_error(address, admissible)
        )
        if expected is None and credit != 0 and not roles & 1:
            expected = ("NotCoreEnterprise", {"account": address})
        self.act(signer, "admit", address, name, roles, kyc, credit, expected=expected)
        if expected is None:
            if m.status == MemberStatus.NONE:
                m.round += 1
            m.status, m.roles, m.kyc_hash, m.name = MemberStatus.ACTIVE, roles, kyc, name
            if credit:
                m.credit_limit = credit

    def suspend(self, caller, actor, aim):
        signer, address = self.caller(caller), self.pick(actor, aim, (MemberStatus.ACTIVE,))
        expected = self.not_operator(signer) or self.status_error(address, (MemberStatus.ACTIVE,))
        self.act(signer, "suspend", address, NO_REASON, expected=expected)
        if expected is None:
            self.model[address].status = MemberStatus.SUSPENDED

    def reinstate(self, caller, actor, aim):
        signer, address = self.caller(caller), self.pick(actor, aim, (MemberStatus.SUSPENDED,))
        expected = self.not_operator(signer) or self.status_error(address, (MemberStatus.SUSPENDED,))
        self.act(signer, "reinstate", address, expected=expected)
        if expected is None:
            self.model[address].status = MemberStatus.ACTIVE

    def remove(self, caller, actor, aim):
        live = (MemberStatus.PENDING, MemberStatus.ACTIVE, MemberStatus.SUSPENDED)
        signer, address = self.caller(caller), self.pick(actor, aim, live)
        expected = self.not_operator(signer) or self.status_error(address, live)
        self.act(signer, "remove", address, NO_REASON, expected=expected)
        if expected is None:
            self.model[address].status = MemberStatus.REMOVED

    def set_roles(self, caller, actor, aim, roles):
        admitted = (MemberStatus.ACTIVE, MemberStatus.SUSPENDED)
        signer, address = self.caller(caller), self.pick(actor, aim, admitted)
        expected = self.not_operator(signer)
        if expected is None and (roles == 0 or roles > 15):
            expected = ("InvalidRoles", {"roles": roles})
        expected = expected or self.status_error(address, admitted)
        self.act(signer, "setRoles", address, roles, expected=expected)
        if expected is None:
            self.model[address].roles = roles
            if not roles & 1:  # a member that stops being a core enterprise keeps no credit line
                self.model[address].credit_limit = 0

    def set_threshold(self, threshold):
        expected = None
        if threshold == 0 or threshold > OPERATORS:
            expected = ("InvalidThreshold", {"threshold": threshold, "operators": OPERATORS})
        self.act(self.governance, "setApprovalThreshold", threshold, expected=expected)
        if expected is None:
            self.threshold = threshold

    # -------------------------------------------------------------- invariant

    @invariant()
    def chain_equals_model(self):
        answers = self.w3.provider.make_batch_request(self.reads)
        results = [bytes.fromhex(a["result"][2:]) for a in answers]
        assert int.from_bytes(results[0], "big") == self.threshold
        for i, actor in enumerate(self.actors):
            (record,) = abi_decode([MEMBER_TUPLE], results[1 + i])
            status, roles_, approvals, round_, _updated, credit, kyc, name = record
            m = self.model[actor.address]
            assert (MemberStatus(status), roles_, approvals, round_) == (m.status, m.roles, m.approvals, m.round), (
                f"actor {i}"
            )
            assert (credit, kyc, name) == (m.credit_limit, m.kyc_hash, m.name), f"actor {i}"
            approved = results[1 + ACTORS + i * OPERATORS : 1 + ACTORS + (i + 1) * OPERATORS]
            on_chain = {op.address for op, flag in zip(self.operators, approved, strict=True) if flag[-1] == 1}
            assert on_chain == m.approved_by, f"actor {i}"


def test_the_registry_behaves_like_its_model_under_random_lifecycles(suite, cast, w3):
    registry = suite.registry
    extra_operators = [member_key(f"model operator {i}") for i in range(1, OPERATORS)]
    people = [member_key(f"model actor {i}") for i in range(ACTORS)]
    for person in extra_operators + people:
        set_balance(w3, person.address, 100 * ETHER)
    for operator in extra_operators:
        registry.send(cast.governance, "grantRole", OPERATOR_ROLE, operator.address)
    operators = [cast.operator, *extra_operators]

    def call(function: str, *args) -> tuple[str, list]:
        data = registry.contract.encode_abi(function, list(args))
        return ("eth_call", [{"to": registry.address, "data": data}, "latest"])

    RegistryMachine.registry = registry
    RegistryMachine.w3 = w3
    RegistryMachine.governance = cast.governance
    RegistryMachine.operators = operators
    RegistryMachine.outsider = cast.outsider
    RegistryMachine.actors = people
    RegistryMachine.reads = (
        [call("approvalThreshold")]
        + [call("memberOf", p.address) for p in people]
        + [call("hasApproved", p.address, o.address) for p in people for o in operators]
    )

    run_state_machine_as_test(
        RegistryMachine,
        settings=fuzz_budget(examples=15, steps=20, database=None),
    )
