"""Faults: the node killed in the middle of a scenario and of seeding, an RPC endpoint that
drops, stalls or refuses requests, and a batch with a failing item. Re-running finishes the
work without a second member, issuance or payment; reads are retried, writes never re-sent.

The scenario and seeding tests run on their own anvil (tests/nodes.py), killed with SIGTERM:
it writes its chain to disk and a restart continues it, as a permissioned node that persists
every block. Its unmined pool is lost."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import HTTPProvider, Web3

from scf.chain import BatchError, Connection, RpcError, batch
from scf.chain.devnet import set_balance
from scf.chain.journal import Journal
from scf.chain.sending import calldata
from scf.contracts import MemberStatus, Role
from scf.contracts.base import ZERO_ADDRESS
from scf.deploy import deploy_suite
from scf.manifest import load
from scf.scenario import journal_path, load_scenario
from scf.seed import SpecError, load_consortium, seed_members
from scf.suite import Suite
from scf.wallet import dev_key
from tests.nodes import AnvilNode, CountingProvider, FlakyProxy, KillSwitch, with_timeout
from tests.support import STORY, mined_refusal, play_story

# What the story does before its steps: deploying the suite, seeding its members.
SETTING_UP = ("deploying", "seeding")


def _logs(suite: Suite, client, event: str) -> list[dict]:
    """Every ``event`` the contract ever emitted, decoded."""
    return [dict(e["args"]) for e in getattr(client.contract.events, event)().get_logs(from_block=0)]


def _on_chain_effects(suite: Suite) -> dict[str, Counter]:
    """What the story did, as the chain records it: counted, so a duplicate shows."""
    return {
        "admitted": Counter(e["account"] for e in _logs(suite, suite.registry, "MemberAdmitted")),
        "minted": Counter(
            (e["to"], e["value"]) for e in _logs(suite, suite.token, "Transfer") if e["from"] == ZERO_ADDRESS
        ),
        "documents": Counter(e["recordId"] for e in _logs(suite, suite.trade, "DocumentRegistered")),
        "confirmed": Counter(e["recordId"] for e in _logs(suite, suite.trade, "DocumentConfirmed")),
        "issued": Counter(e["slot"] for e in _logs(suite, suite.voucher, "VoucherIssued")),
        "accepted": Counter(e["slot"] for e in _logs(suite, suite.voucher, "VoucherAccepted")),
        "discounted": Counter(
            (e["fromTokenId"], e["value"], e["rateBps"]) for e in _logs(suite, suite.desk, "OfferExecuted")
        ),
        "funded": Counter(e["amount"] for e in _logs(suite, suite.voucher, "SlotFunded")),
        "redeemed": Counter(e["tokenId"] for e in _logs(suite, suite.voucher, "VoucherRedeemed")),
    }


def _story_outcome(report) -> dict:
    """The report's account of who holds and who was paid what (times and gas aside)."""
    data = report.to_json()
    return {
        "lineage": data["lineage"],
        "payments": sorted((p["member"], p["kind"], p["amount"], p["detail"]) for p in data["payments"]),
        "financing": sorted((f["supplier"], f["value"], f["price"]) for f in data["financing"]),
        "cash": data["cash"],
    }


