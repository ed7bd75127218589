"""A busy ledger for the supervision view's test, seeded fast: several core enterprises with
credit lines issue 100 slots to their suppliers, which split them down three more tiers of
suppliers and financiers (over 1,000 vouchers); a financier discounts some through the desk,
the operator freezes a few, debtors fund some slots in part or in full, a few short slots
mature and are redeemed, one is marked overdue, and a few issuances are left unaccepted.

Transactions go out in bulk (``Connection.transact_many``, fixed gas, nothing estimated), one
batch per step in which no transaction depends on another sender's in the same batch, and anvil
mines many to a block meanwhile (``mined_in_bulk``): about 1,500 transactions in 15 to 20 s on
two cores. What was made is returned as a ``Ledger`` for the test to check the view against
(with the chain).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3

from scf.chain.devnet import increase_time, set_balance
from scf.chain.sending import TxResult
from scf.contracts import DocType, Role, token_id
from scf.contracts.voucher import SPLIT_TRANSFER
from scf.money import DAY
from scf.suite import Suite
from scf.typed_data import DiscountOffer
from tests.support import CNY, ETHER, GRACE, member_key

# A firm that chose markup for its name: the view must show it as these characters.
HOSTILE_DEBTOR = "<img src=x onerror=window.__pwned=1>"
HOSTILE_HOLDER = '</text><script>window.__pwned=2</script><svg onload="window.__pwned=3"> Ltd'

DEBTORS = ("Yangtze Medical Group", "Pearl River Motors", "Northern Grid Equipment", HOSTILE_DEBTOR)
CREDIT_LINES = (24_000_000 * CNY, 20_000_000 * CNY, 30_000_000 * CNY, 18_000_000 * CNY)  # each issues ~16M
CUT_LINE = 9_000_000 * CNY  # the last debtor's line once cut (it still owes about 8.4M)
SUPPLIERS = (
    "Huaxin Components", "Lotus Precision", "Jade Logistics", "Sunrise Plastics", "Everbright Cables",
    "Golden Bridge Metals", "Harbour Packaging", "Silkroad Textiles", "Orchid Chemicals", HOSTILE_HOLDER,
)
FINANCIERS = ("Yangtze River Bank", "Harbour Factoring")
SLOTS = 100
SHORT = 8  # slots due within days: funded and redeemed after the clock moves, or left overdue
GAS = 600_000  # per transaction; nothing is estimated in a batch


@dataclass
class Ledger:
    """What the seeding made, by who did it: the test's independent expectations."""

    suite: Suite
    operator: LocalAccount
    debtors: list[LocalAccount]
    suppliers: list[LocalAccount]
    financiers: list[LocalAccount]
    names: dict[str, str]  # address -> name as admitted
    slots: list[int] = field(default_factory=list)
    debtor_of: dict[int, str] = field(default_factory=dict)  # slot -> debtor address
    face_of: dict[int, int] = field(default_factory=dict)
    maturity_of: dict[int, int] = field(default_factory=dict)
    unaccepted: list[int] = field(default_factory=list)
    vouchers: dict[int, list[int]] = field(default_factory=dict)  # slot -> every token ever made
    frozen: list[int] = field(default_factory=list)
    redeemed: list[int] = field(default_factory=list)  # paid in full and burned
    written_off: int = 0  # the voucher of the overdue slot its holder gave up
    discounted: list[int] = field(default_factory=list)  # the financier's new vouchers
    overdue: int = 0
    wash: int = 0  # the voucher whose value went back to a holder it came through
    seconds: float = 0.0

    @property
    def voucher_count(self) -> int:
        return sum(len(tokens) for tokens in self.vouchers.values())


