"""The load test: many members at once (issue 15).

``load_test`` drives a consortium of ``members`` firms through the voucher's whole life at the
same time. Each member has its own key, its own thread and its own connection (its own HTTP
session) to the node, and sends through the package's clients, that is through
``Connection.transact``: nonce and fees read, gas estimated, signed locally, sent, receipt
awaited. A tenth of the members are core enterprises, a tenth financiers, the rest suppliers.

- trade (timed): each supplier registers ``rounds`` invoices with its core enterprise, which
  confirms each and issues a voucher against it; the supplier accepts the voucher,
  split-transfers a part to another supplier and sells another part to a financier at the
  discount desk, with an offer the financier signs when asked;
- the chain's clock is moved past maturity (not timed);
- settlement (timed): each core enterprise funds its slots in full, one by one, telling the
  holders of each slot's vouchers as it goes; each holder (the seller, the supplier a part
  was passed to, the financier) redeems its voucher as soon as it is told.

Each member sends one operation at a time and waits for its receipt, as the domain layer
does, so it has at most one operation in each block: the chain sees at most as many
operations a block as there are members with work to do.

It reports throughput (operations a second in each timed phase and over both) and the
latency of each kind of operation, from just before the client call (which reads the nonce
and fees and estimates the gas before it signs) to the receipt. Then it checks that nothing
was lost or done twice: every operation sent has exactly one event of its kind on chain, with
the arguments sent, and no event of the run's blocks lacks a send; and that each member's
cash, each voucher's value and each slot's state are what the plan gives, with the discount
prices computed here from the desk's formula rather than read back.
"""

from __future__ import annotations

import math
import queue
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hexbytes import HexBytes
from web3 import HTTPProvider, Web3
from web3.types import RPCEndpoint, RPCResponse, TxReceipt

from bench.benchmarks import Bench
from scf.chain.connection import Connection
from scf.chain.devnet import increase_time, set_balance
from scf.chain.sending import TxResult
from scf.contracts import LEDGERS, DiscountDesk, DocType, ReceivableVoucher, Role, SlotStatus, TradeRegistry
from scf.money import DAY
from scf.typed_data import DiscountOffer

Log = Callable[[str], None]
T = TypeVar("T")

KINDS = ("register", "confirm", "issue", "accept", "split_transfer", "discount", "fund", "redeem")
PHASES = {"trade": KINDS[:6], "settlement": ("fund", "redeem")}
# The events each kind of operation emits exactly once, and that nothing else in the run emits:
# the first carries the arguments the sender recorded. TransferValue is told apart by its ends
# (mint: from token 0, burn: to token 0, split: between two vouchers).
EMITS: dict[str, tuple[str, ...]] = {
    "register": ("TradeRegistry.DocumentRegistered",),
    "confirm": ("TradeRegistry.DocumentConfirmed",),
    "issue": ("ReceivableVoucher.VoucherIssued", "TradeRegistry.AmountReserved"),
    "accept": ("ReceivableVoucher.VoucherAccepted", "ReceivableVoucher.TransferValue:mint"),
    "split_transfer": ("ReceivableVoucher.TransferValue:split",),
    "discount": ("DiscountDesk.OfferExecuted", "ReceivableVoucher.TransferValue:split", "SettlementToken.Transfer"),
    "fund": ("ReceivableVoucher.SlotFunded", "ReceivableVoucher.CreditReleased", "SettlementToken.Transfer"),
    "redeem": ("ReceivableVoucher.VoucherRedeemed", "ReceivableVoucher.TransferValue:burn", "SettlementToken.Transfer"),
}
TENOR = 30 * DAY
YEAR_BASIS = 360 * DAY * 10_000  # DiscountDesk.YEAR_BASIS: a 360-day year, rates in basis points
WAIT = 600.0  # seconds a member waits for an answer or for the others before giving up
GAS_MONEY = 10**21


class LoadTestFailed(AssertionError):
    """A member failed during the run, or the chain does not show what the members did."""


# ---------------------------------------------------------------------- plan