def kill_point(phases: list[str], doing, which: int | str) -> int:
    """Where to kill the node, chosen from what an uninterrupted run recorded (``phases``: the
    phase it was in at each transaction it broadcast, in order): the ordinal, as ``KillSwitch``
    counts broadcasts, of the ``which``-th transaction (an index, or ``"middle"``) among those
    sent while ``doing`` (a phase's prefix, or a test of the phase). Adding a step to the story
    moves the ordinal, never the phase."""
    in_phase = doing if callable(doing) else lambda phase: phase.startswith(doing)
    during = [n for n, phase in enumerate(phases, start=1) if in_phase(phase)]
    assert during, f"the uninterrupted run sent nothing while {doing}: its phases were {sorted(set(phases))}"
    return during[len(during) // 2] if which == "middle" else during[which]


def playing_a_step(phase: str) -> bool:
    return not phase.startswith(SETTING_UP)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The story played once without faults on a private node: what every resumed run must
    match, and the phase of each transaction it sends (where the kill points are chosen)."""
    node = AnvilNode(tmp_path_factory.mktemp("reference-node")).start()
    try:
        provider = CountingProvider(node.url)
        conn = node.connect(provider)
        workdir = tmp_path_factory.mktemp("reference")
        manifest_dir = workdir / "deployments"
        report = play_story(conn, load_scenario(STORY), manifest_dir=manifest_dir,
                              progress=lambda _i, _n, what: setattr(provider, "phase", what))
        effects = _on_chain_effects(Suite.attach(conn, load(conn.chain_id, manifest_dir)))
        yield {"outcome": _story_outcome(report), "effects": effects, "phases": provider.phases}
    finally:
        node.stop()


KILL_POINTS = [
    # (what the story is doing, which of that phase's transactions, before or after the node mined it)
    pytest.param("deploying", 1, "after", id="deploying, a contract mined but its answer lost"),
    pytest.param("seeding", "middle", "before", id="seeding, an admission never reaching the node"),
    pytest.param("anchor", 0, "after", id="anchoring, the record mined and its confirmation not yet sent"),
    pytest.param("discount", -1, "before", id="discounting, the sale signed but never received"),
    pytest.param("discount", -1, "after", id="discounting a whole voucher, the sale mined but its answer lost"),
    pytest.param("redeem_all", -1, "after", id="redeeming, the batch mined but its answer lost"),
]


@pytest.mark.parametrize(("doing", "which", "when"), KILL_POINTS)
def test_a_scenario_whose_node_is_killed_finishes_on_rerun_without_paying_anyone_twice(
    uninterrupted, tmp_path, doing, which, when
):
    node = AnvilNode(tmp_path / "node").start()
    manifest_dir = tmp_path / "deployments"
    story = load_scenario(STORY)
    at = kill_point(uninterrupted["phases"], doing, which)
    try:
        switch = KillSwitch(node, at=at, when=when)
        phases: list[str] = []
        with pytest.raises((RpcError, BatchError)) as lost:  # seeding sends in bulk: a BatchError
            play_story(node.connect(switch), story, manifest_dir=manifest_dir,
                         progress=lambda _i, _n, what: phases.append(what))
        assert isinstance(getattr(lost.value, "cause", lost.value), RpcError)
        assert switch.fired and phases[-1].startswith(doing)

        node.start()  # the same chain, from disk
        conn = node.connect()
        resumed = play_story(conn, story, manifest_dir=manifest_dir)

        suite = Suite.attach(conn, load(conn.chain_id, manifest_dir))
        assert _on_chain_effects(suite) == uninterrupted["effects"]
        assert _story_outcome(resumed) == uninterrupted["outcome"]
        assert all(n == 1 for counter in _on_chain_effects(suite).values() for n in counter.values())
    finally:
        node.stop()


def test_a_finished_story_run_again_on_the_same_chain_plays_a_new_story_not_a_replay(tmp_path):
    node = AnvilNode(tmp_path / "node").start()
    manifest_dir = tmp_path / "deployments"
    story = load_scenario(STORY)
    try:
        conn = node.connect()
        first = play_story(conn, story, manifest_dir=manifest_dir)
        second = play_story(conn, story, manifest_dir=manifest_dir)
        suite = Suite.attach(conn, load(conn.chain_id, manifest_dir))
        effects = _on_chain_effects(suite)
        assert sum(effects["issued"].values()) == 2  # one issuance per run
        # Members admitted once, and the credit desk (a member: it holds pledges) at deployment.
        assert effects["admitted"].pop(suite.credit.address) == 1
        assert sum(effects["admitted"].values()) == len(story.members)
        assert [p.amount for p in first.payments if p.kind == "redemption"] == [
            p.amount for p in second.payments if p.kind == "redemption"
        ]
    finally:
        node.stop()


def test_a_journal_from_a_chain_that_is_gone_is_set_aside_and_the_story_starts_afresh(uninterrupted, tmp_path):
    manifest_dir = tmp_path / "deployments"
    story = load_scenario(STORY)
    node = AnvilNode(tmp_path / "node").start()
    try:
        # In the middle of the steps: the story's journal is open.
        switch = KillSwitch(node, at=kill_point(uninterrupted["phases"], playing_a_step, "middle"), when="after")
        killed_in: list[str] = []
        with pytest.raises(RpcError):
            play_story(node.connect(switch), story, manifest_dir=manifest_dir,
                       progress=lambda _i, _n, what: killed_in.append(what))
        assert switch.fired and playing_a_step(killed_in[-1])
        node.state.unlink()  # the chain itself is lost: a fresh devnet
        node.start()
        conn = node.connect()
        notes: list[str] = []
        report = play_story(conn, story, manifest_dir=manifest_dir,
                              progress=lambda _i, _n, what: notes.append(what))
        assert any("that is gone: starting afresh" in n for n in notes)
        assert journal_path(manifest_dir, conn.chain_id, story).with_suffix(".stale.json").exists()
        assert sum(p.amount for p in report.payments if p.kind == "redemption") == 1_000_000_00
    finally:
        node.stop()


# ------------------------------------------------------------------- seeding


def _consortium(tmp_path: Path, size: int) -> Path:
    (tmp_path / "kyc.txt").write_text("kyc evidence")
    members = [
        {"name": f"Supplier {i:03d}", "dev_key": f"fault seed {i}", "roles": ["supplier"], "kyc_file": "kyc.txt",
         "opening_balance": f"{1000 + i}.00"}
        for i in range(size)
    ]
    path = tmp_path / "consortium.yaml"
    path.write_text(yaml.safe_dump({"members": members}))
    return path


SEEDED = 12  # members: three admissions of four, then 12 deposits
PER_TX = 4


@pytest.fixture(scope="module")
def uninterrupted_seeding(tmp_path_factory) -> list[str]:
    """The phase of each transaction seeding ``SEEDED`` members sends, recorded on a private
    node without faults (where the seeding kill points are chosen)."""
    directory = tmp_path_factory.mktemp("reference-seeding")
    node = AnvilNode(directory / "node").start()
    try:
        suite, operator = _private_suite(node.connect(), directory)
        provider = CountingProvider(node.url)
        members = load_consortium(_consortium(directory, SEEDED), suite.conn.chain_id)
        seed_members(Suite.attach(node.connect(provider), suite.deployment), operator, members,
                     log=lambda what: setattr(provider, "phase", what), per_tx=PER_TX)
        return provider.phases
    finally:
        node.stop()


@pytest.mark.parametrize("when", ["before", "after"])
def test_seeding_whose_node_is_killed_admits_and_pays_each_member_once_on_rerun(uninterrupted_seeding, tmp_path, when):
    node = AnvilNode(tmp_path / "node").start()
    try:
        suite, operator = _private_suite(node.connect(), tmp_path)
        deployment = suite.deployment
        members = load_consortium(_consortium(tmp_path, SEEDED), suite.conn.chain_id)

        switch = KillSwitch(node, at=kill_point(uninterrupted_seeding, "admitting", "middle"), when=when)
        killed_in: list[str] = []
        with pytest.raises(BatchError) as lost:  # admissions go out in bulk (transact_many)
            seed_members(Suite.attach(node.connect(switch), deployment), operator, members, log=killed_in.append,
                         per_tx=PER_TX)
        assert isinstance(lost.value.cause, RpcError)
        assert switch.fired and killed_in[-1].startswith("admitting")

        node.start()
        suite = Suite.attach(node.connect(), deployment)
        seed_members(suite, operator, members, per_tx=PER_TX)
        assert seed_members(suite, operator, members) == {}  # a third run has nothing to do

        effects = _on_chain_effects(suite)
        for spec, address in members:
            assert suite.registry.member(address).status == MemberStatus.ACTIVE
            assert effects["admitted"][address] == 1
            assert effects["minted"][(address, spec.cash)] == 1
            assert suite.token.balance_of(address) == spec.cash
        assert suite.token.total_supply() == sum(spec.cash for spec, _ in members)
    finally:
        node.stop()


@dataclass
class PrivateChain:
    """A suite on a node of this module's own, with two funded members: the tests below touch
    nothing of ape's shared test chain (its snapshot reverts must not meet what they do)."""

    node: AnvilNode
    conn: Connection
    suite: Suite
    operator: LocalAccount
    bank: LocalAccount
    supplier: LocalAccount


@pytest.fixture(scope="module")
def private(tmp_path_factory):
    directory = tmp_path_factory.mktemp("private-chain")
    node = AnvilNode(directory / "node").start()
    try:
        conn = node.connect()
        suite, operator = _private_suite(conn, directory)
        bank, supplier = dev_key("fault bank"), dev_key("fault supplier")
        for key, role in ((bank, Role.FINANCIER), (supplier, Role.SUPPLIER)):
            set_balance(conn.w3, key.address, 10**21)
            suite.registry.admit(operator, key.address, "Firm", role, keccak(text="kyc"))
        suite.token.mint(operator, bank.address, 1_000_000_00)
        yield PrivateChain(node, conn, suite, operator, bank, supplier)
    finally:
        node.stop()


def test_reseeding_after_members_spent_their_opening_cash_does_not_pay_it_again(private, tmp_path):
    suite, operator = private.suite, private.operator
    spender = Account.from_key(keccak(text="fault spender"))
    set_balance(private.conn.w3, spender.address, 10**20)
    members = load_consortium(_spender_file(tmp_path, spender), private.conn.chain_id)
    seed_members(suite, operator, members)
    suite.token.transfer(spender, private.supplier.address, 250_00)  # spends a quarter of it

    assert seed_members(suite, operator, members) == {}
    assert suite.token.balance_of(spender.address) == 750_00


def _spender_file(tmp_path: Path, spender) -> Path:
    (tmp_path / "kyc.txt").write_text("kyc evidence")
    path = tmp_path / "spender.yaml"
    path.write_text(yaml.safe_dump({"members": [{
        "name": "Spender Ltd", "address": spender.address, "roles": ["supplier"], "kyc_file": "kyc.txt",
        "opening_balance": "1000.00",
    }]}))
    return path


# ----------------------------------------------------------------------- RPC


def test_reads_are_retried_through_an_endpoint_that_fails_now_and_then(private):
    with FlakyProxy(private.node.url) as proxy:
        flaky = Connection(Web3(with_timeout(proxy.url, 5)), private.conn.artifacts)
        proxy.faults["eth_call"] = ["503", "drop"]
        balance = Suite.attach(flaky, private.suite.deployment).token.balance_of(private.bank.address)
    assert balance == private.suite.token.balance_of(private.bank.address)
    assert proxy.seen["eth_call"] == 3


def test_an_endpoint_that_never_answers_is_named_in_a_clear_error(private):
    dead = Connection(Web3(with_timeout("http://127.0.0.1:9", 1)), private.conn.artifacts, read_retries=1)
    with pytest.raises(RpcError, match=r"the node at http://127\.0\.0\.1:9 did not answer after 2 tries"):
        dead.block_timestamp()


@pytest.mark.parametrize("fault", ["drop", "stall"])
def test_a_write_whose_answer_is_lost_is_reported_with_its_hash_and_never_sent_twice(private, fault):
    suite = private.suite
    before = suite.token.balance_of(private.supplier.address)
    with FlakyProxy(private.node.url, stall_seconds=3) as proxy:
        flaky = Connection(Web3(with_timeout(proxy.url, 1)), private.conn.artifacts)
        proxy.faults["eth_sendRawTransaction"] = [fault]
        lost_answer = r"transaction 0x[0-9a-f]{64} was sent to .* did not confirm receiving it"
        with pytest.raises(RpcError, match=lost_answer) as lost:
            Suite.attach(flaky, suite.deployment).token.transfer(private.bank, private.supplier.address, 1_00)
    assert proxy.seen["eth_sendRawTransaction"] == 1
    tx_hash = lost.value.args[0].split()[1]
    assert private.conn.wait(bytes.fromhex(tx_hash[2:]))["status"] == 1  # mined: a re-send would have paid twice
    assert suite.token.balance_of(private.supplier.address) == before + 1_00


def _private_suite(conn, tmp_path: Path) -> tuple[Suite, Account]:
    governance, operator = dev_key("fault governance"), dev_key("fault operator")
    for key in (governance, operator):
        set_balance(conn.w3, key.address, 10**21)
    report = deploy_suite(conn, governance, operator, manifest_dir=tmp_path / "deployments")
    return Suite.attach(conn, report.deployment), operator


# --------------------------------------------------------------------- batches


def _admissions(suite, operator, addresses):
    return [
        (operator, suite.registry.fn("admit", a, f"Batch {i}", int(Role.SUPPLIER), keccak(text=a), 0))
        for i, a in enumerate(addresses)
    ]


@pytest.mark.parametrize("estimated", [True, False], ids=["estimated", "fixed gas"])
def test_a_batch_with_a_failing_item_names_it_and_keeps_the_work_before_it(tmp_path, estimated):
    # On a private node: the fixed-gas batch leaves mined items nobody awaited, and ape's
    # snapshot reverts on the shared test chain did not take them back cleanly.
    node = AnvilNode(tmp_path / "node").start()
    try:
        conn = node.connect()
        suite, operator = _private_suite(conn, tmp_path)
        fresh = [Account.from_key(keccak(text=f"batch member {i}")).address for i in range(5)]
        suite.registry.admit(operator, fresh[2], "Already In", Role.SUPPLIER, keccak(text="kyc"))
        with pytest.raises(BatchError, match="batch item 2 failed") as failure:
            conn.transact_many(_admissions(suite, operator, fresh), gas=None if estimated else 300_000)
        assert failure.value.index == 2
        assert failure.value.cause.error == "UnexpectedStatus"  # an active member cannot be admitted again
        assert all(suite.registry.member(a).status == MemberStatus.ACTIVE for a in fresh[:2])
        if estimated:  # refused at its estimate: nothing after it was sent
            assert all(suite.registry.member(a).status == MemberStatus.NONE for a in fresh[3:])
    finally:
        node.stop()


class _RoundTrips(HTTPProvider):
    """Counts the broadcasts in each JSON-RPC batch sent through it."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.sends: list[int] = []

    def make_batch_request(self, batch):  # type: ignore[no-untyped-def]
        sends = sum(1 for method, _ in batch if method == "eth_sendRawTransaction")
        if sends:
            self.sends.append(sends)
        return super().make_batch_request(batch)


def test_a_burst_goes_out_in_round_trips_of_bounded_size_in_order(tmp_path, monkeypatch):
    """Nodes cap a request's size (anvil refuses about 10 MB): ``BATCH_BYTES`` splits a burst
    of large transactions; here a limit below two admissions' size sends them one a trip."""
    node = AnvilNode(tmp_path / "node").start()
    try:
        provider = _RoundTrips(node.url)
        conn = node.connect(provider)
        suite, operator = _private_suite(conn, tmp_path)
        fresh = [Account.from_key(keccak(text=f"round trip member {i}")).address for i in range(5)]
        items = _admissions(suite, operator, fresh)
        one = len(bytes.fromhex(calldata(items[0][1])[2:]))
        monkeypatch.setattr(batch, "BATCH_BYTES", one + 200)  # a transaction is its calldata and ~120 bytes
        provider.sends.clear()
        results = conn.transact_many(items, gas=300_000)
        assert provider.sends == [2, 2, 1]
        nonces = [conn.w3.eth.get_transaction(r.tx_hash)["nonce"] for r in results]
        assert nonces == sorted(nonces) and all(r.receipt["status"] == 1 for r in results)
        assert all(suite.registry.member(a).status == MemberStatus.ACTIVE for a in fresh)
    finally:
        node.stop()


def test_seeding_refuses_to_run_while_the_operators_earlier_transactions_are_not_yet_mined(tmp_path):
    node = AnvilNode(tmp_path / "node").start()
    try:
        conn = node.connect()
        suite, operator = _private_suite(conn, tmp_path)
        members = load_consortium(_consortium(tmp_path, 2), conn.chain_id)
        conn.w3.provider.make_request("evm_setAutomine", [False])  # blocks stop: what is sent waits
        nonce = conn.w3.eth.get_transaction_count(operator.address, "pending")
        signed = operator.sign_transaction({
            "to": suite.registry.address, "value": 0, "gas": 300_000, "chainId": conn.chain_id, **conn.fees(),
            "data": calldata(suite.registry.fn("setApprovalThreshold", 1)), "nonce": nonce,
        })
        conn.w3.eth.send_raw_transaction(signed.raw_transaction)  # an earlier run's transaction, in the pool

        with pytest.raises(SpecError, match=r"1 transaction\(s\) sent but not yet mined"):
            seed_members(suite, operator, members)
        assert conn.w3.eth.get_transaction_count(operator.address, "pending") == nonce + 1  # nothing sent
    finally:
        node.stop()


def test_a_recorded_transaction_that_failed_on_chain_is_sent_afresh_on_the_rerun(private, tmp_path):
    conn, suite, bank, supplier = private.conn, private.suite, private.bank, private.supplier
    journal = Journal.create(tmp_path / "journal.json", {}, conn.head())
    before = suite.token.balance_of(supplier.address)
    conn.journal = journal
    try:
        journal.begin("pay the supplier")
        refusal = mined_refusal(suite.token, bank, "transfer", supplier.address, 10**15)  # mined, and failed
        assert refusal.error == "ERC20InsufficientBalance"
        failed = journal.recorded()

        journal.begin("pay the supplier")  # the re-run of the same task
        paid = suite.token.send(bank, "transfer", supplier.address, 1_00)
    finally:
        conn.journal = None
    assert [s.hash for s in journal.recorded()] == ["0x" + bytes(paid.tx_hash).hex()] != [s.hash for s in failed]
    assert suite.token.balance_of(supplier.address) == before + 1_00
