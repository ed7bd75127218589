"""Fixtures: a deployed suite on ape's anvil, and a cast of consortium members who sign
with their own keys (eth-account), as members do outside tests.

ape snapshots the chain around every fixture scope, so each test starts from the state the
fixtures built and leaves nothing behind.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from scf.chain import Artifacts, Connection
from scf.chain.devnet import increase_time, set_balance
from scf.contracts import DocType, Role
from scf.deploy import deploy_suite
from scf.suite import Suite
from scf.toolchain import ensure_compiler
from scf.vault import Vault, VaultDesk
from tests.support import (
    BANK_OPENING_CASH,
    BRIDGE,
    DAY,
    ETHER,
    FACE,
    HOSPITAL_CREDIT_LIMIT,
    HOSPITAL_OPENING_CASH,
    KYC,
    ROOT,
    member_key,
)

ensure_compiler()  # the offline solc bridge, before ape compiles anything


def pytest_collection_modifyitems(config, items):
    """``SCF_REVERSE_ORDER=1`` runs the collected tests in reverse order: a suite whose result
    changes with it leans on state one test leaves for another."""
    if os.environ.get("SCF_REVERSE_ORDER") == "1":
        items.reverse()


@dataclass
class Cast:
    """The people of the story."""

    governance: LocalAccount
    operator: LocalAccount
    hospital: LocalAccount  # core enterprise
    tier1: LocalAccount  # supplier of the hospital
    tier2: LocalAccount  # supplier of tier1
    tier3: LocalAccount  # supplier of tier2
    bank: LocalAccount  # financier
    auditor: LocalAccount
    outsider: LocalAccount  # never admitted


@pytest.fixture(scope="session")
def conn(chain, project) -> Connection:
    project.load_contracts()
    return Connection(chain.provider.web3, Artifacts.load(Path(project.path) / ".build" / "__local__.json"))


@pytest.fixture(scope="session")
def w3(conn):
    return conn.w3


@pytest.fixture(scope="session")
def cast(accounts, w3) -> Cast:
    people = Cast(
        governance=Account.from_key(accounts[0].private_key),
        operator=Account.from_key(accounts[1].private_key),
        hospital=member_key("hospital"),
        tier1=member_key("tier1"),
        tier2=member_key("tier2"),
        tier3=member_key("tier3"),
        bank=member_key("bank"),
        auditor=member_key("auditor"),
        outsider=member_key("outsider"),
    )
    for person in vars(people).values():
        set_balance(w3, person.address, 1_000 * ETHER)
    return people


@pytest.fixture(scope="session")
def bare_suite(conn, cast, tmp_path_factory) -> Suite:
    """The suite deployed and wired, with no members."""
    workdir: Path = tmp_path_factory.mktemp("deployment")
    report = deploy_suite(
        conn, cast.governance, cast.operator, manifest_dir=workdir / "deployments"
    )
    return Suite.attach(conn, report.deployment)


@pytest.fixture(scope="session")
def suite(bare_suite, cast) -> Suite:
    """The suite with the story's members admitted and opening cash minted."""
    reg, op = bare_suite.registry, cast.operator
    reg.admit(op, cast.hospital.address, "City Hospital Group", Role.CORE_ENTERPRISE, KYC, HOSPITAL_CREDIT_LIMIT)
    reg.admit(op, cast.tier1.address, "MedSupply Co (tier 1)", Role.SUPPLIER, KYC)
    reg.admit(op, cast.tier2.address, "Precision Parts Ltd (tier 2)", Role.SUPPLIER, KYC)
    reg.admit(op, cast.tier3.address, "Raw Polymers Ltd (tier 3)", Role.SUPPLIER, KYC)
    reg.admit(op, cast.bank.address, "Commerce Bank", Role.FINANCIER, KYC)
    reg.admit(op, cast.auditor.address, "Regulator", Role.AUDITOR, KYC)
    bare_suite.token.mint(op, cast.bank.address, BANK_OPENING_CASH)
    bare_suite.token.mint(op, cast.hospital.address, HOSPITAL_OPENING_CASH)
    return bare_suite


@pytest.fixture
def now(conn) -> int:
    return conn.block_timestamp()


@pytest.fixture
def travel(w3):
    """Moves the chain clock forward by the given seconds."""
    return lambda seconds: increase_time(w3, seconds)


@pytest.fixture
def invoice(suite, cast):
    """A confirmed invoice from a supplier to a debtor; returns its record id."""
    counter = iter(range(1, 10**6))

    def make(creditor=None, debtor=None, amount: int = FACE) -> int:
        creditor = creditor or cast.tier1
        debtor = debtor or cast.hospital
        doc_hash = keccak(text=f"invoice {creditor.address} {debtor.address} {next(counter)} {amount}")
        record_id, _ = suite.trade.register(creditor, DocType.INVOICE, doc_hash, debtor.address, amount)
        suite.trade.confirm(debtor, record_id)
        return record_id

    return make


@pytest.fixture
def accepted_voucher(suite, cast, invoice, now):
    """The hospital's 1,000,000.00 voucher to tier1, due in 90 days, accepted: (slot, root)."""

    def make(face: int = FACE, days: int = 90) -> tuple[int, int]:
        record = invoice(amount=face)
        slot, _ = suite.voucher.issue(cast.hospital, cast.tier1.address, face, now + days * DAY, record)
        root, _ = suite.voucher.accept(cast.tier1, slot)
        return slot, root

    return make


@pytest.fixture(scope="session")
def web_dist(tmp_path_factory) -> Path:
    """The web app (the member page and the supervision view) built once by Vite into a
    temporary folder: its pages and code only; each browser test serves this chain's
    artifacts beside it."""
    out = tmp_path_factory.mktemp("web-dist")
    subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "vite"), "build", "--config", str(BRIDGE / "vite.config.mjs"),
         "--outDir", str(out)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    return out


@pytest.fixture
def vault(tmp_path):
    """An empty document vault in the test's own folder."""
    v = Vault(tmp_path / "vault")
    yield v
    v.close()


@pytest.fixture
def desks(vault, suite, cast) -> dict[str, VaultDesk]:
    """Every member's desk at ``vault``, each with its key card published; the operator's
    policy names the regulator as escrow."""
    people = {name: VaultDesk(vault, suite, getattr(cast, name))
              for name in ("hospital", "tier1", "tier3", "bank", "auditor", "operator", "tier2")}
    for name, desk in people.items():
        if name != "operator":
            desk.publish_key()
    people["operator"].set_policy([cast.auditor.address])
    return people