@dataclass
class Trade:
    """One voucher of the plan. The supplier's thread fills in what the chain answered."""

    seller: str
    debtor: str
    peer: str  # the supplier a part is split-transferred to
    financier: str
    face: int
    part: int
    sold: int
    rate_bps: int
    invoice: bytes
    record: int = 0
    slot: int = 0
    root: int = 0
    part_token: int = 0
    sold_token: int = 0
    price: int = 0
    discount_block: int = 0

    @property
    def kept(self) -> int:
        """What the seller still holds of the root voucher at redemption."""
        return self.face - self.part - self.sold


@dataclass
class Plan:
    """Who is who, and the vouchers each supplier will sell."""

    cores: list[LocalAccount]
    financiers: list[LocalAccount]
    suppliers: list[LocalAccount]
    trades: list[Trade]  # round by round, supplier by supplier

    @property
    def accounts(self) -> list[tuple[LocalAccount, Role]]:
        return ([(a, Role.CORE_ENTERPRISE) for a in self.cores] + [(a, Role.FINANCIER) for a in self.financiers]
                + [(a, Role.SUPPLIER) for a in self.suppliers])

    def planned(self) -> Counter[str]:
        """Operations of each kind the run must send: one each per trade, three redemptions
        (the seller's rest, the peer's part, the financier's part)."""
        counts = Counter({kind: len(self.trades) for kind in KINDS})
        counts["redeem"] *= 3
        return counts


