"""ConsortiumRegistry: members, roles, status, credit limits."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag

from eth_typing import ChecksumAddress
from web3 import Web3

from scf.chain.sending import Signer, TxResult
from scf.contracts.base import ContractClient


class Role(IntFlag):
    CORE_ENTERPRISE = 1
    SUPPLIER = 2
    FINANCIER = 4
    AUDITOR = 8
    INSURER = 16

    @classmethod
    def parse(cls, names: list[str] | str) -> Role:
        """``["supplier", "financier"]`` -> ``Role.SUPPLIER | Role.FINANCIER``."""
        if isinstance(names, str):
            names = [names]
        roles = cls(0)
        for name in names:
            key = name.strip().upper().replace("-", "_").replace(" ", "_")
            if key not in cls.__members__:
                known = ", ".join(m.lower() for m in cls.__members__)
                raise ValueError(f"unknown role {name!r} (known: {known})")
            roles |= cls[key]
        return roles

    def names(self) -> list[str]:
        return [name.lower() for name, role in Role.__members__.items() if role in self]


class MemberStatus(IntEnum):
    NONE = 0
    PENDING = 1
    ACTIVE = 2
    SUSPENDED = 3
    REMOVED = 4


@dataclass(frozen=True)
class Member:
    address: ChecksumAddress
    status: MemberStatus
    roles: Role
    approvals: int
    round: int
    updated_at: int
    credit_limit: int
    kyc_hash: bytes
    name: str


class ConsortiumRegistry(ContractClient):
    NAME = "ConsortiumRegistry"

    def member(self, address: str) -> Member:
        status, roles, approvals, rnd, updated, limit, kyc, name = self.call("memberOf", address)
        # web3 took ``address`` as a contract argument, so it is already checksummed: this only types it.
        account = Web3.to_checksum_address(address)
        return Member(account, MemberStatus(status), Role(roles), approvals, rnd, updated, limit, kyc, name)

    def status_of(self, address: str) -> MemberStatus:
        return MemberStatus(self.call("statusOf", address))

    def is_operator(self, address: str) -> bool:
        return bool(self.call("isOperator", address))

    def admit(
        self, operator: Signer, account: str, name: str, roles: Role, kyc_hash: bytes, credit_limit: int = 0
    ) -> TxResult:
        return self.send(operator, "admit", account, name, int(roles), kyc_hash, credit_limit)

    def apply(self, applicant: Signer, name: str, roles: Role, kyc_hash: bytes) -> TxResult:
        return self.send(applicant, "applyForMembership", name, int(roles), kyc_hash)

    def approve(self, operator: Signer, applicant: str) -> TxResult:
        return self.send(operator, "approve", applicant)

    def reject_application(self, operator: Signer, applicant: str, reason_hash: bytes = b"\0" * 32) -> TxResult:
        return self.send(operator, "rejectApplication", applicant, reason_hash)

    def suspend(self, operator: Signer, account: str, reason_hash: bytes = b"\0" * 32) -> TxResult:
        return self.send(operator, "suspend", account, reason_hash)

    def reinstate(self, operator: Signer, account: str) -> TxResult:
        return self.send(operator, "reinstate", account)

    def remove(self, operator: Signer, account: str, reason_hash: bytes = b"\0" * 32) -> TxResult:
        return self.send(operator, "remove", account, reason_hash)

    def set_roles(self, operator: Signer, account: str, roles: Role) -> TxResult:
        return self.send(operator, "setRoles", account, int(roles))

    def set_credit_limit(self, operator: Signer, account: str, limit: int) -> TxResult:
        return self.send(operator, "setCreditLimit", account, limit)
