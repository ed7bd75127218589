"""A chain that behaves like a consortium's: blocks mined on a timer, not per transaction, and
blocks whose extra-data is a proof-of-authority consensus record (QBFT's, Clique's).

The node is this module's own anvil mining a block every second (``--block-time 1``). A QBFT
chain's 2 seconds (``make devnet DEVNET_BLOCK_TIME=2``) would test the same thing - a
transaction waits in the pool until the next block - at twice the wall time: every call the
flow awaits costs up to one block interval."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest
import rlp
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import HTTPProvider, Web3
from web3.exceptions import ExtraDataLengthError

from scf.chain import Connection, RpcError, TxResult
from scf.chain.devnet import increase_time, set_balance
from scf.chain.sending import Call
from scf.contracts import MemberStatus, Role
from scf.contracts.trade import DocType
from scf.contracts.voucher import SlotStatus
from scf.deploy import deploy_suite
from scf.indexer import EventIndex
from scf.money import DAY
from scf.suite import Suite
from scf.supervision import Book
from scf.wallet import dev_key
from tests.nodes import AnvilNode, FlakyProxy
from tests.support import CNY

BLOCK_TIME = 1  # seconds
FACE = 100_000 * CNY
PART = 40_000 * CNY  # what tier 1 passes on to tier 2
BURST = 12  # admissions the operator sends at once


@dataclass
class ConsortiumChain:
    node: AnvilNode
    conn: Connection
    suite: Suite
    operator: LocalAccount
    hospital: LocalAccount
    tier1: LocalAccount
    tier2: LocalAccount
    burst: list  # the operator's admissions sent without waiting (TxResults)
    burst_start_nonce: int
    after_burst: TxResult  # the operator's next send, one by one: the hospital's opening cash


@pytest.fixture(scope="module")
def consortium(tmp_path_factory):
    directory = tmp_path_factory.mktemp("consortium-chain")
    node = AnvilNode(directory / "node", "--block-time", str(BLOCK_TIME)).start()
    try:
        conn = node.connect()
        governance, operator = dev_key("qbft governance"), dev_key("qbft operator")
        hospital, tier1, tier2 = dev_key("qbft hospital"), dev_key("qbft tier1"), dev_key("qbft tier2")
        for key in (governance, operator, hospital, tier1, tier2):
            set_balance(conn.w3, key.address, 10**21)
        report = deploy_suite(conn, governance, operator, manifest_dir=directory / "deployments")
        suite = Suite.attach(conn, report.deployment)
        # The admissions go out as one burst from the operator: the cast first, then outsiders.
        reg = suite.registry
        others = [dev_key(f"qbft member {i}").address for i in range(BURST - 3)]
        items = [
            (operator, reg.fn("admit", hospital.address, "City Hospital", int(Role.CORE_ENTERPRISE),
                              keccak(text="kyc"), FACE * 10)),
            (operator, reg.fn("admit", tier1.address, "Tier 1", int(Role.SUPPLIER), keccak(text="kyc"), 0)),
            (operator, reg.fn("admit", tier2.address, "Tier 2", int(Role.SUPPLIER), keccak(text="kyc"), 0)),
            *[(operator, reg.fn("admit", a, f"Member {i}", int(Role.SUPPLIER), keccak(text=a), 0))
              for i, a in enumerate(others)],
        ]
        start = conn.nonce_of(operator.address)
        # gas given: nothing estimated, as the batch seeding of many members sends them
        burst = conn.transact_many(items, gas=400_000)
        after = suite.token.mint(operator, hospital.address, FACE)
        yield ConsortiumChain(node, conn, suite, operator, hospital, tier1, tier2, burst, start, after)
    finally:
        node.stop()


def test_a_burst_from_one_sender_gets_consecutive_nonces_and_shares_blocks(consortium):
    w3 = consortium.conn.w3
    nonces = [w3.eth.get_transaction(r.tx_hash)["nonce"] for r in consortium.burst]
    assert nonces == list(range(consortium.burst_start_nonce, consortium.burst_start_nonce + BURST))
    assert all(r.receipt["status"] == 1 for r in consortium.burst)
    per_block = Counter(r.block_number for r in consortium.burst)
    assert max(per_block.values()) >= 2, f"one transaction per block: {dict(per_block)}"
    assert len(per_block) < BURST
    # all mined, and every member admitted
    statuses = {consortium.suite.registry.status_of(dev_key(f"qbft member {i}").address) for i in range(BURST - 3)}
    assert statuses == {MemberStatus.ACTIVE}
    # the operator's next send (one by one) took the next nonce: no collision with the burst
    after = consortium.after_burst
    assert w3.eth.get_transaction(after.tx_hash)["nonce"] == consortium.burst_start_nonce + BURST
    assert after.block_number >= max(per_block)


def _mined_and_current(conn: Connection, result) -> None:
    """The call returned with its receipt: its block is on the chain already."""
    assert result.receipt["status"] == 1
    assert conn.w3.eth.block_number >= result.block_number
    assert conn.w3.eth.get_block(result.block_number)["hash"] == result.receipt["blockHash"]


def test_a_voucher_flow_on_timed_blocks_reads_back_each_step_and_the_index_agrees(consortium):
    c = consortium
    conn, suite = c.conn, c.suite
    now = conn.block_timestamp()
    blocks = []

    record, tx = suite.trade.register(c.tier1, DocType.INVOICE, keccak(text="qbft invoice"), c.hospital.address, FACE)
    blocks.append(tx.block_number)
    blocks.append(suite.trade.confirm(c.hospital, record).block_number)

    slot, tx = suite.voucher.issue(c.hospital, c.tier1.address, FACE, now + 90 * DAY, record)
    _mined_and_current(conn, tx)
    blocks.append(tx.block_number)
    assert suite.voucher.slot(slot).status == SlotStatus.ISSUED

    root, tx = suite.voucher.accept(c.tier1, slot)
    _mined_and_current(conn, tx)
    blocks.append(tx.block_number)
    assert suite.voucher.slot(slot).status == SlotStatus.ACCEPTED
    assert (suite.voucher.owner_of(root), suite.voucher.value_of(root)) == (c.tier1.address, FACE)

    part, tx = suite.voucher.split_transfer(c.tier1, root, c.tier2.address, PART)
    _mined_and_current(conn, tx)
    blocks.append(tx.block_number)
    assert suite.voucher.value_of(root) == FACE - PART
    assert (suite.voucher.owner_of(part), suite.voucher.value_of(part)) == (c.tier2.address, PART)

    blocks.append(suite.token.approve(c.hospital, suite.voucher.address, FACE).block_number)
    tx = suite.voucher.fund(c.hospital, slot, FACE)
    _mined_and_current(conn, tx)
    blocks.append(tx.block_number)
    assert suite.voucher.slot(slot).funded == FACE

    increase_time(conn.w3, 90 * DAY)  # to maturity (evm_mine: a block between the timed ones)
    cash_before = suite.token.balance_of(c.tier2.address)
    tx = suite.voucher.redeem(c.tier2, part)
    _mined_and_current(conn, tx)
    blocks.append(tx.block_number)
    assert suite.token.balance_of(c.tier2.address) == cash_before + PART
    assert not suite.voucher.voucher(part).exists

    # each step waited for the one before: every one was mined in a later block
    assert blocks == sorted(set(blocks)), blocks
    assert len(blocks) == 8

    index = EventIndex(conn, suite.deployment)
    index.refresh()
    assert index.last_block >= blocks[-1]
    book = Book.build(index)
    on_chain = suite.voucher.slot(slot)
    assert (book.slots[slot].face_value, book.slots[slot].funded) == (on_chain.face_value, on_chain.funded)
    assert book.slots[slot].paid_out == on_chain.redeemed == PART
    assert (book.vouchers[root].holder, book.vouchers[root].value) == (c.tier1.address, FACE - PART)
    assert book.vouchers[part].state == "redeemed"
    members = [c.hospital, c.tier1, c.tier2] + [dev_key(f"qbft member {i}") for i in range(BURST - 3)]
    assert {m.address: book.members[m.address].status for m in members} == {
        m.address: suite.registry.status_of(m.address) for m in members
    }
    assert book.members[c.hospital.address].credit_limit == suite.registry.member(c.hospital.address).credit_limit


# ------------------------------------------------------------ proof-of-authority blocks


def qbft_extra_data(validators: int, seals: int) -> bytes:
    """QBFT's extra-data: RLP([32-byte vanity, [validators], vote (none), round, [seals]])."""
    return rlp.encode([
        b"\0" * 32,
        [keccak(text=f"validator {i}")[:20] for i in range(validators)],
        [],
        (0).to_bytes(4, "big"),
        [keccak(text=f"seal {i}") * 2 + b"\x1b" for i in range(seals)],  # 65 bytes: r, s, v
    ])


