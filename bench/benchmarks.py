"""Benchmarks: gas per operation against the ERC-3525 reference implementation, redemption
at scale, tooling throughput, and seeding at consortium scale. ``ape run bench`` drives
this on a local anvil and writes ``bench/results.json``.

The reference (npm ``@solvprotocol/erc-3525``, its own ``ERC3525BaseMock`` with the
OpenZeppelin 4.9 it ships with) is compiled here only, with the same compiler, EVM target
and optimizer settings as our contracts; none of our contracts inherit from it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hexbytes import HexBytes

from scf.chain import batch
from scf.chain.artifacts import ContractArtifact
from scf.chain.connection import Connection
from scf.chain.devnet import increase_time, revert, set_balance, snapshot
from scf.chain.sending import TxResult, calldata
from scf.contracts import Admission, DocType, Recovery, Role
from scf.contracts.voucher import SPLIT_TRANSFER, WHOLE_TRANSFER
from scf.deploy import deploy_suite
from scf.money import DAY
from scf.paths import cache_dir, project_root
from scf.seed import ADMISSIONS_PER_TX, load_consortium, seed_members
from scf.suite import Suite
from scf.toolchain import solc_bridge_dir
from scf.typed_data import DiscountOffer
from scf.wallet import dev_key

BLOCK_GAS = 30_000_000
REFERENCE_SOURCE = "node_modules/@solvprotocol/erc-3525/mocks/ERC3525BaseMock.sol"
REFERENCE_OZ = "node_modules/@solvprotocol/erc-3525/node_modules/@openzeppelin/contracts"
Log = Callable[[str], None]


# ------------------------------------------------------------------ reference


def compile_reference(solc_version: str = "0.8.30") -> ContractArtifact:
    """Compiles the reference mock through the project's offline solc bridge."""
    request = {
        "language": "Solidity",
        "sources": {REFERENCE_SOURCE: {"urls": [REFERENCE_SOURCE]}},
        "settings": {
            "optimizer": {"enabled": True, "runs": 200},
            "viaIR": True,  # as ape-config.yaml compiles ours
            "evmVersion": "cancun",
            "remappings": [f"@openzeppelin/contracts={REFERENCE_OZ}"],
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
        },
    }
    bridge = solc_bridge_dir() / f"solc-v{solc_version}"
    root = project_root()
    result = subprocess.run(
        [str(bridge), "--standard-json", "--base-path", str(root)],
        input=json.dumps(request), capture_output=True, text=True, check=True, cwd=root,
    )
    output = json.loads(result.stdout)
    errors = [e for e in output.get("errors", []) if e["severity"] == "error"]
    if errors:
        raise RuntimeError("reference compile failed: " + errors[0]["formattedMessage"])
    contract = output["contracts"][REFERENCE_SOURCE]["ERC3525BaseMock"]
    return ContractArtifact(
        "ERC3525BaseMock", contract["abi"], "0x" + contract["evm"]["bytecode"]["object"],
        "0x" + contract["evm"]["deployedBytecode"]["object"],
    )


def reference_gas(conn: Connection, alice: LocalAccount, bob: LocalAccount, carol: LocalAccount) -> dict[str, int]:
    """Gas of the reference's mint, split-transfer to a new holder, merge, whole transfer, burn."""
    artifact = compile_reference()
    factory = conn.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    deployed = conn.transact(alice, factory.constructor("Reference", "REF", 2))
    ref = conn.w3.eth.contract(address=deployed.receipt["contractAddress"], abi=artifact.abi)
    fn = ref.get_function_by_signature
    gas = {}
    # Explicit ids far from the ids the reference generates for split-transfers (1, 2, ...).
    a, b = 1_000_001, 1_000_002
    gas["mint"] = conn.transact(alice, ref.functions.mint(alice.address, a, 1, 1_000_000)).gas_used
    conn.transact(alice, ref.functions.mint(bob.address, b, 1, 1_000))  # bob's voucher, the merge target
    split = fn("transferFrom(uint256,address,uint256)")(a, carol.address, 1_000)
    gas["split_transfer"] = conn.transact(alice, split).gas_used
    gas["merge"] = conn.transact(alice, fn("transferFrom(uint256,uint256,uint256)")(a, b, 1_000)).gas_used
    gas["transfer_whole"] = conn.transact(
        alice, fn("transferFrom(address,address,uint256)")(alice.address, carol.address, a)
    ).gas_used
    gas["burn"] = conn.transact(bob, ref.functions.burn(b)).gas_used
    return gas


