"""Deployment of the suite: idempotent and resumable.

Each contract is recorded in the manifest as soon as it is mined, and each wiring step is
checked on chain before it is sent. Re-running against a chain that has the whole suite sends
nothing; re-running after a crash finishes the work without deploying anything twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from eth_utils import keccak

from scf.chain.connection import Connection
from scf.chain.journal import Journal
from scf.chain.sending import Signer
from scf.contracts import SUITE, MemberStatus, Role
from scf.manifest import Deployment, load_if_present, save
from scf.money import CURRENCY
from scf.suite import Suite

SETTLEMENT_NAME = f"Settlement {CURRENCY}"
SETTLEMENT_SYMBOL = f"s{CURRENCY}"
# The credit desk's name in the registry (its KYC evidence hash is this name's hash).
CREDIT_DESK_NAME = "CreditDesk (custody of pledges, insurance escrow)"


@dataclass
class DeployReport:
    deployment: Deployment
    deployed: list[str] = field(default_factory=list)
    wired: list[str] = field(default_factory=list)
    gas: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.deployed or self.wired)


def _deploy_journal(conn: Connection, manifest_dir: Path, fresh: bool) -> Journal:
    """The deployment's write-ahead journal: one left by a run that died on this chain is
    resumed; any other is set aside."""
    path = Path(manifest_dir) / "journal" / f"{conn.chain_id}-deploy.json"
    journal = Journal.open(path)
    if journal is not None and (fresh or not journal.on_same_chain(conn.block_hash)):
        journal.retire("stale")
        journal = None
    return journal or Journal.create(path, {"work": "deploy"}, conn.head())


def deploy_suite(
    conn: Connection,
    deployer: Signer,
    operator: Signer,
    *,
    manifest_dir: Path,
    fresh: bool = False,
    log: Callable[[str], None] = lambda _msg: None,
) -> DeployReport:
    """Deploys what is missing of the suite and wires it. ``deployer`` becomes governance;
    ``operator`` the first consortium operator. Governance wires the contracts together. The
    manifest (and, while deploying, its journal) is kept in ``manifest_dir``."""
    conn.ensure_poa_compatible()
    chain_id = conn.chain_id
    previous = None if fresh else load_if_present(chain_id, manifest_dir)
    deployment = Deployment(chain_id, conn.artifacts.compiler)
    deployment.extra = {"governance": deployer.address, "operator": operator.address}
    report = DeployReport(deployment)

    constructor_args = {
        "ConsortiumRegistry": lambda: (deployer.address, operator.address),
        "SettlementToken": lambda: (deployment.address("ConsortiumRegistry"), SETTLEMENT_NAME, SETTLEMENT_SYMBOL),
        "TradeRegistry": lambda: (deployment.address("ConsortiumRegistry"),),
        "ReceivableVoucher": lambda: (
            deployment.address("ConsortiumRegistry"),
            deployment.address("SettlementToken"),
            deployment.address("TradeRegistry"),
        ),
        "DiscountDesk": lambda: (deployment.address("ConsortiumRegistry"), deployment.address("ReceivableVoucher")),
        "PayoutKeeper": lambda: (deployment.address("ReceivableVoucher"),),
        "CreditDesk": lambda: (deployment.address("ConsortiumRegistry"), deployment.address("ReceivableVoucher")),
        "VoucherDescriptor": lambda: (),
    }
    reuse = previous is not None
    journal = _deploy_journal(conn, manifest_dir, fresh)
    conn.journal = journal
    try:
        for name in SUITE:
            entry = previous.contracts.get(name) if previous else None
            if reuse and entry and conn.code_at(entry["address"]):
                deployment.contracts[name] = entry
                continue
            reuse = False  # everything after a missing contract depends on it: deploy afresh
            log(f"deploying {name}")
            # A deployment whose answer was lost is found again through the journal, not repeated.
            journal.begin(f"deploy {name}")
            result = conn.deploy(deployer, name, *constructor_args[name]())
            deployment.contracts[name] = {
                "address": result.result,
                "block": result.block_number,
                "abi": f"abi/{name}.json",
            }
            report.deployed.append(name)
            report.gas[f"deploy_{name}"] = result.gas_used
            save(deployment, manifest_dir)
            journal.finish({})
    finally:
        conn.journal = None
    journal.path.unlink()

    suite = Suite.attach(conn, deployment)
    voucher_address = suite.voucher.address
    steps = [
        (
            "ledger authorised in TradeRegistry",
            lambda: suite.trade.call("isLedger", voucher_address),
            lambda: suite.trade.set_ledger(deployer, voucher_address),
        ),
        (
            "ledger may hold settlement tokens",
            lambda: suite.registry.call("isSystemAccount", voucher_address),
            lambda: suite.registry.send(deployer, "setSystemAccount", voucher_address, True),
        ),
        (
            "discount desk may move settlement tokens (it pays holders from financiers' cash)",
            lambda: suite.registry.call("isSystemAccount", suite.desk.address),
            lambda: suite.registry.send(deployer, "setSystemAccount", suite.desk.address, True),
        ),
        (
            "discount desk named in the ledger",
            lambda: suite.voucher.call("parameters")[2] == suite.desk.address,
            lambda: suite.voucher.send(deployer, "setDiscountDesk", suite.desk.address),
        ),
        (
            # A member so that it may hold pledged vouchers in custody and the insurers' escrow,
            # and fund slots on a payer's behalf; the financier role is the one that holds vouchers
            # without issuing or trading documents.
            "credit desk admitted as a member (financier role: custody of pledges, insurance escrow)",
            lambda: suite.registry.status_of(suite.credit.address) == MemberStatus.ACTIVE,
            lambda: suite.registry.admit(
                operator, suite.credit.address, CREDIT_DESK_NAME, Role.FINANCIER, keccak(text=CREDIT_DESK_NAME)
            ),
        ),
        (
            # A system account so that its court orders (redirectHeld) count operators'
            # approvals in the registry, as the ledger's forceTransfer does.
            "credit desk may put its court orders under the approval threshold",
            lambda: suite.registry.call("isSystemAccount", suite.credit.address),
            lambda: suite.registry.send(deployer, "setSystemAccount", suite.credit.address, True),
        ),
        (
            "credit desk named in the ledger",
            lambda: suite.voucher.call("creditDesk") == suite.credit.address,
            lambda: suite.voucher.send(deployer, "setCreditDesk", suite.credit.address),
        ),
        (
            "metadata descriptor named in the ledger",
            lambda: suite.voucher.call("parameters")[4] == deployment.address("VoucherDescriptor"),
            lambda: suite.voucher.send(deployer, "setDescriptor", deployment.address("VoucherDescriptor")),
        ),
    ]
    for description, done, do in steps:
        if done():
            continue
        log(f"wiring: {description}")
        result = do()
        report.wired.append(description)
        report.gas[f"wire: {description}"] = result.gas_used
    save(deployment, manifest_dir)
    return report
