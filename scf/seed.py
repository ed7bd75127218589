"""Seeding consortium members: validated whole before any transaction, idempotent on re-run."""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cache, partial
from pathlib import Path
from typing import Any

import yaml
from eth_utils import is_hex_address, keccak, to_checksum_address

from scf.chain.sending import Signer, TxResult
from scf.contracts import Admission, MemberStatus, Role
from scf.errors import FileProblems
from scf.money import AmountError, to_minor
from scf.suite import Suite
from scf.vault import VaultDesk
from scf.wallet import LOCAL_CHAIN_IDS, ape_accounts_dir, dev_key


class SpecError(FileProblems):
    """A consortium or scenario file is wrong; the message lists every problem."""


@dataclass(frozen=True)
class MemberSpec:
    key: str  # the member's short name in the file
    name: str
    roles: Role
    credit_limit: int
    cash: int
    kyc_hash: bytes
    kyc_file: Path | None = None  # a consortium file's KYC evidence (sealed into the vault when seeding)


@dataclass(frozen=True)
class Consortium:
    """A consortium file, validated: its members, and the regulators its vault policy names
    (``vault: {escrow: [member name, ...]}``): every document's key is also wrapped for them."""

    members: list[tuple[MemberSpec, str]]
    escrow: list[str]


def parse_members(raw: Any, problems: list[str], where: str = "members") -> list[MemberSpec]:
    """Validates a ``members`` mapping; appends every problem found to ``problems``."""
    if not isinstance(raw, dict) or not raw:
        problems.append(f"{where}: expected a non-empty mapping of short name -> member")
        return []
    specs = []
    for key, entry in raw.items():
        spec = member_spec(str(key), entry, problems, f"{where}.{key}.")
        if spec is not None:
            specs.append(spec)
    return specs


def member_spec(key: str, entry: Any, problems: list[str], prefix: str = "") -> MemberSpec | None:
    """One member's name, roles, credit limit and opening cash; problems are prefixed."""
    if not isinstance(entry, dict):
        problems.append(f"{prefix.rstrip('.')}: expected a mapping with name and roles")
        return None
    unknown = set(entry) - {"name", "roles", "credit_limit", "cash", "kyc"}
    if unknown:
        problems.append(f"{prefix.rstrip('.')}: unknown field(s) {', '.join(sorted(unknown))}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{prefix}name: a display name is required")
        name = ""
    raw_roles = entry.get("roles") or []
    try:
        if not isinstance(raw_roles, (list, str)):
            raise ValueError(f"expected a list of role names, got {raw_roles!r}")
        roles = Role.parse(raw_roles)
        if not roles:
            problems.append(f"{prefix}roles: at least one role is required")
    except ValueError as exc:
        problems.append(f"{prefix}roles: {exc}")
        roles = Role(0)
    limit = _amount(entry.get("credit_limit", "0"), f"{prefix}credit_limit", problems)
    cash = _amount(entry.get("cash", "0"), f"{prefix}cash", problems)
    if limit and Role.CORE_ENTERPRISE not in roles:
        problems.append(f"{prefix}credit_limit: only a core enterprise has a credit limit")
    kyc = keccak(text=str(entry.get("kyc", f"kyc evidence of {name}")))
    return MemberSpec(key, name, roles, limit, cash, kyc)


def _amount(raw: Any, where: str, problems: list[str]) -> int:
    if isinstance(raw, float):
        problems.append(f"{where}: write amounts as quoted strings (got the float {raw!r})")
        return 0
    try:
        return to_minor(Decimal(str(raw)) if not isinstance(raw, Decimal) else raw, allow_zero=True)
    except (AmountError, ArithmeticError, ValueError) as exc:
        problems.append(f"{where}: {exc}")
        return 0


# Firms admitted per transaction: 32,720 gas each (make bench), so a batch takes about 13.1M
# gas and, with the estimate's 20 % margin, two fit a 30M-gas block.
ADMISSIONS_PER_TX = 400


