"""Seeding consortium members: validated whole before any transaction, idempotent on re-run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_utils import keccak

from scf.chain.connection import Signer
from scf.contracts import MemberStatus, Role
from scf.deploy import Suite
from scf.money import AmountError, to_minor


class SpecError(ValueError):
    """A consortium or scenario file is wrong; the message lists every problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem(s)\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class MemberSpec:
    key: str  # the member's short name in the file
    name: str
    roles: Role
    credit_limit: int
    cash: int
    kyc_hash: bytes


def parse_members(raw: Any, problems: list[str], where: str = "members") -> list[MemberSpec]:
    """Validates a ``members`` mapping; appends every problem found to ``problems``."""
    if not isinstance(raw, dict) or not raw:
        problems.append(f"{where}: expected a non-empty mapping of short name -> member")
        return []
    specs = []
    for key, entry in raw.items():
        here = f"{where}.{key}"
        if not isinstance(entry, dict):
            problems.append(f"{here}: expected a mapping with name and roles")
            continue
        unknown = set(entry) - {"name", "roles", "credit_limit", "cash", "kyc"}
        if unknown:
            problems.append(f"{here}: unknown field(s) {', '.join(sorted(unknown))}")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{here}.name: a display name is required")
            name = ""
        try:
            roles = Role.parse(entry.get("roles") or [])
            if not roles:
                problems.append(f"{here}.roles: at least one role is required")
        except ValueError as exc:
            problems.append(f"{here}.roles: {exc}")
            roles = Role(0)
        limit = _amount(entry.get("credit_limit", "0"), f"{here}.credit_limit", problems)
        cash = _amount(entry.get("cash", "0"), f"{here}.cash", problems)
        if limit and Role.CORE_ENTERPRISE not in roles:
            problems.append(f"{here}.credit_limit: only a core enterprise has a credit limit")
        kyc = keccak(text=str(entry.get("kyc", f"kyc evidence of {name}")))
        specs.append(MemberSpec(str(key), name, roles, limit, cash, kyc))
    return specs


def _amount(raw: Any, where: str, problems: list[str]) -> int:
    if isinstance(raw, float):
        problems.append(f"{where}: write amounts as quoted strings (got the float {raw!r})")
        return 0
    try:
        return to_minor(Decimal(str(raw)) if not isinstance(raw, Decimal) else raw, allow_zero=True)
    except (AmountError, ArithmeticError, ValueError) as exc:
        problems.append(f"{where}: {exc}")
        return 0


def seed_members(
    suite: Suite,
    operator: Signer,
    members: list[tuple[MemberSpec, str]],
    *,
    log: Callable[[str], None] = lambda _msg: None,
) -> dict[str, list[int]]:
    """Admits each (spec, address) not yet active, sets credit limits and tops up opening cash
    to the spec's amount. Re-running sends nothing for what is already in place. Returns the
    gas of every transaction sent, by kind of operation."""
    gas: dict[str, list[int]] = {}

    def count(kind: str, used: int) -> None:
        gas.setdefault(kind, []).append(used)

    for spec, address in members:
        member = suite.registry.member(address)
        if member.status == MemberStatus.NONE or member.status == MemberStatus.PENDING:
            log(f"admitting {spec.name}")
            tx = suite.registry.admit(operator, address, spec.name, spec.roles, spec.kyc_hash, spec.credit_limit)
            count("admit", tx.gas_used)
        elif member.status != MemberStatus.ACTIVE:
            raise SpecError("seed", [f"{spec.key}: {address} is {member.status.name.lower()}; an operator must act"])
        elif member.credit_limit != spec.credit_limit and Role.CORE_ENTERPRISE in member.roles:
            count("set_credit_limit", suite.registry.set_credit_limit(operator, address, spec.credit_limit).gas_used)
        balance = suite.token.balance_of(address)
        if spec.cash > balance:
            log(f"depositing opening cash for {spec.name}")
            count("mint", suite.token.mint(operator, address, spec.cash - balance).gas_used)
    return gas