EXTRA_DATA = [
    pytest.param(b"\0" * 32 + b"\x11" * 65, id="97 bytes (a vanity and one seal, as Clique)"),
    pytest.param(qbft_extra_data(validators=4, seals=3), id="QBFT, 4 validators and 3 seals"),
]


def test_the_qbft_extra_data_is_the_size_a_poa_chain_serves():
    assert len(qbft_extra_data(4, 3)) > 97
    decoded = rlp.decode(qbft_extra_data(4, 3))
    assert (len(decoded[1]), len(decoded[4])) == (4, 3)


@pytest.mark.parametrize("extra", EXTRA_DATA)
def test_plain_web3_refuses_a_poa_block(consortium, extra):
    with FlakyProxy(consortium.node.url, extra_data=extra) as proxy:
        plain = Web3(HTTPProvider(proxy.url))
        with pytest.raises(ExtraDataLengthError, match="extraData"):
            plain.eth.get_block("latest")


@pytest.mark.parametrize("extra", EXTRA_DATA)
def test_scf_detects_poa_blocks_and_keeps_reading_sending_and_indexing(consortium, extra):
    c = consortium
    direct = c.conn
    with FlakyProxy(c.node.url, extra_data=extra) as proxy:
        conn = Connection(Web3(HTTPProvider(proxy.url)), direct.artifacts)
        conn.ensure_poa_compatible()
        block = conn.w3.eth.get_block("latest")
        assert bytes(block["proofOfAuthorityData"]) == extra
        number, block_hash = conn.head()
        assert direct.block_hash(number) == block_hash
        assert conn.block_timestamp(number) == direct.block_timestamp(number)

        suite = Suite.attach(conn, c.suite.deployment)
        before = direct.w3.eth.block_number
        cash = suite.token.balance_of(c.tier1.address)
        tx = suite.token.mint(c.operator, c.tier1.address, 1 * CNY)  # its fees read from a PoA block
        assert tx.block_number > before
        assert suite.token.balance_of(c.tier1.address) == cash + 1 * CNY

        index = EventIndex(conn, c.suite.deployment)
        assert index.refresh() > 0
        index.refresh()  # a second refresh checks the last block's hash through the proxy
        assert index.last_block >= tx.block_number
        assert index.count() == _direct_count(direct, c.suite, index.last_block)
        assert proxy.seen["eth_getBlockByNumber"] > 0


