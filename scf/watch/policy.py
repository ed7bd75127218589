"""The watch's policy file: which rules run and their thresholds, read and checked whole before
anything runs. Every problem of the file is reported at once, each with its line (the YAML is
read as nodes, which keep their marks): unknown rules and settings, missing ones, wrong types,
negative or out-of-range thresholds."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import yaml

from scf.errors import FileProblems
from scf.money import AmountError, to_minor
from scf.paths import project_root
from scf.watch.rules import MONEY, PERCENT, POSITIVE, RULE_NAMES, RULES, WHOLE, Rule

DEFAULT_POLICY = Path("consortium") / "watch-policy.yaml"  # in the project root
SEVERITIES = ("warning", "critical")
R = TypeVar("R", bound=Rule)


def default_policy_path() -> Path:
    return project_root() / DEFAULT_POLICY


class PolicyError(FileProblems):
    """A policy file is wrong; the message lists every problem, each with its line."""



@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...]
    source: str = ""

    @classmethod
    def load(cls, path: Path | str) -> Policy:
        """Reads and checks a policy file whole; raises PolicyError listing every problem with
        its line."""
        path = Path(path)
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise PolicyError(str(path), ["file not found"]) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(str(path), [f"cannot be read ({exc})"]) from None
        return cls.from_text(text, str(path))

    @classmethod
    def from_text(cls, text: str, source: str = "policy") -> Policy:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            raise PolicyError(source, [f"not valid YAML: {exc}"]) from None
        problems: list[str] = []
        rules = _parse_rules(root, problems)
        if problems:
            raise PolicyError(source, problems)
        return cls(tuple(rules), source)

    def rule(self, kind: type[R]) -> R:
        """This policy's settings of the rule ``kind`` (``policy.rule(Velocity).max_moves``)."""
        return next(r for r in self.rules if isinstance(r, kind))

    def replace(self, rule: Rule) -> Policy:
        """This policy with ``rule`` in place of the rule of its name."""
        return Policy(tuple(rule if r.NAME == rule.NAME else r for r in self.rules), self.source)

    def only(self, *names: str) -> Policy:
        """This policy with every rule but ``names`` switched off."""
        return Policy(tuple(replace(r, enabled=r.NAME in names) for r in self.rules), self.source)


def _parse_rules(root: yaml.Node | None, problems: list[str]) -> list[Rule]:
    if not isinstance(root, yaml.MappingNode):
        line = root.start_mark.line + 1 if root is not None else 1
        problems.append(f"line {line}: expected a mapping of rule name -> settings ({', '.join(RULE_NAMES)})")
        return []
    by_name = {r.NAME: r for r in RULES}
    seen: dict[str, int] = {}
    rules: list[Rule] = []
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 1
        name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if name not in by_name:
            problems.append(f"line {line}: unknown rule {name!r} (rules: {', '.join(RULE_NAMES)})")
            continue
        if name in seen:
            problems.append(f"line {line}: rule {name} is already set on line {seen[name]}")
            continue
        seen[name] = line
        rule = _parse_rule(by_name[name], key_node, value_node, problems)
        if rule is not None:
            rules.append(rule)
    for name in RULE_NAMES:
        if name not in seen:
            problems.append(f"line {root.start_mark.line + 1}: rule {name} is missing "
                            "(keep every rule; write 'enabled: false' to switch one off)")
    return sorted(rules, key=lambda r: RULE_NAMES.index(r.NAME))


def _parse_rule(cls: type[Rule], key_node: yaml.Node, node: yaml.Node, problems: list[str]) -> Rule | None:
    name = cls.NAME
    if isinstance(node, yaml.ScalarNode) and node.value == "" and node.tag.endswith(":null"):
        node = yaml.MappingNode("tag:yaml.org,2002:map", [], node.start_mark, node.end_mark)
    if not isinstance(node, yaml.MappingNode):
        problems.append(f"line {node.start_mark.line + 1}: {name}: expected a mapping of settings")
        return None
    settings = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    seen: dict[str, int] = {}
    ok = True
    for k, v in node.value:
        line = k.start_mark.line + 1
        key = k.value if isinstance(k, yaml.ScalarNode) else None
        where = f"line {line}: {name}.{key}"
        if key not in settings:
            known = ", ".join(settings)
            problems.append(f"line {line}: {name}: unknown setting {key!r} (settings: {known})")
            ok = False
            continue
        if key in seen:
            problems.append(f"{where}: already set on line {seen[key]}")
            ok = False
            continue
        seen[key] = line
        try:
            values[key] = _value(settings[key].metadata.get("kind") or key, v)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            ok = False
    for f in fields(cls):
        if f.name not in seen and f.default is MISSING:
            problems.append(f"line {key_node.start_mark.line + 1}: {name}: missing setting {f.name}")
            ok = False
    if ok and "min_history" in values and values["min_history"] > values.get("history", 0):
        problems.append(f"line {seen['min_history']}: {name}.min_history: {values['min_history']} is more than "
                        f"history ({values['history']}): no discount could ever be judged")
        ok = False
    return cls(**values) if ok else None


_SCALARS = yaml.constructor.SafeConstructor()


def _value(kind: str, node: yaml.Node) -> Any:
    """One setting's value, checked against its kind; raises ValueError saying what is wrong."""
    if not isinstance(node, yaml.ScalarNode):
        got = "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
        raise ValueError(f"expected {_expected(kind)}, got {got}")
    value = _SCALARS.construct_object(node)
    if kind == "severity":
        if value not in SEVERITIES:
            raise ValueError(f"expected one of {', '.join(SEVERITIES)}, got {value!r}")
        return value
    if kind == "enabled":
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
        return value
    if kind in (WHOLE, POSITIVE):
        least = 0 if kind == WHOLE else 1
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected {kind}, got {value!r}")
        if value < least:
            raise ValueError(f"{value} is {'negative' if value < 0 else 'zero'}: expected {kind}")
        return value
    if kind == PERCENT:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected {kind}, got {value!r}")
        if not 0 <= value <= 100:
            raise ValueError(f"{value} is {'negative' if value < 0 else 'above 100'}: expected {kind}")
        return Decimal(str(value))
    if kind == MONEY:
        if not isinstance(value, str):
            raise ValueError(f"write amounts as quoted strings (got {value!r})")
        try:
            return to_minor(value, allow_zero=True)
        except AmountError as exc:
            raise ValueError(str(exc)) from None
    raise AssertionError(f"no check for settings of kind {kind!r}")


def _expected(kind: str) -> str:
    return {"severity": "warning or critical", "enabled": "true or false"}.get(kind, kind)

