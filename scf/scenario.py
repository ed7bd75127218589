"""Financing stories as data: a YAML file names the members and the steps; the runner plays
them on a chain and reports who was paid what, the lineage of every voucher, each supplier's
effective financing cost and the gas of every operation.

A story is resumable. Its progress lives in a journal next to the deployment manifest
(``<manifest dir>/journal/<chain>-<story>.json``): after every step, the runner's state; during
a step, each transaction as signed, written before it is broadcast (``scf.chain.journal``). If
the run dies (the node or this process killed), running the same story again on the same
chain finishes it: deploy and seeding check the chain, finished steps are not played again,
and the step that was cut short settles what it had sent before sending anything new.
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from scf.chain.connection import Connection
from scf.chain.devnet import increase_time, set_balance
from scf.chain.journal import Journal, JournalConflict
from scf.contracts import DocType, label
from scf.deploy import Suite, deploy_suite
from scf.indexer import LedgerView, index_vouchers
from scf.manifest import ABI_DIR, DEPLOYMENTS_DIR
from scf.member import MemberSession
from scf.money import fmt, from_minor, from_timestamp, to_minor
from scf.seed import MemberSpec, SpecError, parse_members, seed_members
from scf.text import printable, printable_lines
from scf.wallet import dev_key

DAY = 86_400

STEP_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    # kind: (required fields, optional fields)
    "anchor": ({"id", "type", "by", "counterparty", "amount"}, {"parent"}),
    "issue": ({"id", "debtor", "creditor", "invoice", "face", "days"}, set()),
    "accept": ({"voucher"}, set()),
    "transfer": ({"voucher", "to", "amount", "id"}, set()),
    "discount": ({"voucher", "financier", "amount", "rate_bps", "id"}, set()),
    "travel": ({"days"}, set()),
    "fund": ({"slot_of", "amount"}, set()),
    "redeem_all": ({"slot_of"}, set()),
}


@dataclass
class Scenario:
    name: str
    currency: str
    members: list[MemberSpec]
    steps: list[dict[str, Any]]

    @property
    def digest(self) -> str:
        """Identifies the story's content: a journal is only resumed by the same story."""
        canonical = json.dumps({"members": [vars(m) | {"kyc_hash": m.kyc_hash.hex(), "roles": int(m.roles)} for m in self.members],
                                "steps": self.steps, "currency": self.currency}, sort_keys=True, default=str)
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
        for who in ("by", "counterparty", "debtor", "creditor", "to", "financier"):
            if who in step and step[who] not in names:
                problems.append(f"{here}: {who} {step[who]!r} is not a member of this scenario")
        for ref in ("parent", "invoice", "voucher", "slot_of"):
            if ref in step and step[ref] not in ids:
                problems.append(f"{here}: {ref} {step[ref]!r} is not defined by an earlier step")
        for amount_field in ("amount", "face"):
            if amount_field in step and step[amount_field] != "all":
                try:
                    if isinstance(step[amount_field], float):
                        raise ValueError(f"write amounts as quoted strings (got {step[amount_field]!r})")
                    to_minor(str(step[amount_field]))
                except ValueError as exc:
                    problems.append(f"{here}.{amount_field}: {exc}")
        for number in ("days", "rate_bps"):
            if number in step and (not isinstance(step[number], int) or step[number] <= 0):
                problems.append(f"{here}.{number}: expected a positive whole number")
        if step.get("do") == "anchor":
            try:
                DocType.parse(str(step.get("type", "")))
            except ValueError as exc:
                problems.append(f"{here}.type: {exc}")
        if "id" in step:
            if step["id"] in ids:
                problems.append(f"{here}: id {step['id']!r} is already used")
            ids.add(step["id"])
    if problems:
        raise SpecError(source, problems)
    return Scenario(str(raw.get("name", source)), str(raw.get("currency", "CNY")), members, steps)