def seed_members(
    suite: Suite,
    operator: Signer,
    members: list[tuple[MemberSpec, str]],
    *,
    log: Callable[[str], None] = lambda _msg: None,
    on_progress: Callable[[int, int], None] = lambda _done, _total: None,
    per_tx: int = ADMISSIONS_PER_TX,
) -> dict[str, list[int]]:
    """Admits each (spec, address) not yet active, sets credit limits and deposits opening
    cash. Every record is read first, and a member that an operator must deal with
    (suspended, removed) stops the seeding before anything is sent. Firms never seen are
    admitted ``per_tx`` to a transaction (``admitBatch``; fewer on a chain whose blocks hold
    less than 30M gas), a pending applicant with ``admit``; transactions go out in bulk
    (``Connection.transact_many``).

    Re-running, after a kill say, sends nothing for what is already in place: admission is
    read from the chain, and opening cash counts what was ever minted to the member (not
    today's balance, which spending lowers), so it is never paid twice.
    ``on_progress(done, total)`` counts members whose admission is mined. Returns the gas of
    every transaction sent, by kind of operation."""
    records = check_seedable(suite, operator, members)
    registry = suite.registry
    gas: dict[str, list[int]] = {}

    def count(kind: str, results: list[TxResult]) -> None:
        gas.setdefault(kind, []).extend(r.gas_used for r in results)

    fresh = [Admission(address, spec.name, spec.roles, spec.kyc_hash, spec.credit_limit)
             for (spec, address), m in zip(members, records, strict=True) if m.status == MemberStatus.NONE]
    applicants = [(spec, address) for (spec, address), m in zip(members, records, strict=True)
                  if m.status == MemberStatus.PENDING]
    in_place = len(members) - len(fresh) - len(applicants)
    on_progress(in_place, len(members))
    if fresh:
        batches = [fresh[i : i + per_tx] for i in range(0, len(fresh), per_tx)]
        log(f"admitting {len(fresh)} members in {len(batches)} transaction(s)")
        sizes = [len(b) for b in batches]

        def admitted(mined: int, _total: int) -> None:
            on_progress(in_place + sum(sizes[:mined]), len(members))

        count("admit_batch", suite.conn.transact_many([registry.admit_batch_call(operator, b) for b in batches],
                                                      on_progress=admitted))
    for spec, address in applicants:
        log(f"admitting {spec.name} (applied)")
        count("admit", [registry.admit(operator, address, spec.name, spec.roles, spec.kyc_hash, spec.credit_limit)])
    on_progress(len(members), len(members))
    for (spec, address), m in zip(members, records, strict=True):
        if m.status == MemberStatus.ACTIVE and m.credit_limit != spec.credit_limit and Role.CORE_ENTERPRISE in m.roles:
            count("set_credit_limit", [registry.set_credit_limit(operator, address, spec.credit_limit)])
    if any(spec.cash for spec, _ in members):
        minted = suite.token.minted_to(suite.deployment.block_of("SettlementToken"))
        deposits = [(operator, suite.token.fn("mint", address, spec.cash - minted.get(address, 0)))
                    for spec, address in members if spec.cash > minted.get(address, 0)]
        if deposits:
            log(f"depositing opening cash for {len(deposits)} members")
            count("mint", suite.conn.transact_many(deposits))
    return gas


def check_seedable(suite: Suite, operator: Signer, members: list[tuple[MemberSpec, str]]) -> list[Any]:
    """What seeding refuses before it does anything: an operator transaction still in flight,
    a member an operator must deal with (suspended, removed). Returns the members' records."""
    _nothing_in_flight(suite, operator)
    records = suite.registry.members([address for _, address in members])
    blocked = [
        f"{spec.key}: {address} is {m.status.name.lower()}; an operator must act"
        for (spec, address), m in zip(members, records, strict=True)
        if m.status in (MemberStatus.SUSPENDED, MemberStatus.REMOVED)
    ]
    if blocked:
        raise SpecError("seed", blocked)
    return records


def seal_kyc_evidence(
    desk: VaultDesk, members: list[tuple[MemberSpec, str]], escrow: list[str],
    on_progress: Callable[[int, int], None] = lambda _done, _total: None,
) -> tuple[list[tuple[MemberSpec, str]], list[str]]:
    """Seals the KYC evidence file of each member not yet in the registry into the vault, for
    the operator filing it (``desk``), the member itself and the regulators of ``escrow``, each
    that has published its vault key, and admits it with the salted commitment instead of the
    file's bare hash. Returns the members (the others unchanged) and a line for each reader
    left out for want of a key. A member already applied or admitted keeps the evidence hash
    the chain has."""
    records = check_seedable(desk.suite, desk.account, members)  # refused here, nothing is sealed
    fresh = [i for i, m in enumerate(records) if m.status == MemberStatus.NONE and members[i][0].kyc_file]
    keyless = sorted({a for a in escrow if desk.vault.key_card(a) is None})
    notes = [f"regulator {a} has not published its vault key: the KYC evidence sealed now is not escrowed for it "
             f"(once it has, `ape run docs share --kyc MEMBER --to {a}` shares it)" for a in keyless]
    unkeyed = [members[i] for i in fresh if desk.vault.key_card(members[i][1]) is None]
    if unkeyed:
        notes.append(f"{len(unkeyed)} new member(s) have no vault key yet (first: {unkeyed[0][1]}): their KYC "
                     "evidence is sealed for the operator; `ape run docs share --kyc MEMBER --to MEMBER` shares it")
    sealed = list(members)
    for done, i in enumerate(fresh, start=1):
        spec, address = members[i]
        assert spec.kyc_file is not None
        readers = [a for a in (address, *escrow) if a not in keyless and desk.vault.key_card(a) is not None]
        commitment = desk.put_kyc(spec.kyc_file.read_bytes(), spec.kyc_file.name, readers)
        sealed[i] = (replace(spec, kyc_hash=commitment), address)
        on_progress(done, len(fresh))
    return sealed, notes