@contextmanager
def mined_in_bulk(w3: Web3, every: float = 0.02) -> Iterator[None]:
    """anvil mines one block per transaction by default, about 75 a second here whatever the
    client (TOOLCHAIN.md). Meanwhile automine is off and a thread mines whatever is pending
    every ``every`` seconds, as many transactions a block as its gas limit takes; automine is
    back on at the end, whatever happened."""
    miner = Web3(Web3.HTTPProvider(w3.provider.endpoint_uri))  # type: ignore[attr-defined]
    stop = threading.Event()

    def mine() -> None:
        while not stop.wait(every):
            pending = int(miner.provider.make_request("txpool_status", [])["result"]["pending"], 16)
            if pending:
                miner.provider.make_request("evm_mine", [])

    w3.provider.make_request("evm_setAutomine", [False])
    thread = threading.Thread(target=mine, name="book-miner", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        w3.provider.make_request("evm_setAutomine", [True])


def _signer(name: str) -> LocalAccount:
    return member_key(f"book {name}")


def _events(results: Sequence[TxResult], contract: Any, name: str) -> list[dict[str, Any]]:
    return [dict(e["args"]) for r in results for e in r.events(contract, name)]


def seed_book(suite: Suite, operator: LocalAccount, *, log: Callable[[str], None] = lambda _m: None) -> Ledger:
    """Seeds the ledger described above on a fresh suite (anvil: gas money by
    ``anvil_setBalance``, the clock moved by ``evm_increaseTime``, blocks mined in bulk)."""
    started = time.perf_counter()
    with mined_in_bulk(suite.conn.w3):
        book = _seed(suite, operator, log)
    book.seconds = time.perf_counter() - started
    log(f"book: {book.voucher_count} vouchers over {len(book.slots)} slots in {book.seconds:.1f} s")
    return book


def _seed(suite: Suite, operator: LocalAccount, log: Callable[[str], None]) -> Ledger:
    conn, w3 = suite.conn, suite.conn.w3
    v, trade, desk = suite.voucher, suite.trade, suite.desk
    debtors = [_signer(f"debtor {i}") for i in range(len(DEBTORS))]
    suppliers = [_signer(f"supplier {i}") for i in range(len(SUPPLIERS))]
    financiers = [_signer(f"financier {i}") for i in range(len(FINANCIERS))]
    everyone = debtors + suppliers + financiers
    names = {a.address: n for a, n in zip(everyone, DEBTORS + SUPPLIERS + FINANCIERS, strict=True)}
    book = Ledger(suite, operator, debtors, suppliers, financiers, names)

    def bulk(calls: list[tuple[LocalAccount, Any]], what: str) -> list[TxResult]:
        log(f"book: {what} ({len(calls)} transactions)")
        return conn.transact_many(calls, gas=GAS) if calls else []

    for account in everyone:
        set_balance(w3, account.address, 100 * ETHER)
    kyc = keccak(text="book kyc")
    admissions = [
        (operator, suite.registry.fn("admit", d.address, n, int(Role.CORE_ENTERPRISE), kyc, line))
        for d, n, line in zip(debtors, DEBTORS, CREDIT_LINES, strict=True)
    ] + [
        (operator, suite.registry.fn("admit", s.address, n, int(Role.SUPPLIER), kyc, 0))
        for s, n in zip(suppliers, SUPPLIERS, strict=True)
    ] + [
        (operator, suite.registry.fn("admit", f.address, n, int(Role.FINANCIER), kyc, 0))
        for f, n in zip(financiers, FINANCIERS, strict=True)
    ] + [
        (operator, suite.token.fn("mint", a.address, 50_000_000 * CNY)) for a in debtors + financiers
    ]
    bulk(admissions, "admissions and opening cash")
    bulk(
        [(d, suite.token.fn("approve", v.address, 2**256 - 1)) for d in debtors]
        + [(f, suite.token.fn("approve", desk.address, 2**256 - 1)) for f in financiers],
        "approvals",
    )

    # 100 invoices, each from a first-tier supplier to a debtor; then each debtor confirms its
    # invoices and issues a slot on each (same sender: the nonce keeps the order).
    now = conn.block_timestamp()
    plans = []
    for i in range(SLOTS):
        debtor = debtors[i % len(debtors)]
        creditor = suppliers[i % len(suppliers)]
        face = (200_000 + 37_000 * (i % 23) + 1_250 * i) * CNY + (i * 17) % 100
        # Short slots first (due in 5 to 7 days), then the rest spread over 20 weeks.
        days = 5 + i % 3 if i < SHORT else 20 + (i * 53) % 140
        plans.append((debtor, creditor, face, now + days * DAY + 3_600 * (i % 7)))
    registered = bulk(
        [
            (c, trade.fn("register", int(DocType.INVOICE), keccak(text=f"book invoice {i}"), d.address, face, 0))
            for i, (d, c, face, _) in enumerate(plans)
        ],
        "invoices",
    )
    records = [int(e["recordId"]) for e in _events(registered, trade.contract, "DocumentRegistered")]
    issue_calls = []
    for (d, c, face, maturity), record in zip(plans, records, strict=True):
        issue_calls += [(d, trade.fn("confirm", record)), (d, v.fn("issue", c.address, face, maturity, record))]
    issued = _events(bulk(issue_calls, "confirmations and issuances"), v.contract, "VoucherIssued")
    creditor_of = {}
    for event, (d, c, face, maturity) in zip(issued, plans, strict=True):
        slot = int(event["slot"])
        book.slots.append(slot)
        book.debtor_of[slot], book.face_of[slot], book.maturity_of[slot] = d.address, face, maturity
        creditor_of[slot] = c
    book.unaccepted = book.slots[-2:]  # two issuances still wait for their creditor
    accepting = [s for s in book.slots if s not in book.unaccepted]
    bulk([(creditor_of[s], v.fn("accept", s)) for s in accepting], "acceptances")
    holder_of: dict[int, LocalAccount] = {}
    value_of: dict[int, int] = {}
    path_of: dict[int, set[str]] = {}  # the holders a voucher's value came through
    for s in book.slots:
        book.vouchers[s] = []
    for s in accepting:
        root = token_id(s, 1)
        book.vouchers[s].append(root)
        holder_of[root] = creditor_of[s]
        value_of[root] = book.face_of[s]
        path_of[root] = {creditor_of[s].address}

    # The tiers: each slot's root goes in 5 parts to tier 2 (6 in every 25th slot: split more
    # than 5 times in a day, which the risk watch's velocity rule flags), the first three tier-2
    # vouchers pass parts on to tier 3 (two, one and one), and the first tier-3 one to tier 4.
    # Value never goes back to a holder it came through, but once (a wash trade, below).
    holders = suppliers + financiers[1:]  # the second financier buys outright, too

    def others(exclude: set[str], k: int, seed: int) -> list[LocalAccount]:
        picked = []
        for j in range(len(holders)):
            candidate = holders[(seed + 3 * j) % len(holders)]
            if candidate.address not in exclude and candidate not in picked:
                picked.append(candidate)
            if len(picked) == k:
                break
        return picked

    def splits(parents: list[tuple[int, int]], what: str) -> dict[int, list[int]]:
        """(parent token, pieces) -> each parent's new tokens, split to other holders."""
        calls, owners = [], []
        for n, (parent, pieces) in enumerate(parents):
            s = parent >> 32
            holder = holder_of[parent]
            taken = path_of[parent] | {book.debtor_of[s]}
            for j, to in enumerate(others(taken, pieces, s * 7 + n)):
                # Parts of 1/6, 1/7, ... of the parent's value as it was, and some odd cents.
                value = value_of[parent] // (6 + j) + 37 * j
                value_of[parent] -= value
                calls.append((holder, v.fn(SPLIT_TRANSFER, parent, to.address, value)))
                owners.append((parent, to, value))
        made: dict[int, list[int]] = {}
        moved = _events(bulk(calls, what), v.contract, "TransferValue")
        minted = [e for e in moved if e["_fromTokenId"] != 0 and e["_toTokenId"] != 0]
        for event, (parent, to, value) in zip(minted, owners, strict=True):
            assert (event["_fromTokenId"], event["_value"]) == (parent, value), (event, parent, value)
            child = int(event["_toTokenId"])
            made.setdefault(parent, []).append(child)
            holder_of[child], value_of[child] = to, value
            path_of[child] = path_of[parent] | {to.address}
            book.vouchers[parent >> 32].append(child)
        return made

    tier2 = splits([(token_id(s, 1), 6 if s % 25 == 0 else 5) for s in accepting], "tier-2 splits")
    firsts = [kids[:3] for kids in tier2.values()]
    tier3 = splits([(k, max(1, 2 - n)) for three in firsts for n, k in enumerate(three)], "tier-3 splits")
    splits([(kids[0], 1) for kids in tier3.values() if len(kids) > 1], "tier-4 splits")
    # The wash trade: in the first long slot, a tier-3 holder sends 1,000.00 back to the
    # supplier the slot was issued to, three hops up its voucher's path.
    washed = tier3[tier2[token_id(book.slots[SHORT], 1)][0]][0]
    book.wash = v.split_transfer(holder_of[washed], washed, creditor_of[book.slots[SHORT]].address, 1_000 * CNY)[0]
    book.vouchers[book.slots[SHORT]].append(book.wash)

    # The bank (first financier) discounts half of a tier-2 voucher held by a supplier, the
    # seller its offer names, in up to ten long slots, at 4.2 % to 6.0 % a year.
    bank = financiers[0]
    deadline = conn.block_timestamp() + 30 * DAY
    offers = []
    for n, s in enumerate([s for s in accepting if s >= book.slots[SHORT]][:10]):
        token = tier2[token_id(s, 1)][-1]
        seller = holder_of[token]
        if seller.address in {f.address for f in financiers}:
            continue
        offer = DiscountOffer(token, value_of[token] // 2, 420 + 20 * n, deadline, n + 1, bank.address,
                              seller.address)
        offers.append((seller, desk.fn("discount", offer.as_tuple(), desk.sign(bank.key, offer))))
    executed = _events(bulk(offers, "discounts through the desk"), desk.contract, "OfferExecuted")
    for event in executed:
        made = int(event["financierTokenId"])
        book.discounted.append(made)
        book.vouchers[made >> 32].append(made)
        holder_of[made] = bank

    # The operator freezes five tier-3 vouchers of long slots (a court's order, say).
    long_tier3 = [kids[-1] for parent, kids in tier3.items() if (parent >> 32) >= book.slots[SHORT]]
    book.frozen = long_tier3[:5]
    bulk([(operator, v.fn("freeze", t, keccak(text=f"court order {t}"))) for t in book.frozen], "freezes")

    # Funding: the short slots in full but the last (it will go overdue), every third long
    # slot in full, every other in part.
    short = book.slots[:SHORT]
    book.overdue = short[-1]
    funding = []
    for s in accepting:
        debtor = next(d for d in debtors if d.address == book.debtor_of[s])
        face = book.face_of[s]
        if s in short:
            amount = face if s != book.overdue else face * 2 // 5
        elif s % 3 == 0:
            amount = face
        elif s % 2 == 0:
            amount = face * (s % 5 + 1) // 10
        else:
            continue
        funding.append((debtor, v.fn("fund", s, amount)))
    bulk(funding, "funding")
    # The bank cuts the markup-named debtor's line below what it owes (the risk watch flags a
    # debtor above 80 % of its line).
    suite.registry.set_credit_limit(operator, debtors[-1].address, CUT_LINE)

    # The clock passes the short slots' maturity and grace: their holders are paid through the
    # keeper (in one batch) but for one voucher of the first short slot, frozen just before
    # (the keeper skips it); the slot funded in part is marked overdue, its root holder takes
    # its pro-rata share and a tier-2 holder writes the rest of its voucher off.
    held_back = tier3[tier2[token_id(short[0], 1)][0]][0]
    v.freeze(operator, held_back, keccak(text="a court order before payment"))
    book.frozen.append(held_back)
    increase_time(w3, max(book.maturity_of[s] for s in short) + GRACE + 60 - conn.block_timestamp())
    assert conn.block_timestamp() < min(book.maturity_of[s] for s in book.slots[SHORT:]), "travelled too far"
    due = [t for s in short[:-1] for t in book.vouchers[s]]
    log(f"book: redeeming {len(due)} vouchers through the keeper")
    batch = suite.keeper.redeem_batch(operator, due, gas=len(due) * 120_000 + 100_000)
    frozen_selector = keccak(text="VoucherFrozen(uint256)")[:4]
    assert suite.keeper.skipped(batch) == [(held_back, frozen_selector)], suite.keeper.skipped(batch)
    book.redeemed = [t for t in due if t != held_back]
    v.mark_overdue(operator, book.overdue)
    suite.keeper.redeem_batch(operator, [token_id(book.overdue, 1)])
    book.written_off = tier2[token_id(book.overdue, 1)][-1]
    v.write_off(holder_of[book.written_off], book.written_off)
    return book