def _direct_count(conn: Connection, suite: Suite, upto: int) -> int:
    """Events up to block ``upto``, indexed straight from the node (no proxy, plain blocks)."""
    index = EventIndex(conn, suite.deployment)
    index.refresh()
    return int(index.db.execute("SELECT COUNT(*) FROM events WHERE block <= ?", (upto,)).fetchone()[0])


def test_a_detection_cut_short_by_the_node_is_tried_again(consortium):
    """The node failing while ``ensure_poa_compatible`` reads its first block must not leave
    the connection unable to read a PoA block for good."""
    with FlakyProxy(consortium.node.url, extra_data=EXTRA_DATA[1].values[0]) as proxy:
        # web3's own retries off: each of scf's two tries is one request
        provider = HTTPProvider(proxy.url, exception_retry_configuration=None)
        conn = Connection(Web3(provider), consortium.conn.artifacts, read_retries=1)
        proxy.faults["eth_getBlockByNumber"] = ["503", "503"]
        with pytest.raises(RpcError, match="did not answer after 2 tries"):
            conn.ensure_poa_compatible()
        conn.ensure_poa_compatible()
        number, block_hash = conn.head()
        assert consortium.conn.block_hash(number) == block_hash


def test_a_burst_filling_block_after_block_is_mined_though_the_base_fee_rises(tmp_path):
    """Every block fuller than half raises the base fee by up to 12.5 %: a burst that fills
    blocks for longer than six of them would outgrow a fee cap of twice today's base fee and
    wait in the pool for ever. Here blocks of 100,000 gas and 48 plain transfers of 21,000 gas
    each: 4 a block, 12 blocks running, each 84 % full, so the base fee rises 8.5 % a block."""
    node = AnvilNode(tmp_path / "node", "--block-time", str(BLOCK_TIME), "--gas-limit", "100000").start()
    try:
        conn = node.connect(receipt_timeout=30)
        sender = dev_key("burst sender")
        set_balance(conn.w3, sender.address, 10**21)
        base = int(conn.w3.eth.get_block("latest")["baseFeePerGas"])
        items = [(sender, Call(dev_key(f"burst receiver {i}").address, "0x")) for i in range(48)]
        results = conn.transact_many(items, gas=21_000)
        assert all(r.receipt["status"] == 1 for r in results)
        blocks = sorted({r.block_number for r in results})
        assert len(blocks) >= 12  # 4 a block at most
        last_base = int(conn.w3.eth.get_block(blocks[-1])["baseFeePerGas"])
        assert last_base > 2 * base, "the base fee rose past a single transaction's cap"
    finally:
        node.stop()