def set_vault_policy(desk: VaultDesk, escrow: Sequence[str]) -> str:
    """Signs the file's escrow policy into the vault (``desk`` an operator's), unless the
    vault's policy already names those regulators; says what was done."""
    if desk.escrow() == list(escrow):
        return "the vault's escrow policy is already in place"
    missing = [a for a in escrow if desk.vault.key_card(a) is None]
    if missing:
        return (f"the vault's escrow policy is not set yet: {', '.join(missing)} has not published its vault key "
                "(`ape run docs key`); run seed again after it has")
    desk.set_policy(escrow)
    return f"the vault's escrow policy is set: every new document is also sealed for {', '.join(escrow) or 'no one'}"


def _nothing_in_flight(suite: Suite, operator: Signer) -> None:
    """Seeding decides from mined state. A mint of an earlier run still waiting in the pool
    would be invisible to it and paid again: refuse until the operator's transactions are mined."""
    w3 = suite.conn.w3
    mined = int(suite.conn.read(lambda: w3.eth.get_transaction_count(operator.address, "latest")))
    sent = int(suite.conn.read(lambda: w3.eth.get_transaction_count(operator.address, "pending")))
    if sent > mined:
        raise SpecError("seed", [
            f"the operator {operator.address} has {sent - mined} transaction(s) sent but not yet mined; "
            "seeding again now could pay opening cash twice. Wait for them to be mined (or dropped), then re-run"
        ])


# ---------------------------------------------------------------- consortium files

_LINE = "__line__"
CONSORTIUM_FIELDS = {"name", "address", "account", "dev_key", "roles", "kyc_file", "credit_limit", "opening_balance"}
TOP_FIELDS = {"consortium", "members", "vault"}


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Records the line of every mapping, so problems can name it. Parsed by libyaml where
    PyYAML has it (its wheels do): five times faster than the pure-Python parser, which
    takes 10 s over a consortium of 20,000 members."""


def _mapping_with_line(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Hashable, Any]:
    mapping = dict(loader.construct_mapping(node, deep=True))
    mapping[_LINE] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def load_consortium(path: Path, chain_id: int) -> list[tuple[MemberSpec, str]]:
    """A consortium file's members (``load_consortium_file``)."""
    return load_consortium_file(path, chain_id).members


