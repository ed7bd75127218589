"""The risk watch: rules from a policy file (``consortium/watch-policy.yaml``) evaluated against
the supervision read model (``scf.supervision.Book``) as blocks arrive, each alert raised once
and kept beside the event index.

- ``scf.watch.policy``: the policy file, checked whole with line numbers (``Policy.load``);
- ``scf.watch.rules``: the rules, one small dataclass each (settings and check together);
- ``scf.watch.alerts``: ``Watch.evaluate(book)`` (new alerts only, stored), ``alerts_page``
  (the read API's page, newest first), and the JSON line and table for people.

Alert, as the read API serves it: ``{"id", "rule", "severity": "warning" | "critical",
"subject": {"kind": "slot" | "voucher" | "member" | "debtor", "key": slot number, voucher label
``slot.serial`` or address}, "message", "block", "timestamp"}`` (the block and time it was raised).
"""

from scf.watch.alerts import Watch, alerts_page, alerts_table, json_line, system_accounts
from scf.watch.policy import DEFAULT_POLICY, SEVERITIES, Policy, PolicyError, default_policy_path
from scf.watch.rules import RULE_NAMES, RULES, SUBJECT_KINDS, Finding, Rule

__all__ = [
    "DEFAULT_POLICY",
    "RULES",
    "RULE_NAMES",
    "SEVERITIES",
    "SUBJECT_KINDS",
    "Finding",
    "Policy",
    "PolicyError",
    "Rule",
    "Watch",
    "alerts_page",
    "alerts_table",
    "default_policy_path",
    "json_line",
    "system_accounts",
]