# ----------------------------------------------------------------------- ours


@dataclass
class Bench:
    """A deployed suite with a core enterprise, a root holder, a bank and a keeper."""

    conn: Connection
    suite: Suite
    governance: LocalAccount
    operator: LocalAccount
    hospital: LocalAccount
    holder: LocalAccount
    bank: LocalAccount
    keeper: LocalAccount
    _nonce: int = 0
    # name -> (transaction, operations in it): what ``our_gas`` measured, for ``bench.anatomy``
    measured: dict[str, tuple[TxResult, int]] = field(default_factory=dict)

    def keep(self, name: str, tx: TxResult, operations: int = 1) -> None:
        """Records a measured transaction of ``operations`` operations."""
        self.measured[name] = (tx, operations)

    def gas_measured(self) -> dict[str, int]:
        """Gas per operation of each measured transaction, in the order measured."""
        return {name: tx.gas_used // n for name, (tx, n) in self.measured.items()}

    @classmethod
    def setup(cls, conn: Connection, holder: LocalAccount | None = None, log: Log = print) -> Bench:
        governance, operator = dev_key("bench governance"), dev_key("bench operator")
        hospital, bank, keeper = dev_key("bench hospital"), dev_key("bench bank"), dev_key("bench keeper")
        holder = holder or dev_key("bench holder")
        for account in (governance, operator, hospital, holder, bank, keeper):
            set_balance(conn.w3, account.address, 10**24)
        log("bench: deploying the suite")
        report = deploy_suite(conn, governance, operator, manifest_dir=cache_dir() / "bench" / "deployments")
        suite = Suite.attach(conn, report.deployment)
        kyc = keccak(text="bench kyc")
        suite.registry.admit(operator, hospital.address, "Bench Hospital", Role.CORE_ENTERPRISE, kyc, 10**17)
        suite.registry.admit(operator, holder.address, "Bench Supplier", Role.SUPPLIER, kyc)
        suite.registry.admit(operator, bank.address, "Bench Bank", Role.FINANCIER, kyc)
        suite.token.mint(operator, hospital.address, 10**16)
        suite.token.mint(operator, bank.address, 10**16)
        suite.token.approve(hospital, suite.voucher.address, 2**256 - 1)
        suite.token.approve(bank, suite.desk.address, 2**256 - 1)
        return cls(conn, suite, governance, operator, hospital, holder, bank, keeper)

    def admit_many(self, addresses: list[str], label: str = "Holder", roles: Role = Role.SUPPLIER) -> list[int]:
        """Admits suppliers (or ``roles``) in batches; the gas of each admission transaction."""
        registry = self.suite.registry
        firms = [Admission(a, f"{label} {i:05d}", roles, keccak(text=a)) for i, a in enumerate(addresses)]
        calls = [registry.admit_batch_call(self.operator, firms[i : i + ADMISSIONS_PER_TX])
                 for i in range(0, len(firms), ADMISSIONS_PER_TX)]
        return [r.gas_used for r in self.conn.transact_many(calls)]

    def voucher(self, face: int, days: int = 90) -> tuple[int, int, dict[str, TxResult]]:
        """Issues and accepts a voucher to the holder: (slot, root, the two transactions)."""
        self._nonce += 1
        doc = keccak(text=f"bench invoice {self._nonce}")
        record, _ = self.suite.trade.register(self.holder, DocType.INVOICE, doc, self.hospital.address, face)
        self.suite.trade.confirm(self.hospital, record)
        maturity = self.conn.block_timestamp() + days * DAY
        slot, issued = self.suite.voucher.issue(self.hospital, self.holder.address, face, maturity, record)
        root, accepted = self.suite.voucher.accept(self.holder, slot)
        return slot, root, {"issue": issued, "accept": accepted}

    def mature_and_fund(self, slot: int) -> None:
        info = self.suite.voucher.slot(slot)
        self.suite.voucher.fund(self.hospital, slot, info.face_value - info.funded)
        now = self.conn.block_timestamp()
        if now < info.maturity:
            increase_time(self.conn.w3, info.maturity - now)


def fresh_addresses(prefix: str, n: int) -> list[LocalAccount]:
    return [Account.from_key(keccak(text=f"{prefix} {i}")) for i in range(n)]


def our_gas(bench: Bench) -> dict[str, int]:
    """Gas of each voucher operation, measured like the reference: new holders are accounts
    that hold nothing yet. The transactions stay in ``bench.measured``."""
    v, conn, keep = bench.suite.voucher, bench.conn, bench.keep
    newcomers = fresh_addresses("bench newcomer", 4)
    bench.admit_many([a.address for a in newcomers], "Newcomer")
    for a in newcomers:
        set_balance(conn.w3, a.address, 10**21)
    trade_gas(bench)
    slot, root, txs = bench.voucher(1_000_000_00)
    for name, tx in txs.items():
        keep(name, tx)
    t1, tx = v.split_transfer(bench.holder, root, newcomers[0].address, 100_000_00)
    keep("split_transfer", tx)
    keep("merge", v.merge(bench.holder, root, t1, 10_000_00))
    whole = v.send(bench.holder, WHOLE_TRANSFER, bench.holder.address, newcomers[1].address, root)
    keep("transfer_whole", whole)
    offer = DiscountOffer(t1, 50_000_00, 450, conn.block_timestamp() + DAY, 1, bench.bank.address, newcomers[0].address)
    _, _, tx = bench.suite.desk.discount(newcomers[0], offer, bench.suite.desk.sign(bench.bank.key, offer))
    keep("discount", tx)
    info = v.slot(slot)
    keep("fund", v.fund(bench.hospital, slot, info.face_value // 2))
    # A guarantor (the bank) pays a quarter on the hospital's behalf: the payer's membership is read.
    bench.suite.token.approve(bench.bank, v.address, info.face_value // 4)
    keep("fund_by_guarantor", v.fund(bench.bank, slot, info.face_value // 4))
    bench.mature_and_fund(slot)
    keep("redeem_single", v.redeem(bench.keeper, root))
    # A batch of fresh fragments held by accounts whose cash balance is zero (worst case).
    slot2, root2, _ = bench.voucher(1_000_00, days=30)
    holders = fresh_addresses("bench batch holder", 20)
    bench.admit_many([h.address for h in holders], "Batch holder")
    pieces = conn.transact_many(
        [(bench.holder, v.fn(SPLIT_TRANSFER, root2, h.address, 10_00)) for h in holders], gas=200_000
    )
    tokens = [root2 + 1 + i for i in range(len(pieces))]  # serials 2..21
    bench.mature_and_fund(slot2)
    batch = bench.suite.keeper.redeem_batch(bench.keeper, tokens)
    keep("redeem_per_voucher_in_batch", batch, len(tokens))
    default_gas(bench)
    return bench.gas_measured()


def trade_gas(bench: Bench) -> None:
    """Anchoring a trade document: the hospital's order, confirmed by the holder, then the
    holder's invoice linked to it (the parent's parties are read), confirmed by the hospital."""
    trade, keep = bench.suite.trade, bench.keep
    face = 1_000_000_00
    order, _ = trade.register(bench.hospital, DocType.ORDER, keccak(text="bench order"), bench.holder.address, face)
    trade.confirm(bench.holder, order)
    invoice, tx = trade.register(bench.holder, DocType.INVOICE, keccak(text="bench linked invoice"),
                                 bench.hospital.address, face, order)
    keep("anchor", tx)
    keep("confirm", trade.confirm(bench.hospital, invoice))


def default_gas(bench: Bench) -> None:
    """Measures each operation of a debtor's failure (issue 16), in the order a failure runs:
    a part pledged, cover offered and bought, a part sold with recourse; 40 % funded, the slot
    marked overdue, the claim paid; pro-rata payouts (a holder's, the pledged part's through the
    desk), the put-back, a payment through the desk after the claim, a write-off."""
    v, credit, conn, keep = bench.suite.voucher, bench.suite.credit, bench.conn, bench.keep
    insurer, seller = dev_key("bench insurer"), fresh_addresses("bench recourse seller", 1)[0]
    for account in (insurer, seller):
        set_balance(conn.w3, account.address, 10**21)
    kyc = keccak(text="bench kyc")
    bench.suite.registry.admit(bench.operator, insurer.address, "Bench Insurer", Role.INSURER, kyc)
    bench.admit_many([seller.address], "Recourse seller")
    bench.suite.token.mint(bench.operator, insurer.address, 10**16)
    bench.suite.token.approve(insurer, credit.address, 2**256 - 1)
    bench.suite.token.approve(bench.hospital, credit.address, 2**256 - 1)
    bench.suite.token.approve(seller, bench.suite.desk.address, 2**256 - 1)
    face = 1_000_000_00
    slot, root, _ = bench.voucher(face)
    v.send(bench.holder, "approve(address,uint256)", credit.address, root)
    pledged, tx = credit.pledge(bench.holder, root, 300_000_00, bench.bank.address, 250_000_00,
                                conn.block_timestamp() + 30 * DAY)
    keep("pledge_part", tx)
    keep("offer_cover", credit.offer_cover(insurer, slot, 300_000_00, 6_000_00, Recovery.HOLDERS_FIRST,
                                           conn.block_timestamp() + DAY))
    keep("buy_cover", credit.buy_cover(bench.hospital, slot, credit.policy_of(slot)))
    sold, _ = v.split_transfer(bench.holder, root, seller.address, 200_000_00)
    offer = DiscountOffer(sold, 200_000_00, 600, conn.block_timestamp() + DAY, 2, bench.bank.address,
                          seller.address, recourse=True)
    _, _, tx = bench.suite.desk.discount(seller, offer, bench.suite.desk.sign(bench.bank.key, offer))
    keep("discount_with_recourse", tx)
    v.fund(bench.hospital, slot, 400_000_00)
    increase_time(conn.w3, v.overdue_from(slot) + 1 - conn.block_timestamp())
    keep("mark_overdue", v.mark_overdue(bench.keeper, slot))
    keep("claim", credit.claim(bench.keeper, slot))
    keep("payout_pro_rata", v.redeem(bench.keeper, root))
    keep("collect_pledged", credit.collect(bench.keeper, pledged))
    _, tx = bench.suite.desk.put_back(bench.bank, sold)
    keep("put_back", tx)
    keep("pay_through_desk", credit.pay(bench.hospital, slot, 100_000_00))
    keep("write_off", v.write_off(bench.holder, root))


# ------------------------------------------------------------- redemption scale


def redemption_scale(bench: Bench, fragments: int, holders: int, log: Log = print) -> dict[str, Any]:
    """Splits one slot into ``fragments`` vouchers held by ``holders`` members, then redeems
    them all in batches; reports gas per voucher and the largest batch that fits a block."""
    v, conn = bench.suite.voucher, bench.conn
    people = fresh_addresses(f"scale holder {fragments}", holders)
    bench.admit_many([p.address for p in people], "Scale holder")
    unit = 100_00
    slot, root, _ = bench.voucher(unit * fragments, days=120)
    log(f"bench: splitting slot {slot} into {fragments} fragments held by {holders} members")
    calls = [
        (bench.holder, v.fn(SPLIT_TRANSFER, root, people[i % holders].address, unit)) for i in range(fragments - 1)
    ]
    for start in range(0, len(calls), 2_000):
        conn.transact_many(calls[start : start + 2_000], gas=200_000)
    tokens = [root] + [root + 1 + i for i in range(fragments - 1)]
    bench.mature_and_fund(slot)

    # Marginal gas per voucher from a batch of 1 and a batch of up to 50 (worst case: the
    # holders' first payments, zero cash balances becoming non-zero).
    probe = min(50, max(2, fragments // 4))
    snap = snapshot(conn.w3)
    one = bench.suite.keeper.redeem_batch(bench.keeper, tokens[:1]).gas_used
    many = bench.suite.keeper.redeem_batch(bench.keeper, tokens[1 : 1 + probe]).gas_used
    revert(conn.w3, snap)
    marginal = (many - one) / (probe - 1) if probe > 1 else float(one)
    overhead = one - marginal
    max_batch = int((BLOCK_GAS - overhead) // marginal)

    batch_size = min(max_batch, 1_000)
    started = time.perf_counter()
    total_gas = 0
    largest_batch_gas = 0
    for start in range(0, fragments, batch_size):
        chunk = tokens[start : start + batch_size]
        used = bench.suite.keeper.redeem_batch(bench.keeper, chunk, gas=BLOCK_GAS - 1).gas_used
        total_gas += used
        largest_batch_gas = max(largest_batch_gas, used)
    seconds = time.perf_counter() - started
    settled = v.slot(slot)
    assert settled.redeemed == settled.face_value, "every fragment must be redeemed"
    return {
        "fragments": fragments,
        "holders": holders,
        "gas_per_voucher": round(total_gas / fragments),
        "marginal_gas_per_voucher_worst_case": round(marginal),
        "max_batch_in_30m_gas_block": max_batch,
        "batch_size_used": batch_size,
        "largest_batch_gas": largest_batch_gas,
        "seconds": round(seconds, 3),
    }


# ---------------------------------------------------------------- throughput


def throughput(bench: Bench, n: int, run: int = 0, log: Log = print) -> dict[str, dict[str, float]]:
    """``n`` split-transfers (to ten holders), driven three ways on the same chain:

    - ``raw``: transactions signed before the clock starts, then broadcast in JSON-RPC
      batches and their receipts awaited in batches: what the chain itself can take;
    - ``scf``: ``Connection.transact_many`` from the calls (``ContractClient.prepared``:
      encoding, signing, sending and awaiting all timed);
    - ``web3``: plain web3.py, one ``eth_sendRawTransaction`` and one receipt poll each.

    Each reports operations a second end to end, sends a second (until the node had them
    all), and the share of the chain's gas capacity used over the blocks they were mined in."""
    v, conn = bench.suite.voucher, bench.conn
    receivers = fresh_addresses(f"throughput receiver {run}", 10)  # each run on the same chain: new ones
    bench.admit_many([r.address for r in receivers], "Receiver")
    to = [receivers[i % 10].address for i in range(n)]
    gas = SPLIT_TRANSFER_GAS
    result: dict[str, dict[str, float]] = {}

    _, root, _ = bench.voucher(n * 3 * 100, days=60)
    log(f"bench:   raw: signing {n:,} split-transfers before the clock starts")
    fees, nonce = conn.fees(), conn.nonce_of(bench.holder.address)
    raws = []
    for i in range(n):
        tx = {"to": v.address, "data": calldata(v.fn(SPLIT_TRANSFER, root, to[i], 1)), "gas": gas, "value": 0,
              "nonce": nonce + i, "chainId": conn.chain_id, **fees}
        raws.append(bench.holder.sign_transaction(tx))
    first = conn.head()[0]
    started = time.perf_counter()
    for part in batch.chunks(raws):
        assert not any(batch.send_raw(conn, [r.raw_transaction for r in part])), "the node refused a transaction"
    sent = time.perf_counter()
    receipts = batch.await_receipts(conn, [HexBytes(r.hash) for r in raws], first)
    result["raw"] = _speed(conn, n, started, sent, time.perf_counter(), receipts)

    _, root, _ = bench.voucher(n * 3 * 100, days=60)
    log(f"bench:   scf: {n:,} split-transfers through transact_many")
    sent_at: list[float] = []
    started = time.perf_counter()
    results = conn.transact_many([(bench.holder, v.prepared(SPLIT_TRANSFER, root, to[i], 1)) for i in range(n)],
                                 gas=gas,
                                 on_sent=lambda count: sent_at.append(time.perf_counter()))
    result["scf"] = _speed(conn, n, started, sent_at[-1], time.perf_counter(), [r.receipt for r in results])

    _, root, _ = bench.voucher(n * 3 * 100, days=60)
    log(f"bench:   web3: {n:,} split-transfers one request each")
    result["web3"] = _plain_web3(conn, bench.holder, v.contract, root, to, gas)
    assert v.value_of(root) == n * 3 * 100 - n, "every split-transfer moved one unit"
    return result


# Enough for a split-transfer to a holder that has a voucher of the slot already (about
# 100,000 gas), with the headroom a fixed gas needs; blocks are packed by gas used.
SPLIT_TRANSFER_GAS = 150_000


def _speed(conn: Connection, n: int, started: float, sent: float, done: float, receipts: list[Any]) -> dict[str, float]:
    """Operations a second end to end, sends a second, and the share of the gas limit of the
    blocks from the first to the last receipt's that these transactions used."""
    blocks = [int(r["blockNumber"]) for r in receipts]
    assert all(int(r["status"]) == 1 for r in receipts), "a benchmarked transaction failed"
    limit = int(conn.read(lambda: conn.w3.eth.get_block(blocks[-1])["gasLimit"]))
    used = sum(int(r["gasUsed"]) for r in receipts)
    return {
        "ops_per_s": round(n / (done - started), 1),
        "sent_per_s": round(n / (sent - started), 1),
        "gas_capacity_used": round(used / (limit * (max(blocks) - min(blocks) + 1)), 3),
        "blocks": max(blocks) - min(blocks) + 1,
        "seconds": round(done - started, 2),
    }


def _plain_web3(conn: Connection, signer: LocalAccount, contract: Any, root: int, to: list[str],
                gas: int) -> dict[str, float]:
    """The baseline: web3.py alone, locally signed raw transactions, local nonces, one
    request a send and receipts awaited one by one."""
    w3 = conn.w3
    first = conn.head()[0]
    started = time.perf_counter()
    nonce = w3.eth.get_transaction_count(signer.address, "pending")
    base = w3.eth.get_block("latest")["baseFeePerGas"]
    chain_id = w3.eth.chain_id
    hashes = []
    for i, receiver in enumerate(to):
        tx = {
            "to": contract.address, "data": contract.encode_abi(SPLIT_TRANSFER, args=(root, receiver, 1)),
            "gas": gas, "nonce": nonce + i, "chainId": chain_id, "value": 0,
            "maxFeePerGas": 2 * base, "maxPriorityFeePerGas": 0,
        }
        hashes.append(w3.eth.send_raw_transaction(signer.sign_transaction(tx).raw_transaction))
    sent = time.perf_counter()
    receipts = [w3.eth.wait_for_transaction_receipt(h, poll_latency=0.05) for h in hashes]
    assert min(int(r["blockNumber"]) for r in receipts) > first
    return _speed(conn, len(to), started, sent, time.perf_counter(), receipts)


# ------------------------------------------------------------------- seeding


def seeding(bench: Bench, members: int, run: int = 0, log: Log = print) -> dict[str, Any]:
    """Seeds ``members`` new members from a consortium file, as ``ape run seed`` does: the
    file validated whole (timed apart, written as JSON and as YAML), then ``seed_members``
    (admission in batches). Reports the time of every 5,000 members admitted, to show the
    growth is linear."""
    folder = cache_dir() / "bench" / f"consortium-{members}-{run}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kyc.txt").write_text("KYC evidence shared by the benchmark's members")
    entries = [{"name": f"Member {i:05d}", "address": a.address, "roles": ["supplier"], "kyc_file": "kyc.txt"}
               for i, a in enumerate(fresh_addresses(f"seed member {members} run {run}", members))]
    document = {"consortium": f"benchmark of {members}", "members": entries}
    as_yaml = folder / "consortium.yaml"
    as_yaml.write_text(yaml.safe_dump(document, sort_keys=False))
    started = time.perf_counter()
    from_yaml = load_consortium(as_yaml, bench.conn.chain_id)
    yaml_seconds = time.perf_counter() - started
    path = folder / "consortium.json"  # the same as JSON (which YAML includes), as a generated one is best written
    path.write_text(json.dumps(document, indent=1))

    started = time.perf_counter()
    specs = load_consortium(path, bench.conn.chain_id)
    validated = time.perf_counter()
    assert specs == from_yaml
    marks: list[float] = []

    def progress(done: int, total: int) -> None:
        while done >= (len(marks) + 1) * 5_000:
            marks.append(time.perf_counter())
            log(f"bench:   {len(marks) * 5_000:,}/{total:,} admitted, {marks[-1] - validated:.1f} s")

    gas = seed_members(bench.suite, bench.operator, specs, on_progress=progress)
    seconds = time.perf_counter() - validated
    total_gas = sum(sum(v) for v in gas.values())
    steps = [validated, *marks]
    return {
        "members": members,
        "validate_seconds": round(validated - started, 3),
        "validate_yaml_seconds": round(yaml_seconds, 3),
        "seconds": round(seconds, 2),
        "ms_per_member": round(1000 * seconds / members, 3),
        "seconds_per_5000": [round(b - a, 2) for a, b in zip(steps, steps[1:], strict=False)],
        "transactions": sum(len(v) for v in gas.values()),
        "gas": total_gas,
        "gas_per_member": total_gas // members,
    }


def median_of(runs: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, Any]:
    merged = dict(runs[0])
    for key in keys:
        merged[key] = round(statistics.median(r[key] for r in runs), 3)
    merged["runs"] = len(runs)
    return merged


def machine_description() -> str:
    cores = os.cpu_count() or 0
    try:
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        kib = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
        memory = f"{round(kib / 1024 / 1024)} GiB"
    except (OSError, StopIteration, ValueError):
        memory = "unknown memory"
    return f"{cores} cores, {memory}"


def vault_timings(bench: Bench, sizes: tuple[int, ...], repeat: int, folder: Path, log: Log = print) -> dict[str, Any]:
    """The document vault's costs per document size (scf.vault), wall-clock medians of
    ``repeat`` runs: filing an order, a delivery note and an invoice (seal, wrap the key for
    both parties, write, anchor the salted commitment), the counterparty opening, checking and
    confirming each, a reader opening one, disclosing the three-document trail behind a voucher
    to the bank, and the bank verifying it; and what a sealed file weighs against the file.
    Anchoring's gas is the gas section's (a commitment is one word, as a bare hash was)."""
    from scf.vault import Vault, VaultDesk  # the bench's other sections do not need the vault

    vault = Vault(folder)
    keys = (bench.holder, bench.hospital, bench.bank)
    supplier, hospital, bank = (VaultDesk(vault, bench.suite, key) for key in keys)
    for desk in (supplier, hospital, bank):
        desk.publish_key()
    rows = []
    for size in sizes:
        runs: dict[str, list[float]] = {}
        ratio = 0.0
        for _ in range(repeat):
            bench._nonce += 1
            records: list[int] = []
            for kind in (DocType.ORDER, DocType.DELIVERY_NOTE, DocType.INVOICE):
                content = os.urandom(size - 16) + bench._nonce.to_bytes(16, "big")
                parent = records[-1] if records else 0
                record, commitment = _timed(runs, "put_ms", partial(
                    supplier.put_trade_document, kind, content, f"{kind.name.lower()}.pdf", bench.hospital.address,
                    10**6, parent))
                _timed(runs, "confirm_ms", partial(hospital.confirm, record))
                records.append(record)
                stored = vault.document(commitment)
                assert stored is not None
                ratio = (vault.blobs / stored.blob).stat().st_size / size
            _timed(runs, "get_ms", partial(hospital.get_record, records[-1]))
            slot, _ = bench.suite.voucher.issue(bench.hospital, bench.holder.address, 10**6,
                                                bench.conn.block_timestamp() + 90 * DAY, records[-1])
            root, _ = bench.suite.voucher.accept(bench.holder, slot)
            _timed(runs, "disclose_trail_ms", partial(supplier.disclose, root, bench.bank.address, "bench"))
            _timed(runs, "verify_trail_ms", partial(bank.verify_trail, root))
        row: dict[str, Any] = {"bytes": size, "sealed_over_file": round(ratio, 4)}
        row |= {name: round(statistics.median(values), 1) for name, values in runs.items()}
        log(f"bench: vault, {size:,}-byte documents: {row}")
        rows.append(row)
    vault.close()
    return {"documents": rows, "readers_per_document": 2, "trail_documents": 3}


def _timed(runs: dict[str, list[float]], name: str, work: Callable[[], Any]) -> Any:
    """``work()``, its wall time in milliseconds added to ``runs[name]``."""
    started = time.perf_counter()
    result = work()
    runs.setdefault(name, []).append((time.perf_counter() - started) * 1000)
    return result