def load_consortium_file(path: Path, chain_id: int) -> Consortium:
    """Reads and validates a consortium file whole; raises SpecError listing every problem
    with its line. Nothing is sent before this returns."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SpecError(str(path), ["file not found"]) from None
    try:
        # JSON is YAML too, and a consortium of thousands is a generated file: parsed as JSON it
        # takes 0.05 s for 20,000 members, against 2 s through libyaml. Its mappings carry no
        # line numbers, so a JSON file with problems is read again as YAML to name their lines.
        return _validated(json.loads(text), path, chain_id)
    except (ValueError, SpecError):  # not JSON, or problems whose lines YAML can name
        pass
    try:
        raw = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        raise SpecError(str(path), [f"not valid YAML: {exc}"]) from None
    return _validated(raw, path, chain_id)


def _validated(raw: Any, path: Path, chain_id: int) -> Consortium:
    """A parsed consortium file, or SpecError listing every problem."""
    problems: list[str] = []
    members: list[tuple[MemberSpec, str]] = []
    if not isinstance(raw, dict) or not isinstance(raw.get("members"), list) or not raw["members"]:
        raise SpecError(str(path), ["line 1: expected a mapping with a non-empty 'members' list"])
    if unknown := set(raw) - TOP_FIELDS - {_LINE}:
        problems.append(f"line {raw.get(_LINE, 1)}: unknown field(s) {', '.join(sorted(map(str, unknown)))} (known: "
                        f"{', '.join(sorted(TOP_FIELDS))})")
    seen_addresses: dict[str, int] = {}
    seen_names: dict[str, int] = {}
    kyc_hash = cache(partial(_kyc_hash, base=path.parent))  # members may share an evidence file
    for index, entry in enumerate(raw["members"], start=1):
        if not isinstance(entry, dict):
            problems.append(f"members[{index}]: expected a mapping with name, roles and an address")
            continue
        line = entry.pop(_LINE, "?")
        here = f"line {line}: members[{index}]"
        local: list[str] = []
        unknown = set(entry) - CONSORTIUM_FIELDS
        if unknown:
            local.append(f"unknown field(s) {', '.join(sorted(unknown))}")
        address = _member_address(entry, chain_id, path.parent, local)
        kyc, kyc_problem = kyc_hash(entry.get("kyc_file"))
        if kyc_problem:
            local.append(kyc_problem)
        spec_input = {
            "name": entry.get("name"),
            "roles": entry.get("roles"),
            "credit_limit": entry.get("credit_limit", "0"),
            "cash": entry.get("opening_balance", "0"),
        }
        spec = member_spec(str(index), spec_input, local)
        problems.extend(f"{here}: {p.replace('cash:', 'opening_balance:')}" for p in local)
        if address:
            if address in seen_addresses:
                first = seen_addresses[address]
                problems.append(f"{here}: address {address} is already used by the member on line {first}")
            seen_addresses.setdefault(address, line)
        name = entry.get("name")
        if isinstance(name, str) and name:
            if name in seen_names:
                problems.append(f"{here}: name {name!r} is already used on line {seen_names[name]}")
            seen_names.setdefault(name, line)
        if spec is not None and address and not local:
            evidence = (path.parent / str(entry["kyc_file"])).resolve()
            member = MemberSpec(spec.key, spec.name, spec.roles, spec.credit_limit, spec.cash, kyc, evidence)
            members.append((member, address))
    escrow = _vault_policy(raw.get("vault"), members, problems)
    if problems:
        raise SpecError(str(path), problems)
    return Consortium(members, escrow)


def _vault_policy(raw: Any, members: list[tuple[MemberSpec, str]], problems: list[str]) -> list[str]:
    """The addresses of the regulators ``vault: {escrow: [...]}`` names, each by its member
    name, each an auditor of the file."""
    if raw is None:
        return []
    line = raw.pop(_LINE, "?") if isinstance(raw, dict) else "?"
    here = f"line {line}: vault"
    if not isinstance(raw, dict) or set(raw) - {"escrow"} or not isinstance(raw.get("escrow", []), list):
        problems.append(f"{here}: expected escrow: a list of the names of the members who hold escrowed keys")
        return []
    by_name = {spec.name: (spec, address) for spec, address in members}
    escrow = []
    for name in raw.get("escrow", []):
        if not isinstance(name, str):
            problems.append(f"{here}.escrow: {name!r} is not a member's name")
        elif name not in by_name:
            problems.append(f"{here}.escrow: {name!r} is not the name of a member of this file")
        elif Role.AUDITOR not in by_name[name][0].roles:
            problems.append(f"{here}.escrow: {name!r} is not an auditor: only a regulator holds escrowed keys")
        else:
            escrow.append(by_name[name][1])
    return escrow


def _member_address(entry: dict[str, Any], chain_id: int, base: Path, problems: list[str]) -> str | None:
    given = [k for k in ("address", "account", "dev_key") if k in entry]
    if len(given) != 1:
        problems.append("give exactly one of address, account (ape keyfile alias) or dev_key")
        return None
    kind = given[0]
    value = entry[kind]
    if kind == "address":
        if not isinstance(value, str) or not is_hex_address(value):
            problems.append(f"address {value!r} is not a 20-byte hex address")
            return None
        return to_checksum_address(value)
    if kind == "dev_key":
        if chain_id not in LOCAL_CHAIN_IDS:
            problems.append(f"dev_key is for local chains only (this chain is {chain_id}): give an address or account")
            return None
        return dev_key(str(value)).address
    keyfile = ape_accounts_dir() / f"{value}.json"
    if not keyfile.exists():
        problems.append(f"account {value!r}: no ape keyfile at {keyfile} (ape accounts import {value})")
        return None
    try:
        return to_checksum_address("0x" + json.loads(keyfile.read_text())["address"].removeprefix("0x"))
    except (ValueError, KeyError):
        problems.append(f"account {value!r}: {keyfile} is not a keystore file")
        return None


def _kyc_hash(kyc_file: Any, base: Path) -> tuple[bytes, str]:
    """The keccak-256 of the KYC evidence file, or the problem with it."""
    if not kyc_file:
        return b"", "kyc_file: the KYC evidence file is required"
    path = (base / str(kyc_file)).resolve()
    if not path.is_file():
        return b"", f"kyc_file: {kyc_file} not found (looked in {path.parent})"
    return keccak(path.read_bytes()), ""
