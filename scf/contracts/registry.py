"""ConsortiumRegistry: members, roles, status, credit limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum, IntFlag

from eth_typing import ChecksumAddress
from web3 import Web3

from scf.chain.batch import call_many
from scf.chain.sending import Call, Signer, TxResult
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


@dataclass(frozen=True)
class Admission:
    """One firm of ``admit_batch``. Its name and KYC evidence hash are written in the
    ``MemberAdmitted`` event only (the index has them), not in the member record."""

    account: str
    name: str
    roles: Role
    kyc_hash: bytes
    credit_limit: int = 0

    def encoded(self) -> tuple[str, int, int, bytes, str]:
        """As the contract's ``Admission`` struct takes it."""
        return (self.account, int(self.roles), self.credit_limit, self.kyc_hash, self.name)


# The events that carry a member's name and KYC evidence hash (the registry keeps them nowhere
# else), each with the argument naming the member.
PROFILE_EVENTS = {"MembershipApplied": "applicant", "MemberAdmitted": "account"}


class ConsortiumRegistry(ContractClient):
    NAME = "ConsortiumRegistry"

    def member(self, address: str) -> Member:
        # web3 took ``address`` as a contract argument, so it is already checksummed: this only types it.
        return _member(Web3.to_checksum_address(address), self.call("memberOf", address))

    def members(self, addresses: Sequence[str]) -> list[Member]:
        """The records of many accounts, read in JSON-RPC batches (seeding thousands)."""
        accounts = [Web3.to_checksum_address(a) for a in addresses]
        answers = call_many(self.conn, [(self.address, self.prepared("memberOf", a).data) for a in accounts])
        codec = self.codec("memberOf")
        return [_member(a, codec.decode(data)[0]) for a, data in zip(accounts, answers, strict=True)]

    def profile(self, address: str, from_block: int = 0) -> tuple[str, bytes] | None:
        """The name and KYC evidence hash ``address`` last applied or was admitted with, read
        from the registry's events (it keeps them nowhere else); None if it never did. A
        service that keeps the event index asks it instead (``EventIndex.profile``)."""
        events = self.contract.events
        account = Web3.to_checksum_address(address)
        logs = self.conn.read(lambda: [
            log
            for event, subject in PROFILE_EVENTS.items()
            for log in getattr(events, event).get_logs(from_block=from_block, argument_filters={subject: account})
        ])
        if not logs:
            return None
        last = max(logs, key=lambda e: (e["blockNumber"], e["logIndex"]))
        return str(last["args"]["name"]), bytes(last["args"]["kycHash"])

    def status_of(self, address: str) -> MemberStatus:
        return MemberStatus(self.call("statusOf", address))

    def is_operator(self, address: str) -> bool:
        return bool(self.call("isOperator", address))

    def admit(
        self, operator: Signer, account: str, name: str, roles: Role, kyc_hash: bytes, credit_limit: int = 0
    ) -> TxResult:
        return self.send(operator, "admit", account, name, int(roles), kyc_hash, credit_limit)

    def admit_batch(self, operator: Signer, batch: Sequence[Admission]) -> TxResult:
        return self.send(operator, "admitBatch", [a.encoded() for a in batch])

    def admit_batch_call(self, operator: Signer, batch: Sequence[Admission]) -> tuple[Signer, Call]:
        """``admit_batch`` as an item of ``Connection.transact_many``."""
        return operator, self.prepared("admitBatch", [a.encoded() for a in batch])

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



def _member(account: ChecksumAddress, fields: Sequence[int]) -> Member:
    status, roles, approvals, rnd, updated, limit = fields
    return Member(account, MemberStatus(status), Role(roles), approvals, rnd, updated, limit)
