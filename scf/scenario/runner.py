"""Plays a story on a chain, resumably.

Progress lives in a journal next to the deployment manifest
(``<manifest dir>/journal/<chain>-<story>.json``): after every step, the runner's state; during
a step, each transaction as signed, written before it is broadcast (``scf.chain.journal``). If
the run dies (the node or this process killed), running the same story again on the same
chain finishes it: deploy and seeding check the chain, finished steps are not played again,
and the step that was cut short settles what it had sent before sending anything new.

The chain's clock is passed in (``Clock``): on anvil, ``scf.chain.devnet.DevnetClock`` moves it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from scf.chain.connection import Connection
from scf.chain.journal import Journal, JournalConflict
from scf.chain.sending import TxResult
from scf.contracts import DocType, label
from scf.deploy import deploy_suite
from scf.indexer import EventIndex, LedgerView, index_vouchers
from scf.losses import default_position
from scf.member import MemberSession
from scf.money import DAY, from_minor, from_timestamp, to_minor
from scf.scenario.report import Financing, Payment, ScenarioReport
from scf.scenario.spec import Scenario
from scf.seed import SpecError, seed_members, set_vault_policy
from scf.suite import Suite
from scf.vault import Vault, VaultDesk
from scf.vault.desk import deployment_of
from scf.vault.store import VaultBound
from scf.wallet import dev_key


class Clock(Protocol):
    """The chain's time, as a story needs it: read it, and move it forward (a development
    chain only)."""

    def now(self) -> int: ...

    def advance_to(self, timestamp: int) -> None:
        """Makes the latest block's time at least ``timestamp``; never moves it back."""


Progress = Callable[[int, int, str], None]


def _slug(scenario: Scenario) -> str:
    return re.sub(r"[^a-z0-9]+", "-", scenario.name.lower()).strip("-") or "story"


def journal_path(manifest_dir: Path, chain_id: int, scenario: Scenario) -> Path:
    return Path(manifest_dir) / "journal" / f"{chain_id}-{_slug(scenario)}.json"


def story_vault(vaults: Path, chain_id: int, scenario: Scenario) -> Path:
    """The story's own document vault under ``vaults``: a story signs its own escrow policy,
    which must not become the policy of a vault the consortium uses."""
    return Path(vaults) / f"{chain_id}-{_slug(scenario)}"


def run_scenario(
    conn: Connection,
    scenario: Scenario,
    *,
    governance: LocalAccount | None = None,
    operator: LocalAccount | None = None,
    clock: Clock,
    manifest_dir: Path,
    keys: dict[str, LocalAccount] | None = None,
    fund_gas: Callable[[str], None] | None = None,
    progress: Progress = lambda _i, _n, _what: None,
    vaults: Path,
) -> ScenarioReport:
    """Deploys (or reuses) the suite, seeds the scenario's members and plays its steps, or
    finishes an interrupted run of the same story on the same chain (see the module's doc).
    ``clock`` moves the chain's time for the story's waits; ``fund_gas``, when given, gives
    each account the story uses gas money (a development chain's faucet). The manifest and
    the story's journal are kept in ``manifest_dir``. Trade documents are sealed into the
    story's vault under ``vaults`` (``story_vault``): on chain go only their salted
    commitments. A vault left by a run on a chain that is gone is moved aside, as the
    journal is."""
    started = datetime.now(tz=UTC)
    governance = governance or dev_key("governance")
    operator = operator or dev_key("operator")
    keys = keys or {m.key: dev_key(f"{scenario.name} {m.key}") for m in scenario.members}
    total = len(scenario.steps) + 2
    if fund_gas is not None:
        for account in [governance, operator, *keys.values()]:
            fund_gas(account.address)

    progress(1, total, "deploying the suite")
    deploy_report = deploy_suite(conn, governance, operator, manifest_dir=manifest_dir)
    suite = Suite.attach(conn, deploy_report.deployment)
    report = ScenarioReport(scenario.name, scenario.currency, conn.chain_id, {})
    for spec in scenario.members:
        report.members[keys[spec.key].address] = spec.name

    journal = _open_journal(conn, scenario, journal_path(manifest_dir, conn.chain_id, scenario), suite,
                            lambda what: progress(1, total, what))
    progress(2, total, f"seeding {len(scenario.members)} members")
    seed_gas = seed_members(suite, operator, [(m, keys[m.key].address) for m in scenario.members])
    vault = open_story_vault(story_vault(vaults, conn.chain_id, scenario), suite, resuming=journal is not None,
                        note=lambda what: progress(2, total, what))
    desks = {key: VaultDesk(vault, suite, account) for key, account in keys.items()}
    for desk in desks.values():
        desk.publish_key()  # a signature filed in the vault, not a transaction
    escrow = [keys[k].address for k in scenario.escrow]
    set_vault_policy(VaultDesk(vault, suite, operator), escrow)  # signed only when it changes
    if journal is None:
        for op, used in seed_gas.items():
            for one in used:
                report.record_gas(op, one)
        report.cash_before = {a: suite.token.balance_of(a) for a in report.members}
        run = _next_run(journal_path(manifest_dir, conn.chain_id, scenario))
        player = _Player(suite, clock, keys, report, run=run, desks=desks)
        journal = Journal.create(journal_path(manifest_dir, conn.chain_id, scenario), {
            "story": scenario.name, "digest": scenario.digest, "chain_id": conn.chain_id, "run": run,
            "voucher": suite.voucher.address, "finished": False,
        }, conn.head(), state=player.progress_state(next_step=0, head=conn.head()))
    else:
        player = _Player(suite, clock, keys, report, run=journal.meta["run"], desks=desks)
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
    events = EventIndex(conn, suite.deployment)
    report.losses = [
        report.position_rows(default_position(suite, events, slot))
        for slot in sorted(set(player.slots.values()))
        if suite.voucher.slot(slot).overdue_at
    ]
    report.seconds = (datetime.now(tz=UTC) - started).total_seconds()
    if not report.lineage:
        report.lineage = player.lineage_rows()
    journal.meta["finished"] = True
    journal.save()
    vault.close()
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