def make_plan(members: int, rounds: int) -> Plan:
    """Fresh keys ``keccak("load i")``; supplier i sells to core i mod cores, passes a part to
    another supplier and sells a part to a financier that changes with the round. Amounts are
    exact minor units that differ from trade to trade."""
    if members < 4 or rounds < 1:
        raise ValueError("a load test needs 4 members or more (a core enterprise, a financier, two suppliers) "
                         "and 1 round or more")
    accounts = [Account.from_key(keccak(text=f"load {i}")) for i in range(members)]
    n = max(1, members // 10)
    cores, financiers, suppliers = accounts[:n], accounts[n : 2 * n], accounts[2 * n :]
    trades = []
    for r in range(rounds):
        for i, supplier in enumerate(suppliers):
            face = 10_000_00 + 1_234 * ((7 * i + 13 * r) % 97)
            peer = suppliers[(i + 1 + r % (len(suppliers) - 1)) % len(suppliers)]
            trades.append(Trade(
                seller=supplier.address, debtor=cores[i % n].address, peer=peer.address,
                financier=financiers[(i + r) % n].address, face=face, part=face * 3 // 10, sold=face // 4,
                rate_bps=300 + 25 * ((i + r) % 9), invoice=keccak(text=f"load invoice {i} {r}"),
            ))
    return Plan(cores, financiers, suppliers, trades)


def discount_price(value: int, rate_bps: int, seconds_to_maturity: int) -> int:
    """The desk's price (``DiscountDesk.quote``): the discount is rounded up, so in the
    holder's disfavour by at most one unit."""
    discount = -(-value * rate_bps * seconds_to_maturity // YEAR_BASIS)  # integer division, rounded up
    return value - discount


# ------------------------------------------------------------------- members


class _CountingProvider(HTTPProvider):
    """web3's HTTP provider with its own session, counting the requests it makes by method."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.requests: Counter[str] = Counter()

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        self.requests[method] += 1
        return super().make_request(method, params)


class _TimedConnection(Connection):
    """A Connection that notes how long its last receipt took to arrive."""

    last_wait = 0.0

    def wait(self, tx_hash: HexBytes) -> TxReceipt:
        started = time.perf_counter()
        try:
            return super().wait(tx_hash)
        finally:
            self.last_wait = time.perf_counter() - started


@dataclass(frozen=True)
class Sent:
    """An operation a member sent and saw mined, and the arguments its event must carry."""

    kind: str
    tx_hash: bytes
    block: int
    gas: int
    seconds: float  # from just before the client call (nonce, fees, estimate, signing) to the receipt
    waited: float  # of which awaiting the receipt
    facts: dict[str, Any]


class _Stopped(Exception):
    """Another member failed: this one stops too."""


class _Run:
    """What the members' threads share: who is who, the barrier between the phases, when
    offers expire and vouchers mature, each slot's vouchers, and the failures."""

    def __init__(self, members: dict[str, Member], maturity: int, deadline: int) -> None:
        self.members = members
        self.maturity = maturity
        self.deadline = deadline
        self.barrier = threading.Barrier(len(members) + 1, timeout=WAIT)  # and the main thread
        self.stopped = threading.Event()
        self.errors: list[str] = []
        self.vouchers: dict[int, list[tuple[str, int, int]]] = {}  # slot -> (holder, token, value)
        self.redemptions: Counter[str] = Counter()  # holder -> vouchers it will redeem

    def sync(self) -> None:
        """Waits until every member (and the main thread) has finished the phase."""
        try:
            self.barrier.wait()
        except threading.BrokenBarrierError:
            raise _Stopped from None

    def take(self, inbox: queue.Queue[T]) -> T:
        """The next message of ``inbox``, unless the run stops first."""
        deadline = time.monotonic() + WAIT
        while not self.stopped.is_set():
            try:
                return inbox.get(timeout=0.2)
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no answer within {WAIT:.0f} s") from None
        raise _Stopped

    def fail(self, who: str, exc: BaseException) -> None:
        if not isinstance(exc, _Stopped):
            self.errors.append(f"{who}: {type(exc).__name__}: {exc}")
        self.stopped.set()
        self.barrier.abort()


class Member:
    """One firm: its key and role, its own connection to the node, the trades it takes part
    in, and what it sent."""

    def __init__(self, name: str, account: LocalAccount, role: Role, conn: Connection, bench: Bench) -> None:
        self.name = name
        self.account = account
        self.address = account.address
        self.role = role
        self.provider = _CountingProvider(conn.endpoint)
        self.conn = _TimedConnection(Web3(self.provider), conn.artifacts)
        self.trade_registry = TradeRegistry(self.conn, bench.suite.trade.address)
        self.voucher = ReceivableVoucher(self.conn, bench.suite.voucher.address)
        self.desk = DiscountDesk(self.conn, bench.suite.desk.address)
        self.trades: list[Trade] = []  # as seller, debtor or financier
        self.inbox: queue.Queue[Trade] = queue.Queue()  # a core's issue requests, a financier's offer requests
        self.slots: queue.Queue[tuple[int, int]] = queue.Queue()  # a supplier's (record, slot) issued
        self.payable: queue.Queue[tuple[int, int, int]] = queue.Queue()  # a holder's (token, slot, value) funded
        self.offers: queue.Queue[tuple[DiscountOffer, bytes]] = queue.Queue()  # a supplier's signed offers
        self.issued: list[tuple[int, int]] = []  # a core's (slot, face value)
        self.sent: list[Sent] = []

    def run(self, run: _Run) -> None:
        """The member's thread: the two timed phases, between barriers."""
        try:
            run.sync()
            if self.role == Role.CORE_ENTERPRISE:
                self._issue_on_request(run)
            elif self.role == Role.FINANCIER:
                self._sign_on_request(run)
            else:
                self._sell(run)
            run.sync()
            run.sync()  # the main thread has checked the vouchers and moved the clock past maturity
            if self.role == Role.CORE_ENTERPRISE:
                self._fund(run)
            for _ in range(run.redemptions[self.address]):
                token, slot, value = run.take(self.payable)
                started = time.perf_counter()
                tx = self.voucher.redeem(self.account, token)
                self._record("redeem", started, tx, tokenId=token, slot=slot, holder=self.address, value=value)
            run.sync()
        except Exception as exc:  # reported by the main thread, which stops the run
            run.fail(self.name, exc)

    def _sell(self, run: _Run) -> None:
        """A supplier: registers all its invoices (each goes to the core enterprise at once),
        then, as the vouchers are issued, accepts each, passes a part on and sells a part."""
        for trade in self.trades:
            started = time.perf_counter()
            trade.record, tx = self.trade_registry.register(
                self.account, DocType.INVOICE, trade.invoice, trade.debtor, trade.face
            )
            self._record("register", started, tx, recordId=trade.record, registrant=self.address,
                         counterparty=trade.debtor, amount=trade.face)
            run.members[trade.debtor].inbox.put(trade)
        for trade in self.trades:
            record, trade.slot = run.take(self.slots)
            if record != trade.record:
                raise RuntimeError(f"slot {trade.slot} was issued for record {record}, expected {trade.record}")
            started = time.perf_counter()
            trade.root, tx = self.voucher.accept(self.account, trade.slot)
            self._record("accept", started, tx, slot=trade.slot, tokenId=trade.root, creditor=self.address)
            started = time.perf_counter()
            trade.part_token, tx = self.voucher.split_transfer(self.account, trade.root, trade.peer, trade.part)
            self._record("split_transfer", started, tx,
                         _fromTokenId=trade.root, _toTokenId=trade.part_token, _value=trade.part)
            run.members[trade.financier].inbox.put(trade)
            offer, signature = run.take(self.offers)
            started = time.perf_counter()
            trade.sold_token, trade.price, tx = self.desk.discount(self.account, offer, signature)
            self._record("discount", started, tx, financier=trade.financier, holder=self.address,
                         fromTokenId=trade.root, financierTokenId=trade.sold_token, value=trade.sold,
                         rateBps=trade.rate_bps)
            trade.discount_block = tx.block_number

    def _issue_on_request(self, run: _Run) -> None:
        """A core enterprise: confirms each invoice registered with it and issues a voucher
        against it, in the order the requests arrive."""
        for _ in self.trades:
            trade = run.take(self.inbox)
            started = time.perf_counter()
            tx = self.trade_registry.confirm(self.account, trade.record)
            self._record("confirm", started, tx, recordId=trade.record, counterparty=self.address)
            started = time.perf_counter()
            slot, tx = self.voucher.issue(self.account, trade.seller, trade.face, run.maturity, trade.record)
            self._record("issue", started, tx, slot=slot, debtor=self.address, creditor=trade.seller,
                         faceValue=trade.face, maturity=run.maturity, tradeRecordId=trade.record)
            self.issued.append((slot, trade.face))
            run.members[trade.seller].slots.put((trade.record, slot))

    def _sign_on_request(self, run: _Run) -> None:
        """A financier: signs an offer for each part a supplier asks it to buy (off chain;
        the supplier submits it). Its nonces count up from 1."""
        for nonce, _ in enumerate(self.trades, start=1):
            trade = run.take(self.inbox)
            offer = DiscountOffer(trade.root, trade.sold, trade.rate_bps, run.deadline, nonce, self.address,
                                  trade.seller)
            run.members[trade.seller].offers.put((offer, self.desk.sign(self.account.key, offer)))

    def _fund(self, run: _Run) -> None:
        """A core enterprise: funds each slot it issued in full, then tells its holders."""
        for slot, face in self.issued:
            started = time.perf_counter()
            tx = self.voucher.fund(self.account, slot, face)
            self._record("fund", started, tx, slot=slot, payer=self.address, amount=face, funded=face,
                         faceValue=face)
            for holder, token, value in run.vouchers[slot]:
                run.members[holder].payable.put((token, slot, value))

    def _record(self, kind: str, started: float, tx: TxResult, **facts: Any) -> None:
        seconds = time.perf_counter() - started
        self.sent.append(Sent(kind, bytes(tx.tx_hash), tx.block_number, tx.gas_used, seconds,
                              self.conn.last_wait, facts))


# ------------------------------------------------------------------- the run


def load_test(
    conn: Connection, bench: Bench, *, members: int = 200, rounds: int = 2, log: Log = print
) -> dict[str, Any]:
    """Runs the load test on ``bench``'s suite (``conn`` is its connection, over HTTP) and
    returns its figures as plain JSON values. Setup (admission, cash, allowances, the
    members' connections) is not timed. Raises ``LoadTestFailed`` if a member failed or a
    check did not hold.

    Needs a development chain (anvil: gas money by ``anvil_setBalance``, the clock moved by
    ``evm_increaseTime``) on which the members' fixed keys are not members yet: a fresh
    chain, or a snapshot reverted after each run."""
    if not conn.endpoint.startswith("http"):
        raise ValueError(f"the load test opens one HTTP session per member; {conn.endpoint} is not an HTTP endpoint")
    plan = make_plan(members, rounds)
    log(f"load: {members} members ({len(plan.cores)} core enterprises, {len(plan.financiers)} financiers, "
        f"{len(plan.suppliers)} suppliers), {len(plan.trades)} vouchers; onboarding")
    _onboard(conn, bench, plan)
    crowd = _members(plan, conn, bench)
    now = conn.block_timestamp()
    run = _Run(crowd, maturity=now + TENOR, deadline=now + DAY)
    cash_before: dict[str, int] = {m.address: bench.suite.token.balance_of(m.address) for m in crowd.values()}
    ledger_cash_before = bench.suite.token.balance_of(bench.suite.voucher.address)
    first_block = conn.head()[0] + 1
    threads = [threading.Thread(target=m.run, args=(run,), name=m.name, daemon=True) for m in crowd.values()]
    for thread in threads:
        thread.start()

    checks = Checks()
    marks: dict[str, tuple[float, float]] = {}  # (wall clock, this process's CPU time over all threads)
    try:
        run.sync()
        marks["start"] = (time.perf_counter(), time.process_time())
        log(f"load: trading ({len(threads)} threads)")
        run.sync()
        marks["traded"] = (time.perf_counter(), time.process_time())
        log(f"load: traded in {marks['traded'][0] - marks['start'][0]:.1f} s; checking the vouchers, "
            "moving past maturity")
        run.vouchers = vouchers_by_slot(plan.trades)
        run.redemptions = Counter(holder for held in run.vouchers.values() for holder, _, _ in held)
        _check_vouchers(bench, plan.trades, checks)
        increase_time(conn.w3, run.maturity + 1 - conn.block_timestamp())
        run.sync()
        marks["settling"] = (time.perf_counter(), time.process_time())
        log("load: settling")
        run.sync()
        marks["settled"] = (time.perf_counter(), time.process_time())
        log(f"load: settled in {marks['settled'][0] - marks['settling'][0]:.1f} s; checking the chain")
    except _Stopped:
        pass
    except BaseException as exc:
        run.fail("main thread", exc)
        raise
    finally:
        given_up = time.monotonic() + WAIT
        for thread in threads:
            thread.join(timeout=max(0.0, given_up - time.monotonic()))
    if run.stopped.is_set():
        raise LoadTestFailed(f"{len(run.errors)} member(s) failed; first: " + "; ".join(run.errors[:3]))

    last_block = conn.head()[0]
    sent = [s for m in crowd.values() for s in m.sent]
    blocks = _blocks(conn, first_block, last_block)
    _check_plan(plan, sent, checks)
    _check_events(conn, bench, sent, first_block, last_block, checks)
    _check_prices(plan.trades, blocks, run.maturity, checks)
    _check_settled(bench, plan, cash_before, ledger_cash_before, checks)
    checks.raise_if_failed()
    return _report(plan, rounds, crowd, sent, marks, blocks, first_block, last_block, checks)


def _onboard(conn: Connection, bench: Bench, plan: Plan) -> None:
    """Gas money, admission (a core enterprise's credit limit is what it will issue), cash
    (what a core will fund, what a financier will pay at most) and allowances. Not timed."""
    registry, token = bench.suite.registry, bench.suite.token
    cash: Counter[str] = Counter()
    for trade in plan.trades:
        cash[trade.debtor] += trade.face
        cash[trade.financier] += trade.sold
    for account, _ in plan.accounts:
        set_balance(conn.w3, account.address, GAS_MONEY)
    conn.transact_many([
        (bench.operator, registry.fn("admit", a.address, f"Load {role.names()[0]} {i:03d}", int(role),
                                     keccak(text=a.address), cash[a.address] if role == Role.CORE_ENTERPRISE else 0))
        for i, (a, role) in enumerate(plan.accounts)
    ])
    conn.transact_many([(bench.operator, token.fn("mint", address, amount)) for address, amount in cash.items()])
    maximum = 2**256 - 1
    conn.transact_many(
        [(core, token.fn("approve", bench.suite.voucher.address, maximum)) for core in plan.cores]
        + [(financier, token.fn("approve", bench.suite.desk.address, maximum)) for financier in plan.financiers]
    )


def _members(plan: Plan, conn: Connection, bench: Bench) -> dict[str, Member]:
    crowd: dict[str, Member] = {}
    for i, (account, role) in enumerate(plan.accounts):
        crowd[account.address] = Member(f"{role.names()[0]} {i}", account, role, conn, bench)
    for trade in plan.trades:
        for party in (trade.seller, trade.debtor, trade.financier):
            crowd[party].trades.append(trade)
    return crowd


def vouchers_by_slot(trades: Iterable[Trade]) -> dict[int, list[tuple[str, int, int]]]:
    """Each slot's vouchers after the trade phase: (holder, token, value)."""
    return {t.slot: [(t.seller, t.root, t.kept), (t.peer, t.part_token, t.part), (t.financier, t.sold_token, t.sold)]
            for t in trades}


def _blocks(conn: Connection, first: int, last: int) -> dict[int, dict[str, int]]:
    blocks = {}
    for number in range(first, last + 1):
        block = conn.read(partial(conn.w3.eth.get_block, number))
        blocks[number] = {"timestamp": int(block["timestamp"]), "gas_used": int(block["gasUsed"]),
                          "gas_limit": int(block["gasLimit"]), "transactions": len(block["transactions"])}
    return blocks


# -------------------------------------------------------------------- checks


class Checks:
    """How many times each check held, and what failed."""

    def __init__(self) -> None:
        self.passed: Counter[str] = Counter()
        self.failures: list[str] = []

    def expect(self, name: str, holds: bool, failure: str) -> None:
        if holds:
            self.passed[name] += 1
        else:
            self.failures.append(f"{name}: {failure}")

    def raise_if_failed(self) -> None:
        if self.failures:
            shown = "\n  ".join(self.failures[:10])
            more = f"\n  ... and {len(self.failures) - 10} more" if len(self.failures) > 10 else ""
            raise LoadTestFailed(f"{len(self.failures)} check(s) failed:\n  {shown}{more}")


def _check_plan(plan: Plan, sent: list[Sent], checks: Checks) -> None:
    """Every planned operation was sent and mined, and no transaction twice."""
    done = Counter(s.kind for s in sent)
    for kind, planned in plan.planned().items():
        checks.expect("operations as planned", done[kind] == planned, f"{kind}: {done[kind]} of {planned}")
    for tx_hash, times in Counter(s.tx_hash for s in sent).items():
        checks.expect("transaction sent once", times == 1, f"0x{tx_hash.hex()} {times} times")


def _event_key(contract: str, event: Any) -> str:
    key = f"{contract}.{event['event']}"
    if event["event"] == "TransferValue":
        args = event["args"]
        key += ":mint" if args["_fromTokenId"] == 0 else ":burn" if args["_toTokenId"] == 0 else ":split"
    return key


def _check_events(conn: Connection, bench: Bench, sent: list[Sent], first: int, last: int, checks: Checks) -> None:
    """Each kind's events once per send of the kinds that emit them and never otherwise; the
    first of a send's events carries what it sent; every log of the suite in the run's blocks
    comes from a transaction a member sent."""
    suite = bench.suite
    clients = {"TradeRegistry": suite.trade, "ReceivableVoucher": suite.voucher, "DiscountDesk": suite.desk,
               "SettlementToken": suite.token}
    seen: dict[str, Counter[bytes]] = {}
    found: dict[tuple[str, bytes], Any] = {}
    for contract, name in sorted({tuple(k.split(":")[0].split(".")) for keys in EMITS.values() for k in keys}):
        logs = conn.read(partial(getattr(clients[contract].contract.events, name)().get_logs,
                                 from_block=first, to_block=last))
        for log in logs:
            key, tx_hash = _event_key(contract, log), bytes(log["transactionHash"])
            seen.setdefault(key, Counter())[tx_hash] += 1
            found[(key, tx_hash)] = log
    expected: dict[str, set[bytes]] = {}
    for s in sent:
        for key in EMITS[s.kind]:
            expected.setdefault(key, set()).add(s.tx_hash)
    for key, hashes in expected.items():
        on_chain = seen.get(key, Counter())
        for tx_hash in hashes:
            checks.expect("event once per send", on_chain[tx_hash] == 1,
                          f"{key} {on_chain[tx_hash]} times in 0x{tx_hash.hex()}")
        for tx_hash in on_chain:
            checks.expect("event from a send", tx_hash in hashes, f"{key} in 0x{tx_hash.hex()}")
    for s in sent:
        key = EMITS[s.kind][0]
        args = found[(key, s.tx_hash)]["args"] if (key, s.tx_hash) in found else {}
        wrong = {k: (v, args.get(k)) for k, v in s.facts.items() if args.get(k) != v}
        checks.expect("event carries what was sent", not wrong,
                      f"{key} in 0x{s.tx_hash.hex()}: (sent, on chain) {wrong}")
    ours = {s.tx_hash for s in sent}
    for name in LEDGERS:
        if name not in suite.deployment.contracts:
            continue
        address = Web3.to_checksum_address(suite.deployment.address(name))
        logs = conn.read(partial(conn.w3.eth.get_logs, {"fromBlock": first, "toBlock": last, "address": address}))
        for log in logs:
            tx_hash = bytes(log["transactionHash"])
            checks.expect("suite log from a send", tx_hash in ours, f"a {name} log in 0x{tx_hash.hex()}")


def _check_vouchers(bench: Bench, trades: list[Trade], checks: Checks) -> None:
    """After trading: each voucher's holder and value; each slot accepted, for its face value,
    not funded yet."""
    voucher = bench.suite.voucher
    for held in vouchers_by_slot(trades).values():
        for holder, token, value in held:
            info = voucher.voucher(token)
            checks.expect("voucher holder and value", (info.owner, info.value) == (holder, value),
                          f"{token}: {info.owner} holds {info.value}, expected {holder} {value}")
    for t in trades:
        s = voucher.slot(t.slot)
        checks.expect("slot accepted", (s.status, s.face_value, s.funded) == (SlotStatus.ACCEPTED, t.face, 0),
                      f"slot {t.slot}: {s.status.name}, face {s.face_value} (expected {t.face}), funded {s.funded}")


def _check_prices(trades: list[Trade], blocks: dict[int, dict[str, int]], maturity: int, checks: Checks) -> None:
    """Each discount paid the price computed here from the block's time and the offer's terms."""
    for t in trades:
        price = discount_price(t.sold, t.rate_bps, maturity - blocks[t.discount_block]["timestamp"])
        checks.expect("discount price", t.price == price, f"{t.sold_token}: paid {t.price}, expected {price}")


def _check_settled(bench: Bench, plan: Plan, cash_before: dict[str, int], ledger_before: int, checks: Checks) -> None:
    """After redemption: every slot settled and every voucher burned; each member's cash
    moved by what its trades give (a core: minus its faces; a supplier: plus its prices, its
    rests and the parts passed to it; a financier: minus the prices, plus the parts it
    bought); the ledger holds the cash it held before."""
    voucher, token = bench.suite.voucher, bench.suite.token
    moved: Counter[str] = Counter()
    for t in plan.trades:
        moved[t.debtor] -= t.face
        moved[t.seller] += t.price + t.kept
        moved[t.peer] += t.part
        moved[t.financier] += t.sold - t.price
        s = voucher.slot(t.slot)
        checks.expect("slot settled", (s.status, s.redeemed) == (SlotStatus.SETTLED, t.face),
                      f"slot {t.slot}: {s.status.name}, redeemed {s.redeemed} of {s.face_value}")
        for tok in (t.root, t.part_token, t.sold_token):
            checks.expect("voucher burned", not voucher.voucher(tok).exists, f"{tok} still exists")
    for address, before in cash_before.items():
        after = token.balance_of(address)
        checks.expect("member cash", after == before + moved[address],
                      f"{address}: {before} -> {after}, expected {before + moved[address]}")
    after = token.balance_of(voucher.address)
    checks.expect("ledger cash", after == ledger_before, f"{ledger_before} -> {after}")


# -------------------------------------------------------------------- report


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least ``share`` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _latency(values: list[float]) -> dict[str, float]:
    return {"p50": round(statistics.median(values) * 1000, 1), "p95": round(percentile(values, 0.95) * 1000, 1)}


def _report(
    plan: Plan, rounds: int, crowd: dict[str, Member], sent: list[Sent], marks: dict[str, tuple[float, float]],
    blocks: dict[int, dict[str, int]], first: int, last: int, checks: Checks,
) -> dict[str, Any]:
    by_kind = Counter(s.kind for s in sent)
    spans = {"trade": ("start", "traded"), "settlement": ("settling", "settled")}
    phases = {}
    for phase, (begin, end) in spans.items():
        seconds, cpu = (marks[end][i] - marks[begin][i] for i in (0, 1))
        operations = sum(by_kind[k] for k in PHASES[phase])
        phases[phase] = {"operations": operations, "seconds": round(seconds, 2),
                         "ops_per_s": round(operations / seconds, 1), "client_cpu_s": round(cpu, 2)}
    seconds = sum(p["seconds"] for p in phases.values())
    cpu = sum(p["client_cpu_s"] for p in phases.values())
    requests: Counter[str] = Counter()
    for member in crowd.values():
        requests.update(member.provider.requests)
    used = {s.block for s in sent}
    ours = [b for n, b in blocks.items() if n in used]
    return {
        "members": len(crowd),
        "roles": {
            "core_enterprise": len(plan.cores), "financier": len(plan.financiers), "supplier": len(plan.suppliers)
        },
        "rounds": rounds,
        "operations": {k: by_kind[k] for k in KINDS},
        "operations_total": len(sent),
        "seconds": round(seconds, 2),
        "ops_per_s": round(len(sent) / seconds, 1),
        "phases": phases,
        "latency_ms": {k: _latency([s.seconds for s in sent if s.kind == k]) for k in KINDS}
        | {"all": _latency([s.seconds for s in sent])},
        "receipt_wait_ms": _latency([s.waited for s in sent]),
        "receipt_wait_share": round(sum(s.waited for s in sent) / sum(s.seconds for s in sent), 3),
        # This process's CPU time (every member's thread) per operation, and per second of the phases.
        "client_cpu_ms_per_operation": round(cpu * 1000 / len(sent), 1),
        "client_cpu_load": round(cpu / seconds, 2),
        "rpc_requests_per_operation": {m: round(n / len(sent), 2) for m, n in requests.most_common()},
        "chain": {
            "blocks": last - first + 1,
            "blocks_with_operations": len(ours),
            "gas_used": sum(s.gas for s in sent),
            "gas_limit": max(b["gas_limit"] for b in blocks.values()),
            "busiest_block_gas": max(b["gas_used"] for b in blocks.values()),
            "busiest_block_transactions": max(b["transactions"] for b in blocks.values()),
            "mean_fill_of_blocks_with_operations": round(
                sum(b["gas_used"] for b in ours) / sum(b["gas_limit"] for b in ours), 3
            ),
        },
        "checks": dict(sorted(checks.passed.items())),
    }