@dataclass
class Payment:
    member: str
    kind: str  # "discount" or "redemption"
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
        """Cost of the cash received, annualised on ACT/365: (value/price - 1) * 365 / days."""
        days = Decimal(self.seconds_to_maturity) / DAY
        return (Decimal(self.value) / Decimal(self.price) - 1) * Decimal(365) / days


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
    seconds: float = 0.0

    def record_gas(self, operation: str, used: int) -> None:
        self.gas.setdefault(operation, []).append(used)

    def progress_state(self) -> dict[str, Any]:
        """What a resumed run needs to carry on this report (see ``restore``)."""
        return {"lineage": self.lineage, "payments": [vars(p) for p in self.payments],
                "financings": [vars(f) for f in self.financings], "gas": self.gas,
                "cash_before": self.cash_before}

    def restore(self, state: dict[str, Any]) -> None:
        self.lineage = state["lineage"]
        self.payments = [Payment(**p) for p in state["payments"]]
        self.financings = [Financing(**f) for f in state["financings"]]
        self.gas = state["gas"]
        self.cash_before = state["cash_before"]

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
            "gas": {op: {"count": len(v), "median": int(statistics.median(v)), "total": sum(v)} for op, v in self.gas.items()},
            "cash": {
                name: {"before": str(from_minor(self.cash_before[a])), "after": str(from_minor(self.cash_after[a]))}
                for a, name in self.members.items()
            },
            "seconds": round(self.seconds, 2),
        }

    def render(self) -> str:
        """The report for a terminal. Member names (each member chooses its own), details and
        the story's name are shown with their control characters escaped (``scf.text``)."""
        cur = self.currency
        out = [f"== {printable(self.name)} (chain {self.chain_id}) ==", "",
               "Lineage of every voucher (value held just before maturity):"]
        for row in self.lineage:
            indent = "   " * row["depth"] + ("└─ " if row["depth"] else "")
            value = fmt(to_minor(row["value"], allow_zero=True), cur)
            out.append(f"  {indent + row['voucher']:<16} {printable(row['holder']):<34} {value:>18}")
        out += ["", "Who received what, and when:"]
        for p in self.payments:
            when = datetime.fromtimestamp(p.at, tz=UTC).strftime("%Y-%m-%d")
            out.append(
                f"  {when}  {printable(p.member):<34} {p.kind:<11} {fmt(p.amount, cur):>18}  {printable(p.detail)}"
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
        out += ["", "Cash (settlement tokens) before and after:"]
        for address, name in self.members.items():
            before, after = self.cash_before[address], self.cash_after[address]
            out.append(f"  {printable(name):<34} {fmt(before, cur):>18} -> {fmt(after, cur):>18}")
        out += ["", "Gas per operation (median of the runs in this story):"]
        for op, values in self.gas.items():
            out.append(f"  {op:<22} {int(statistics.median(values)):>9,} gas  x{len(values)}")
        out += ["", f"Finished in {self.seconds:.1f} s."]
        return printable_lines(out)


Progress = Callable[[int, int, str], None]


def journal_path(manifest_dir: Path, chain_id: int, scenario: Scenario) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", scenario.name.lower()).strip("-") or "story"
    return Path(manifest_dir) / "journal" / f"{chain_id}-{slug}.json"


def run_scenario(
    conn: Connection,
    scenario: Scenario,
    *,
    governance: LocalAccount | None = None,
    operator: LocalAccount | None = None,
    keys: dict[str, LocalAccount] | None = None,
    fund_gas: bool = True,
    progress: Progress = lambda _i, _n, _what: None,
    manifest_dir: Path = DEPLOYMENTS_DIR,
    abi_dir: Path = ABI_DIR,
) -> ScenarioReport:
    """Deploys (or reuses) the suite, seeds the scenario's members and plays its steps, or
    finishes an interrupted run of the same story on the same chain (see the module's doc).
    Time travel needs a development chain (anvil)."""
    started = datetime.now(tz=UTC)
    governance = governance or dev_key("governance")
    operator = operator or dev_key("operator")
    keys = keys or {m.key: dev_key(f"{scenario.name} {m.key}") for m in scenario.members}
    total = len(scenario.steps) + 2
    if fund_gas:
        for account in [governance, operator, *keys.values()]:
            set_balance(conn.w3, account.address, 10**21)

    progress(1, total, "deploying the suite")
    deploy_report = deploy_suite(conn, governance, operator, manifest_dir=manifest_dir, abi_dir=abi_dir)
    suite = Suite.attach(conn, deploy_report.deployment)
    report = ScenarioReport(scenario.name, scenario.currency, conn.chain_id, {})
    for spec in scenario.members:
        report.members[keys[spec.key].address] = spec.name

    journal = _open_journal(conn, scenario, journal_path(manifest_dir, conn.chain_id, scenario), suite,
                            lambda what: progress(1, total, what))
    progress(2, total, f"seeding {len(scenario.members)} members")
    seed_gas = seed_members(suite, operator, [(m, keys[m.key].address) for m in scenario.members])
    if journal is None:
        for op, used in seed_gas.items():
            for one in used:
                report.record_gas(op, one)
        report.cash_before = {a: suite.token.balance_of(a) for a in report.members}
        run = _next_run(journal_path(manifest_dir, conn.chain_id, scenario))
        player = _Player(suite, scenario, keys, report, run=run)
        journal = Journal.create(journal_path(manifest_dir, conn.chain_id, scenario), {
            "story": scenario.name, "digest": scenario.digest, "chain_id": conn.chain_id, "run": run,
            "voucher": suite.voucher.address, "finished": False,
        }, conn.head(), state=player.progress_state(next_step=0, head=conn.head()))
    else:
        player = _Player(suite, scenario, keys, report, run=journal.meta["run"])
        player.restore(journal.state)

    for index in range(journal.state["next_step"], len(scenario.steps)):
        step = scenario.steps[index]
        progress(index + 3, total, _describe(step))
        player.prepare(step)  # idempotent preparation (allowances), outside the journal
        conn.journal = journal
        try:
            journal.begin(f"step {index + 1}")
            player.play(step)
        finally:
            conn.journal = None
        player.collect_gas()
        journal.finish(player.progress_state(next_step=index + 1, head=conn.head()))

    report.cash_after = {a: suite.token.balance_of(a) for a in report.members}
    report.seconds = (datetime.now(tz=UTC) - started).total_seconds()
    if not report.lineage:
        report.lineage = player.lineage_rows()
    journal.meta["finished"] = True
    journal.save()
    return report


def _open_journal(
    conn: Connection, scenario: Scenario, path: Path, suite: Suite, note: Callable[[str], None]
) -> Journal | None:
    """The journal of an unfinished run of this story on this chain, if there is one."""
    journal = Journal.open(path)
    if journal is None or journal.meta.get("finished"):
        return None
    if not journal.on_same_chain(conn.block_hash) or journal.meta.get("voucher") != suite.voucher.address:
        moved = journal.retire("stale")
        note(f"the unfinished run in {moved.name} was on a chain (or a deployment) that is gone: starting afresh")
        return None
    last = journal.state.get("head")
    if last and conn.block_hash(last["number"]) != last["hash"]:
        raise JournalConflict(
            f"the chain no longer has block {last['number']}, where step {journal.state['next_step']} of "
            f"{scenario.name!r} was recorded as done: it was rolled back, and what was done since may be gone. "
            f"Nothing was sent: look at the chain, then move {path} aside to start afresh"
        )
    if journal.meta["digest"] != scenario.digest:
        stopped = journal.state["next_step"] + 1
        raise SpecError(str(path), [(
            f"an unfinished run of story {scenario.name!r} (stopped before step {stopped}) was started from "
            "a different file: finish it with that file, or move the journal aside"
        )])
    note(f"resuming run {journal.meta['run']} of {scenario.name!r} at step {journal.state['next_step'] + 1}")
    return journal


def _next_run(path: Path) -> int:
    """Runs of a story on one chain are numbered: documents and offer nonces differ by run."""
    previous = Journal.open(path)
    return (previous.meta.get("run", 0) + 1) if previous else 1


def _describe(step: dict[str, Any]) -> str:
    rest = ", ".join(f"{k}={v}" for k, v in step.items() if k != "do")
    return f"{step['do']} {rest}"


class _Player:
    """Plays steps through each member's own session (``scf.member``): the same code a
    member's tooling uses."""

    def __init__(self, suite: Suite, scenario: Scenario, keys: dict[str, LocalAccount], report: ScenarioReport, run: int = 1):
        self.suite = suite
        self.report = report
        self.run = run  # documents and offer nonces differ between runs of a story on one chain
        self.sessions = {key: MemberSession(suite, account) for key, account in keys.items()}
        self.by_address = {session.address: session for session in self.sessions.values()}
        self.records: dict[str, int] = {}
        self.slots: dict[str, int] = {}
        self.tokens: dict[str, int] = {}

    def progress_state(self, next_step: int, head: tuple[int, str]) -> dict[str, Any]:
        """What a resumed run restores; ``head`` (the latest block) lets it notice a rollback."""
        return {"next_step": next_step, "records": self.records, "slots": self.slots, "tokens": self.tokens,
                "report": self.report.progress_state(), "head": {"number": head[0], "hash": head[1]}}

    def restore(self, state: dict[str, Any]) -> None:
        self.records, self.slots, self.tokens = dict(state["records"]), dict(state["slots"]), dict(state["tokens"])
        self.report.restore(state["report"])

    def unique(self, step: dict[str, Any], what: str) -> bytes:
        return keccak(text=f"{self.report.name} run {self.run} {step['id']} {what}")

    def holder_of(self, token: int) -> MemberSession:
        return self.session_of(self.suite.voucher.owner_of(token))

    def session_of(self, address: str) -> MemberSession:
        if address not in self.by_address:
            raise SpecError("scenario", [f"{address} is not a member of this scenario"])
        return self.by_address[address]

    def slot_of(self, ref: str) -> int:
        return self.tokens[ref] >> 32 if ref in self.tokens else self.slots[ref]

    def prepare(self, step: dict[str, Any]) -> None:
        """What a step needs in place first, checked on chain and so safe to repeat."""
        if step["do"] == "discount":
            self.sessions[step["financier"]].ensure_discount_line(step["amount"])

    def play(self, step: dict[str, Any]) -> None:
        getattr(self, f"_{step['do']}")(step)

    def collect_gas(self) -> None:
        for session in self.sessions.values():
            for operation, values in session.gas.items():
                for used in values:
                    self.report.record_gas(operation, used)
            session.gas.clear()

    def _anchor(self, step: dict[str, Any]) -> None:
        by, other = self.sessions[step["by"]], self.sessions[step["counterparty"]]
        document = self.unique(step, "document")
        record = by.anchor(step["type"], document, other.address, step["amount"], self.records.get(step.get("parent", ""), 0))
        other.confirm(record)
        self.records[step["id"]] = record

    def _issue(self, step: dict[str, Any]) -> None:
        maturity = from_timestamp(self.suite.conn.block_timestamp() + int(step["days"]) * DAY)
        debtor, creditor = self.sessions[step["debtor"]], self.sessions[step["creditor"]]
        self.slots[step["id"]] = debtor.issue(creditor.address, step["face"], maturity, self.records[step["invoice"]])

    def _accept(self, step: dict[str, Any]) -> None:
        slot = self.slots[step["voucher"]]
        self.tokens[step["voucher"]] = self.session_of(self.suite.voucher.slot(slot).creditor).accept(slot)

    def _transfer(self, step: dict[str, Any]) -> None:
        source = self.tokens[step["voucher"]]
        to = self.sessions[step["to"]].address
        self.tokens[step["id"]] = self.holder_of(source).pay(source, to, step["amount"])

    def _discount(self, step: dict[str, Any]) -> None:
        source = self.tokens[step["voucher"]]
        holder, bank = self.holder_of(source), self.sessions[step["financier"]]
        nonce = int.from_bytes(self.unique(step, "offer nonce")[:16], "big")
        offer, signature = bank.offer_discount(source, step["amount"], int(step["rate_bps"]), timedelta(days=1), nonce)
        new_token, price, tx = holder.take_discount(offer, signature)
        mined_at = self.suite.conn.block_timestamp(tx.block_number)
        maturity = self.suite.voucher.slot(source >> 32).maturity
        # The seller as the chain recorded it: a resumed run reads holders after the sale.
        (sale,) = tx.events(self.suite.desk.contract, "OfferExecuted")
        name, bank_name = self.name(sale["args"]["holder"]), self.name(bank.address)
        self.report.financings.append(Financing(name, offer.value, to_minor(price), offer.rate_bps, maturity - mined_at))
        self.report.payments.append(
            Payment(name, "discount", to_minor(price), mined_at, f"from {bank_name}, voucher {label(source)}")
        )
        self.tokens[step["id"]] = new_token

    def _travel(self, step: dict[str, Any]) -> None:
        conn = self.suite.conn
        journal = conn.journal
        start = conn.block_timestamp()
        until = journal.value("until", lambda: start + int(step["days"]) * DAY) if journal else start + int(step["days"]) * DAY
        if start < until:  # a re-run after the clock already moved does not move it again
            increase_time(conn.w3, until - start)

    def _fund(self, step: dict[str, Any]) -> None:
        slot = self.slot_of(step["slot_of"])
        debtor = self.session_of(self.suite.voucher.slot(slot).debtor)
        debtor.fund(slot, None if step["amount"] == "all" else step["amount"])

    def _redeem_all(self, step: dict[str, Any]) -> None:
        slot = self.slot_of(step["slot_of"])
        info = self.suite.voucher.slot(slot)
        now = self.suite.conn.block_timestamp()
        if now < info.maturity:
            increase_time(self.suite.conn.w3, info.maturity - now)
        ledger = index_vouchers(self.suite.conn, self.suite.deployment)
        self.report.lineage = self.lineage_rows(ledger)
        live = [x.token_id for x in ledger.of_slot(slot, live_only=True)]
        tx = self.session_of(info.debtor).redeem(live)  # anyone may redeem; the debtor triggers it here
        mined_at = self.suite.conn.block_timestamp(tx.block_number)
        for event in tx.events(self.suite.voucher.contract, "VoucherRedeemed"):
            args = event["args"]
            self.report.payments.append(
                Payment(self.name(args["holder"]), "redemption", int(args["value"]), mined_at,
                        f"voucher {label(int(args['tokenId']))}")
            )

    def name(self, address: str) -> str:
        return self.report.members.get(address, address)

    def lineage_rows(self, ledger: LedgerView | None = None) -> list[dict[str, Any]]:
        ledger = ledger or index_vouchers(self.suite.conn, self.suite.deployment)
        ours = set(self.slots.values())
        rows: list[dict[str, Any]] = []

        def walk(token: int, depth: int) -> None:
            x = ledger.vouchers[token]
            rows.append({"voucher": label(token), "holder": self.name(x.owner), "value": str(from_minor(x.value)),
                         "depth": depth, "parent": label(x.parent) if x.parent else None})
            for child in x.children:
                walk(child, depth + 1)

        for token, x in sorted(ledger.vouchers.items()):
            if x.parent == 0 and x.slot in ours:
                walk(token, 0)
        return rows


def write_json(report: ScenarioReport, path: Path) -> None:
    Path(path).write_text(json.dumps(report.to_json(), indent=2) + "\n")
