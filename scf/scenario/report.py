"""The report of a story: who was paid what and when, the lineage of every voucher, each
supplier's effective financing cost, who lost what on a slot whose debtor failed, cash before
and after, and the gas of every operation."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from scf.losses import DefaultPosition
from scf.money import DAY, effective_annual_cost, fmt, fmt_day, from_minor, to_minor
from scf.text import printable, printable_lines, tree_lines


@dataclass
class Payment:
    member: str
    # Received: "discount", "redemption", "payout" (pro-rata share of an overdue slot),
    # "pledge payout", "write-off" (the share paid before), "loan", "premium", "recourse".
    # Paid: "funding", "claim" (an insurer into a slot); "put back": a recourse debt incurred.
    kind: str
    amount: int
    at: int
    detail: str


@dataclass
class Financing:
    supplier: str
    value: int
    price: int
    rate_bps: int
    seconds_to_maturity: int

    @property
    def interest(self) -> int:
        return self.value - self.price

    @property
    def effective_annual_rate(self) -> Decimal:
        """Cost of the cash received, annualised on ACT/365 (``scf.money.effective_annual_cost``)."""
        cost = effective_annual_cost(self.value, self.price, self.seconds_to_maturity)
        if cost is None:
            raise ValueError("no effective rate: nothing was received or nothing is left to run")
        return Decimal(cost.numerator) / Decimal(cost.denominator)


@dataclass
class ScenarioReport:
    name: str
    currency: str
    chain_id: int
    members: dict[str, str]  # address -> display name
    lineage: list[dict[str, Any]] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    financings: list[Financing] = field(default_factory=list)
    gas: dict[str, list[int]] = field(default_factory=dict)
    cash_before: dict[str, int] = field(default_factory=dict)
    cash_after: dict[str, int] = field(default_factory=dict)
    losses: list[dict[str, Any]] = field(default_factory=list)  # one per slot marked overdue
    # Trade documents as the vault filed them: {record, kind, by, counterparty, commitment}.
    documents: list[dict[str, Any]] = field(default_factory=list)
    # Trails disclosed: {by, to, voucher, records, verified_by}.
    disclosures: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def position_rows(self, position: DefaultPosition) -> dict[str, Any]:
        """A failed slot's loss table, members by name, amounts in minor units."""
        return {
            "slot": position.slot,
            "debtor": self.members.get(position.debtor, position.debtor),
            "face_value": position.face_value,
            "paid_by_debtor": position.paid_by_debtor,
            "held": position.held,
            "total_lost": position.total_lost,
            "balances": position.balances,
            "rows": [
                {"member": self.members.get(x.member, x.member), "unpaid": x.unpaid, "written_off": x.written_off,
                 "insurer_claim": x.insurer_claim, "paid_for_debtor": x.paid_for_debtor, "total": x.total}
                for x in position.losses
            ],
        }

    def record_gas(self, operation: str, used: int) -> None:
        self.gas.setdefault(operation, []).append(used)

    def progress_state(self) -> dict[str, Any]:
        """What a resumed run needs to carry on this report (see ``restore``)."""
        return {"lineage": self.lineage, "payments": [vars(p) for p in self.payments],
                "financings": [vars(f) for f in self.financings], "gas": self.gas,
                "cash_before": self.cash_before, "documents": self.documents, "disclosures": self.disclosures}

    def restore(self, state: dict[str, Any]) -> None:
        self.lineage = state["lineage"]
        self.payments = [Payment(**p) for p in state["payments"]]
        self.financings = [Financing(**f) for f in state["financings"]]
        self.gas = state["gas"]
        self.cash_before = state["cash_before"]
        self.documents = state["documents"]
        self.disclosures = state["disclosures"]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "currency": self.currency,
            "chainId": self.chain_id,
            "lineage": self.lineage,
            "payments": [vars(p) | {"amount": str(from_minor(p.amount))} for p in self.payments],
            "financing": [
                {
                    "supplier": f.supplier,
                    "value": str(from_minor(f.value)),
                    "price": str(from_minor(f.price)),
                    "interest": str(from_minor(f.interest)),
                    "rate_bps": f.rate_bps,
                    "days_to_maturity": round(f.seconds_to_maturity / DAY, 4),
                    "effective_annual_rate": str(round(f.effective_annual_rate, 6)),
                }
                for f in self.financings
            ],
            "gas": {
                op: {"count": len(v), "median": int(statistics.median(v)), "total": sum(v)}
                for op, v in self.gas.items()
            },
            "cash": {
                name: {"before": str(from_minor(self.cash_before[a])), "after": str(from_minor(self.cash_after[a]))}
                for a, name in self.members.items()
            },
            "losses": [
                {k: (str(from_minor(v)) if isinstance(v, int) and not isinstance(v, bool) and k != "slot" else v)
                 for k, v in table.items() if k != "rows"}
                | {"rows": [{k: (str(from_minor(v)) if isinstance(v, int) else v) for k, v in row.items()}
                            for row in table["rows"]]}
                for table in self.losses
            ],
            "documents": self.documents,
            "disclosures": self.disclosures,
            "seconds": round(self.seconds, 2),
        }

    def render(self) -> str:
        """The report for a terminal. Member names (each member chooses its own), details and
        the story's name are shown with their control characters escaped (``scf.text``)."""
        cur = self.currency
        out = [f"== {printable(self.name)} (chain {self.chain_id}) ==", "",
               "Lineage of every voucher (value held just before maturity):"]
        out += tree_lines(
            (
                row["depth"],
                row["voucher"],
                f"{printable(row['holder']):<34} {fmt(to_minor(row['value'], allow_zero=True), cur):>18}",
            )
            for row in self.lineage
        )
        if self.documents:
            out += ["", "Trade documents (sealed in the vault; on chain only their salted commitments):"]
            for d in self.documents:
                out.append(f"  record {d['record']:>4}  {d['kind']:<14} {printable(d['by']):<34} -> "
                           f"{printable(d['counterparty']):<34} {d['commitment'][:18]}…")
        for d in self.disclosures:
            verified = f", verified by {printable(d['verified_by'])}" if d["verified_by"] else ""
            out.append(f"  trail of voucher {d['voucher']} (records {', '.join(map(str, d['records']))}) disclosed by "
                       f"{printable(d['by'])} to {printable(d['to'])}{verified}")
        out += ["", "Who paid or received what, and when:"]
        for p in self.payments:
            when = fmt_day(p.at)
            out.append(
                f"  {when}  {printable(p.member):<34} {p.kind:<13} {fmt(p.amount, cur):>18}  {printable(p.detail)}"
            )
        out += ["", "Financing cost per supplier (discounting before maturity):"]
        if not self.financings:
            out.append("  none: every supplier held to maturity")
        for f in self.financings:
            out.append(
                f"  {printable(f.supplier):<34} sold {fmt(f.value, cur)} for {fmt(f.price, cur)} "
                f"({f.seconds_to_maturity / DAY:.0f} days early, {f.rate_bps / 100:.2f} % ACT/360): "
                f"interest {fmt(f.interest, cur)}, effective {f.effective_annual_rate * 100:.3f} % a year"
            )
        for table in self.losses:
            out += ["", f"Who lost what when {printable(table['debtor'])} failed (slot {table['slot']}, "
                        f"face value {fmt(table['face_value'], cur)}):"]
            out.append(f"  {'member':<34} {'unpaid vouchers':>18} {'written off':>16} {'insurer claim':>16} "
                       f"{'paid for debtor':>18} {'total':>18}")
            for row in table["rows"]:
                out.append(
                    f"  {printable(row['member']):<34} {fmt(row['unpaid'], cur):>18} {fmt(row['written_off'], cur):>16}"
                    f" {fmt(row['insurer_claim'], cur):>16} {fmt(row['paid_for_debtor'], cur):>18}"
                    f" {fmt(row['total'], cur):>18}"
                )
            out.append(f"  {'total':<34} {'':>18} {'':>16} {'':>16} {'':>18} {fmt(table['total_lost'], cur):>18}")
            out.append(
                f"  The debtor paid {fmt(table['paid_by_debtor'], cur)}; {fmt(table['held'], cur)} funded is still in "
                f"the ledger for holders; with the {fmt(table['total_lost'], cur)} lost that is the face value"
                + ("." if table["balances"] else ": IT IS NOT (a defect: report it).")
            )
        out += ["", "Cash (settlement tokens) before and after:"]
        for address, name in self.members.items():
            before, after = self.cash_before[address], self.cash_after[address]
            out.append(f"  {printable(name):<34} {fmt(before, cur):>18} -> {fmt(after, cur):>18}")
        out += ["", "Gas per operation (median of the runs in this story):"]
        for op, values in self.gas.items():
            out.append(f"  {op:<22} {int(statistics.median(values)):>9,} gas  x{len(values)}")
        out += ["", f"Finished in {self.seconds:.1f} s."]
        return printable_lines(out)


def write_json(report: ScenarioReport, path: Path) -> None:
    Path(path).write_text(json.dumps(report.to_json(), indent=2) + "\n")