def open_story_vault(folder: Path, suite: Suite, *, resuming: bool, note: Callable[[str], None]) -> Vault:
    """The story's vault, bound to this deployment. One left by a finished run on a chain that
    is gone (a fresh anvil) is moved aside; an unfinished run's vault must be this chain's."""
    vault = Vault(folder)
    try:
        vault.bind(deployment_of(suite), suite.conn.chain_id)
    except VaultBound:
        vault.close()
        if resuming:
            raise
        retired = folder.with_name(f"{folder.name}.stale-{int(time.time())}")
        folder.rename(retired)
        note(f"the story's vault was of a chain that is gone: moved to {retired.name}, starting afresh")
        vault = Vault(folder)
    return vault


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

    def __init__(self, suite: Suite, clock: Clock, keys: dict[str, LocalAccount], report: ScenarioReport, run: int,
                 desks: dict[str, VaultDesk]):
        self.suite = suite
        self.desks = desks
        self.desk_of = {desk.address: desk for desk in desks.values()}
        self.clock = clock
        self.report = report
        self.run = run  # documents and offer nonces differ between runs of a story on one chain
        self.sessions = {key: MemberSession(suite, account) for key, account in keys.items()}
        # Keyed by plain strings: addresses are looked up as the chain returns them (owner, debtor).
        self.by_address: dict[str, MemberSession] = {session.address: session for session in self.sessions.values()}
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
        """The registrant seals the document into the vault for both parties (and the policy's
        regulators) and anchors its salted commitment; the counterparty opens it, checks it
        against the chain and confirms. The document is short and guessable on purpose: its
        bare hash would give it away; its salted commitment does not."""
        by, other = self.desks[step["by"]], self.desks[step["counterparty"]]
        kind = DocType.parse(str(step["type"]))
        document = (f"{kind.name.lower().replace('_', ' ')} {step['id']} (run {self.run}): {step['amount']} "
                    f"{self.report.currency}, {self.name(by.address)} to {self.name(other.address)}").encode()
        parent = self.records.get(step.get("parent", ""), 0)
        record, commitment = by.put_trade_document(
            kind, document, f"{step['id']}.txt", other.address, to_minor(step["amount"]), parent)
        other.confirm(record)
        self.records[step["id"]] = record
        self.report.documents.append({"record": record, "kind": kind.name.lower(), "by": self.name(by.address),
                                      "counterparty": self.name(other.address), "commitment": "0x" + commitment.hex()})

    def _disclose(self, step: dict[str, Any]) -> None:
        """The voucher's holder discloses the trail behind it to ``to``, whose tooling opens and
        verifies every document against the chain (both recorded, signed, in the vault)."""
        token = self.tokens[step["voucher"]]
        holder, recipient = self.desk_of[self.suite.voucher.owner_of(token)], self.desks[step["to"]]
        purpose = f"story run {self.run}: disclose {step['voucher']} to {step['to']}"
        done = [s for s in holder.vault.statements("disclosure") if s.body.get("purpose") == purpose]
        disclosure = done[0] if done else holder.disclose(token, recipient.address, purpose)  # once, if resumed
        verified = [s for s in holder.vault.statements("verification")
                    if s.author == recipient.address and s.body.get("voucher") == label(token)]
        check = recipient.verify_trail(token, record=not verified)  # raises unless every document checks
        self.report.disclosures.append({
            "by": self.name(holder.address), "to": self.name(recipient.address), "voucher": label(token),
            "records": [d["record"] for d in disclosure.body["documents"]],
            "verified_by": self.name(recipient.address),
            "unconfirmed": check.unconfirmed,
        })

    def _issue(self, step: dict[str, Any]) -> None:
        maturity = from_timestamp(self.clock.now() + int(step["days"]) * DAY)
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
        recourse = bool(step.get("recourse", False))
        offer, signature = bank.offer_discount(
            source, step["amount"], int(step["rate_bps"]), timedelta(days=1), nonce, recourse=recourse
        )
        new_token, price, tx = holder.take_discount(offer, signature)
        mined_at = self.suite.conn.block_timestamp(tx.block_number)
        maturity = self.suite.voucher.slot(source >> 32).maturity
        # The seller as the chain recorded it: a resumed run reads holders after the sale.
        (sale,) = tx.events(self.suite.desk.contract, "OfferExecuted")
        name, bank_name = self.name(sale["args"]["holder"]), self.name(bank.address)
        financing = Financing(name, offer.value, to_minor(price), offer.rate_bps, maturity - mined_at)
        self.report.financings.append(financing)
        self.report.payments.append(
            Payment(name, "discount", to_minor(price), mined_at, f"from {bank_name}, voucher {label(source)}")
        )
        self.tokens[step["id"]] = new_token

    def _travel(self, step: dict[str, Any]) -> None:
        journal = self.suite.conn.journal
        start = self.clock.now()

        def target() -> int:
            return start + int(step["days"]) * DAY

        until = journal.value("until", target) if journal else target()
        self.clock.advance_to(until)  # a re-run after the clock already moved does not move it again

    def _fund(self, step: dict[str, Any]) -> None:
        slot = self.slot_of(step["slot_of"])
        payer = self.sessions[step["by"]] if "by" in step else self.session_of(self.suite.voucher.slot(slot).debtor)
        paid = payer.fund(slot, None if step["amount"] == "all" else step["amount"])
        self.report.payments.append(
            Payment(self.name(payer.address), "funding", to_minor(paid), self.clock.now(), f"paid into slot {slot}")
        )

    def _pledge(self, step: dict[str, Any]) -> None:
        source = self.tokens[step["voucher"]]
        holder, lender = self.holder_of(source), self.sessions[step["pledgee"]]
        due = from_timestamp(self.clock.now() + int(step["due_days"]) * DAY)
        self.tokens[step["id"]] = holder.pledge(source, step.get("amount"), lender.address, step["secured"], due)
        if "loan" in step:
            lender.send_cash(holder.address, step["loan"])
            now = self.clock.now()
            detail = f"loan from {self.name(lender.address)} against voucher {label(self.tokens[step['id']])}"
            self.report.payments.append(Payment(self.name(holder.address), "loan", to_minor(step["loan"]), now, detail))

    def _insure(self, step: dict[str, Any]) -> None:
        slot = self.slot_of(step["slot_of"])
        insurer, buyer = self.sessions[step["insurer"]], self.sessions[step["buyer"]]
        insurer.offer_cover(slot, step["cover"], step["premium"], step.get("order", "holders_first"), timedelta(days=1))
        held = [] if buyer.address == self.suite.voucher.slot(slot).debtor else [
            v.token_id for v in index_vouchers(self.suite.conn, self.suite.deployment).of_slot(slot, live_only=True)
            if v.owner == buyer.address
        ]
        premium = buyer.buy_cover(slot, held[0] if held else 0)
        self.report.payments.append(Payment(
            self.name(insurer.address), "premium", to_minor(premium, allow_zero=True), self.clock.now(),
            f"from {self.name(buyer.address)}, cover of {step['cover']} on slot {slot}",
        ))

    def _mark_overdue(self, step: dict[str, Any]) -> None:
        slot = self.slot_of(step["slot_of"])
        info = self.suite.voucher.slot(slot)
        if info.overdue_at:  # a resumed run: already recorded
            return
        self.clock.advance_to(self.suite.voucher.overdue_from(slot) + 1)
        self.session_of(info.creditor).mark_overdue(slot)

    def _claim(self, step: dict[str, Any]) -> None:
        slot = self.slot_of(step["slot_of"])
        policy = self.suite.credit.policy_of(slot)
        tx = self.session_of(policy.buyer).claim(slot)
        at = self.suite.conn.block_timestamp(tx.block_number)
        for event in tx.events(self.suite.credit.contract, "ClaimPaid"):
            self.report.payments.append(Payment(
                self.name(policy.insurer), "claim", int(event["args"]["paid"]), at, f"paid into slot {slot}",
            ))

    def _put_back(self, step: dict[str, Any]) -> None:
        token = self.tokens[step["voucher"]]
        _, tx = self.holder_of(token).put_back(token)
        at = self.suite.conn.block_timestamp(tx.block_number)
        (put,) = tx.events(self.suite.desk.contract, "RecourseExercised")
        financier, seller = self.name(put["args"]["financier"]), self.name(put["args"]["seller"])
        owed = int(put["args"]["owed"])
        self.report.payments.append(Payment(
            seller, "put back", owed, at, f"voucher {label(token)} back from {financier}: owed to it",
        ))
        for event in tx.events(self.suite.desk.contract, "RecoursePaid"):
            a = event["args"]
            left = int(a["remaining"])
            self.report.payments.append(Payment(
                financier, "recourse", int(a["amount"]), at,
                f"from {seller}" + (f", {from_minor(left)} still owed" if left else ", settled"),
            ))

    def _write_off(self, step: dict[str, Any]) -> None:
        token = self.tokens[step["voucher"]]
        tx = self.holder_of(token).write_off(token)
        self._record_payouts(tx)

    def _record_payouts(self, tx: TxResult) -> None:
        """Who received what from a redemption: the ledger pays holders; what it paid the credit
        desk for a pledged voucher is passed on to the pledgee and the pledgor."""
        at = self.suite.conn.block_timestamp(tx.block_number)
        desk = self.suite.credit.address
        paid = [*tx.events(self.suite.voucher.contract, "VoucherRedeemed"),
                *tx.events(self.suite.voucher.contract, "VoucherPartlyPaid")]
        for event in sorted(paid, key=lambda e: e["logIndex"]):
            args = event["args"]
            if args["holder"] == desk:
                continue
            kind = "redemption" if event["event"] == "VoucherRedeemed" else "payout"
            amount = int(args["value"] if kind == "redemption" else args["amount"])
            self.report.payments.append(
                Payment(self.name(args["holder"]), kind, amount, at, f"voucher {label(int(args['tokenId']))}")
            )
        for event in tx.events(self.suite.voucher.contract, "VoucherWrittenOff"):
            args = event["args"]
            self.report.payments.append(Payment(
                self.name(args["holder"]), "write-off", int(args["paid"]), at,
                f"voucher {label(int(args['tokenId']))}: {from_minor(int(args['writtenOff']))} written off",
            ))
        for event in tx.events(self.suite.credit.contract, "PledgePayout"):
            args = event["args"]
            for who, amount in ((args["pledgee"], args["toPledgee"]), (args["pledgor"], args["toPledgor"])):
                if int(amount):
                    self.report.payments.append(Payment(
                        self.name(who), "pledge payout", int(amount), at,
                        f"pledged voucher {label(int(args['tokenId']))}",
                    ))

    def _redeem_all(self, step: dict[str, Any]) -> None:
        slot = self.slot_of(step["slot_of"])
        info = self.suite.voucher.slot(slot)
        self.clock.advance_to(info.maturity)
        ledger = index_vouchers(self.suite.conn, self.suite.deployment)
        self.report.lineage = self.lineage_rows(ledger)
        live = [x.token_id for x in ledger.of_slot(slot, live_only=True)]
        # Anyone may redeem; the slot's creditor triggers it here (its debtor may have failed).
        keeper = self.session_of(info.creditor)
        tx = keeper.redeem(live)
        self._record_payouts(tx)
        # What the ledger paid the credit desk for pledged vouchers is passed on, pledgee first.
        for token in live:
            pledge = self.suite.credit.pledge_of(token)
            if not pledge.exists:
                continue
            value = self.suite.voucher.voucher(token).value  # 0 once redeemed whole
            if pledge.nominal - value > pledge.distributed:
                self._record_payouts(keeper.collect_pledged(token))

    def name(self, address: str) -> str:
        return self.report.members.get(address, address)

    def lineage_rows(self, ledger: LedgerView | None = None) -> list[dict[str, Any]]:
        ledger = ledger or index_vouchers(self.suite.conn, self.suite.deployment)
        return [
            {"voucher": label(x.token_id), "holder": self.name(x.owner), "value": str(from_minor(x.value)),
             "depth": depth, "parent": label(x.parent) if x.parent else None}
            for x, depth in ledger.descendants(self.slots.values())
        ]


