"""A financing story as data: the YAML file's schema, validated whole before anything runs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scf.contracts import DocType, Role
from scf.money import CURRENCY, to_minor
from scf.seed import MemberSpec, SpecError, parse_members

STEP_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    # kind: (required fields, optional fields)
    "anchor": ({"id", "type", "by", "counterparty", "amount"}, {"parent"}),
    "issue": ({"id", "debtor", "creditor", "invoice", "face", "days"}, set()),
    "accept": ({"voucher"}, set()),
    "transfer": ({"voucher", "to", "amount", "id"}, set()),
    "discount": ({"voucher", "financier", "amount", "rate_bps", "id"}, {"recourse"}),
    "travel": ({"days"}, set()),
    "fund": ({"slot_of", "amount"}, {"by"}),
    "redeem_all": ({"slot_of"}, set()),
    # When a debtor fails (issue 16): pledges, credit insurance, overdue, claims, recourse.
    "pledge": ({"voucher", "pledgee", "secured", "due_days", "id"}, {"amount", "loan"}),
    "insure": ({"slot_of", "insurer", "cover", "premium", "buyer"}, {"order"}),
    "mark_overdue": ({"slot_of"}, set()),
    "claim": ({"slot_of"}, set()),
    "put_back": ({"voucher"}, set()),
    "write_off": ({"voucher"}, set()),
    # Private trade data (issue 19): the voucher's holder discloses the trail behind it; the
    # recipient's tooling opens and verifies every document against the chain.
    "disclose": ({"voucher", "to"}, set()),
}
RECOVERY_ORDERS = ("holders_first", "insurer_first")


@dataclass
class Scenario:
    name: str
    currency: str
    members: list[MemberSpec]
    steps: list[dict[str, Any]]
    escrow: list[str] = field(default_factory=list)  # members every document is also sealed for (vault policy)

    @property
    def digest(self) -> str:
        """Identifies the story's content: a journal is only resumed by the same story."""
        members = [vars(m) | {"kyc_hash": m.kyc_hash.hex(), "roles": int(m.roles)} for m in self.members]
        canonical = json.dumps({"members": members, "steps": self.steps, "currency": self.currency,
                                "escrow": self.escrow},
                               sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


def load_scenario(path: Path) -> Scenario:
    """Reads and validates a scenario file; raises SpecError listing every problem."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise SpecError(str(path), ["file not found"]) from None
    except yaml.YAMLError as exc:
        raise SpecError(str(path), [f"not valid YAML: {exc}"]) from None
    return parse_scenario(raw, str(path))


def parse_scenario(raw: Any, source: str = "scenario") -> Scenario:
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise SpecError(source, ["expected a mapping with name, members and steps"])
    members = parse_members(raw.get("members"), problems)
    names = {m.key for m in members}
    steps = raw.get("steps")
    if not isinstance(steps, list) or not steps:
        problems.append("steps: expected a non-empty list")
        steps = []
    ids: set[str] = set()
    for index, step in enumerate(steps, start=1):
        here = f"steps[{index}]"
        if not isinstance(step, dict) or step.get("do") not in STEP_FIELDS:
            problems.append(f"{here}: 'do' must be one of {', '.join(STEP_FIELDS)}")
            continue
        required, optional = STEP_FIELDS[step["do"]]
        fields = set(step) - {"do"}
        if missing := required - fields:
            problems.append(f"{here} ({step['do']}): missing {', '.join(sorted(missing))}")
        if extra := fields - required - optional:
            problems.append(f"{here} ({step['do']}): unknown field(s) {', '.join(sorted(extra))}")
        for who in ("by", "counterparty", "debtor", "creditor", "to", "financier", "pledgee", "insurer", "buyer"):
            if who in step and step[who] not in names:
                problems.append(f"{here}: {who} {step[who]!r} is not a member of this scenario")
        for ref in ("parent", "invoice", "voucher", "slot_of"):
            if ref in step and step[ref] not in ids:
                problems.append(f"{here}: {ref} {step[ref]!r} is not defined by an earlier step")
        for amount_field in ("amount", "face", "secured", "loan", "cover", "premium"):
            if amount_field in step and step[amount_field] != "all":
                try:
                    if isinstance(step[amount_field], float):
                        raise ValueError(f"write amounts as quoted strings (got {step[amount_field]!r})")
                    to_minor(str(step[amount_field]))
                except ValueError as exc:
                    problems.append(f"{here}.{amount_field}: {exc}")
        for number in ("days", "rate_bps", "due_days"):
            if number in step and (not isinstance(step[number], int) or step[number] <= 0):
                problems.append(f"{here}.{number}: expected a positive whole number")
        if "recourse" in step and not isinstance(step["recourse"], bool):
            problems.append(f"{here}.recourse: expected true or false")
        if "order" in step and step["order"] not in RECOVERY_ORDERS:
            problems.append(f"{here}.order: expected one of {', '.join(RECOVERY_ORDERS)}")
        if step.get("do") == "anchor":
            try:
                DocType.parse(str(step.get("type", "")))
            except ValueError as exc:
                problems.append(f"{here}.type: {exc}")
        if "id" in step:
            if step["id"] in ids:
                problems.append(f"{here}: id {step['id']!r} is already used")
            ids.add(step["id"])
    escrow = _escrow(raw.get("vault"), {m.key: m for m in members}, problems)
    if problems:
        raise SpecError(source, problems)
    return Scenario(str(raw.get("name", source)), str(raw.get("currency", CURRENCY)), members, steps, escrow)


def _escrow(raw: Any, members: dict[str, MemberSpec], problems: list[str]) -> list[str]:
    """The vault's policy (``vault: {escrow: [auditor]}``): the regulators every trade document
    is also sealed for. Each must be an auditor of the story."""
    if raw is None:
        return []
    if not isinstance(raw, dict) or set(raw) - {"escrow"}:
        problems.append("vault: expected a mapping with escrow (a list of the story's auditors)")
        return []
    escrow = raw.get("escrow") or []
    if not isinstance(escrow, list):
        problems.append("vault.escrow: expected a list of member short names")
        return []
    for key in escrow:
        if not isinstance(key, str):
            problems.append(f"vault.escrow: {key!r} is not a member's short name")
        elif key not in members:
            problems.append(f"vault.escrow: {key!r} is not a member of this scenario")
        elif Role.AUDITOR not in members[key].roles:
            problems.append(f"vault.escrow: {key!r} is not an auditor: only a regulator holds escrowed keys")
    return [str(k) for k in escrow]


