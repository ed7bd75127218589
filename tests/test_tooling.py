"""Operators' and members' tooling: seeding from the example consortium (twice), a member
signing with its own encrypted keyfile, bad input stopped before anything is sent, and names
chosen by applicants printed so that they cannot rewrite the reader's terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import pytest
from eth_account import Account

from scf.chain import TransactionRefused
from scf.chain.devnet import set_balance
from scf.contracts import DocType, MemberStatus, Role
from scf.indexer import Event
from scf.inspect import Inspector
from scf.member import InputError, MemberSession
from scf.money import AmountError, decimal_text, to_minor
from scf.scenario import Financing, Payment, ScenarioReport
from scf.seed import load_consortium, seed_members
from scf.text import printable
from scf.vault import Vault, VaultDesk
from scf.wallet import WalletError, load_ape_account
from tests.support import CNY, DAY, ROOT

EXAMPLE = ROOT / "consortium" / "example.yaml"


def test_seeding_the_example_consortium_twice_admits_each_member_once(conn, bare_suite, cast):
    members = load_consortium(EXAMPLE, conn.chain_id)
    assert [spec.name for spec, _ in members][:2] == ["City Hospital Group", "MedSupply Co (tier 1)"]
    first = seed_members(bare_suite, cast.operator, members)
    assert len(first["admit_batch"]) == 1 and len(first["mint"]) == 3  # seven firms, one admission
    block = conn.w3.eth.block_number
    second = seed_members(bare_suite, cast.operator, members)
    assert second == {} and conn.w3.eth.block_number == block
    hospital, hospital_address = members[0]
    record = bare_suite.registry.member(hospital_address)
    assert record.status == MemberStatus.ACTIVE and record.roles == Role.CORE_ENTERPRISE
    assert record.credit_limit == 5_000_000 * CNY
    admitted = bare_suite.registry.contract.events.MemberAdmitted.get_logs(
        from_block=block - 10, argument_filters={"account": hospital_address})
    assert [(e["args"]["name"], e["args"]["kycHash"]) for e in admitted] == [(hospital.name, hospital.kyc_hash)]
    assert bare_suite.token.balance_of(hospital_address) == 3_000_000 * CNY


def test_a_supplier_accepts_a_voucher_signing_with_its_own_encrypted_keyfile(
    suite, cast, now, tmp_path, monkeypatch, w3
):
    key = Account.create()
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts" / "acme.json").write_text(json.dumps(Account.encrypt(key.key, "s3cret")))
    monkeypatch.setenv("APE_DATA_FOLDER", str(tmp_path))
    with pytest.raises(WalletError, match="could not decrypt"):
        load_ape_account("acme", "wrong")
    acme = load_ape_account("acme", "s3cret")
    assert acme.address == key.address
    set_balance(w3, acme.address, 10**20)
    suite.registry.admit(cast.operator, acme.address, "Acme Components", Role.SUPPLIER, b"\x01" * 32)

    hospital = MemberSession(suite, cast.hospital)
    vault = Vault(tmp_path / "vault")
    VaultDesk(vault, suite, cast.hospital).publish_key()
    record, _ = VaultDesk(vault, suite, acme).put_trade_document(
        DocType.INVOICE, b"acme invoice 1", "inv-1.pdf", cast.hospital.address, to_minor("50000.00"))
    VaultDesk(vault, suite, cast.hospital).confirm(record)
    slot = hospital.issue(acme.address, Decimal("50000.00"), datetime.fromtimestamp(now + 30 * DAY, UTC), record)
    token = MemberSession(suite, acme).accept(slot)
    assert suite.voucher.owner_of(token) == acme.address


def test_a_transaction_the_node_refuses_is_reported_in_words_and_nothing_moves(suite, cast, conn):
    """A member without gas money: the node refuses the transaction (it is never taken), and
    the error says so instead of a JSON-RPC traceback."""
    broke = Account.create()
    suite.registry.admit(cast.operator, broke.address, "Broke Trading", Role.SUPPLIER, b"\x02" * 32)
    block = conn.w3.eth.block_number
    refusal = r"refused transaction 0x[0-9a-f]{64} from .*nothing moved by it"
    with pytest.raises(TransactionRefused, match=refusal) as refused:
        suite.token.approve(broke, cast.bank.address, 1)
    assert "insufficient funds" in str(refused.value).lower()
    assert conn.w3.eth.block_number == block and suite.token.allowance(broke.address, cast.bank.address) == 0


def test_bad_member_input_is_refused_before_anything_is_signed(suite, cast, accepted_voucher, conn, now):
    slot, root = accepted_voucher()
    tier1 = MemberSession(suite, cast.tier1)
    hospital = MemberSession(suite, cast.hospital)
    block = conn.w3.eth.block_number
    with pytest.raises(InputError, match="receiver '0x12' is not an address"):
        tier1.pay(root, "0x12", "10.00")
    with pytest.raises(AmountError, match="negative"):
        tier1.pay(root, cast.tier2.address, "-1")
    with pytest.raises(AmountError, match="more than 2 decimal places"):
        tier1.pay(root, cast.tier2.address, "0.001")
    with pytest.raises(AmountError, match="float"):
        tier1.pay(root, cast.tier2.address, 0.1)
    with pytest.raises(InputError, match="voucher 1.99 does not exist"):
        tier1.pay((slot << 32) | 99, cast.tier2.address, "1.00")
    with pytest.raises(InputError, match="is not in the future"):
        hospital.issue(cast.tier1.address, "1.00", datetime.fromtimestamp(now - DAY, UTC), 1)
    with pytest.raises(ValueError, match="has no time zone"):
        hospital.issue(cast.tier1.address, "1.00", datetime.now() + timedelta(days=3), 1)
    assert conn.w3.eth.block_number == block


def _ape_run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        [str(Path(sys.executable).parent / "ape"), "run", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


def test_ape_run_seed_rejects_a_broken_consortium_file_with_each_line_and_sends_nothing(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "members:\n"
        "  - name: Ghost Trading\n"
        "    address: '0x1234'\n"
        "    roles: [supplier, lender]\n"
        "    kyc_file: missing.pdf\n"
        "    opening_balance: '12.345'\n"
    )
    result = _ape_run("seed", "--file", str(broken))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "error: nothing was sent." in result.stderr
    for expected in (
        "line 2: members[1]: address '0x1234' is not a 20-byte hex address",
        "line 2: members[1]: roles: unknown role 'lender'",
        "line 2: members[1]: kyc_file: missing.pdf not found",
        "line 2: members[1]: opening_balance: amount 12.345 has more than 2 decimal places",
    ):
        assert expected in result.stderr


def test_ape_run_inspect_on_a_chain_without_the_suite_says_to_deploy(tmp_path):
    result = _ape_run("inspect", "voucher", "1.1")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "run 'ape run deploy'" in result.stderr
    assert result.stderr.strip().count("\n") <= 2  # one clear line (plus ape's own start/stop notices)


# ------------------------------------------------------------- hostile names

# A name an applicant could register: clear the screen, home the cursor, overwrite the line
# with another member's name, reverse what follows, and a C1 "CSI" that some terminals obey.
HOSTILE = "Acme\x1b[2J\x1b[H\rCommerce Bank\n\u202eknaB\x9b31m"
HOSTILE_SHOWN = "Acme\\x1b[2J\\x1b[H\\rCommerce Bank\\n\\u202eknaB\\x9b31m"
UNSAFE = ("\x1b", "\r", "\x9b", "\u202e")


def test_control_characters_in_a_name_are_shown_as_escapes_and_ordinary_names_untouched():
    assert printable(HOSTILE) == HOSTILE_SHOWN
    assert printable(HOSTILE_SHOWN) == HOSTILE_SHOWN  # escaping twice changes nothing
    ordinary = ("Precision Parts Ltd (tier 2)", "Précision Médicale SA", "上海精密零件有限公司", "شركة الإمداد",
                "Tech Crew 👩\u200d🔧")  # a zero-width joiner inside an emoji stays
    for name in ordinary:
        assert printable(name) == name
    assert printable("\x00\x07\t\x7f\u2028") == "\\x00\\x07\\t\\x7f\\u2028"
    assert printable("two lines\nby design\r", keep_newlines=True) == "two lines\nby design\\r"


def test_the_scenario_report_prints_a_hostile_member_name_escaped_wherever_it_appears():
    address = "0x" + "ab" * 20
    report = ScenarioReport(
        "hospital", "CNY", 31337, {address: HOSTILE},
        lineage=[{"voucher": "1.1", "holder": HOSTILE, "value": "300000.00", "depth": 0, "parent": None}],
        payments=[Payment(HOSTILE, "redemption", 300_000_00, 1_900_000_000, f"voucher 1.1 from {HOSTILE}")],
        financings=[Financing(HOSTILE, 300_000_00, 297_750_00, 450, 60 * DAY)],
        gas={"admit": [120_000]}, cash_before={address: 0}, cash_after={address: 300_000_00},
    )
    text = report.render()
    assert not any(c in text for c in UNSAFE)
    assert text.count(HOSTILE_SHOWN) == 5  # lineage, payment and its detail, financing, cash
    lines = text.splitlines()
    assert any(line.startswith("  1.1") and HOSTILE_SHOWN in line for line in lines)  # still one row


def test_inspect_prints_a_hostile_member_name_from_the_chain_escaped():
    member, voucher, desk = "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20
    suite = SimpleNamespace(
        voucher=SimpleNamespace(address=voucher), desk=SimpleNamespace(address=desk),
        keeper=SimpleNamespace(address="0x" + "44" * 20), credit=SimpleNamespace(address="0x" + "55" * 20),
    )
    index = SimpleNamespace(profile=lambda _address: (HOSTILE, b""))  # names are in the registry's events only
    admitted = Event(12, 0, "0x" + "00" * 32, 1_900_000_000, member, "ConsortiumRegistry", "MemberAdmitted",
                     {"account": member, "name": HOSTILE})
    line = Inspector(suite, index=index).event_line(admitted)
    assert not any(c in line for c in UNSAFE)
    assert line.count(HOSTILE_SHOWN) == 3  # the account, the name argument, and the actor


@pytest.mark.parametrize("where", ["the project", "a folder outside it"])
def test_the_ape_plugin_points_every_ape_start_at_the_offline_compiler_without_env_sh(tmp_path, where):
    """ape imports the plugin at start-up; with neither env.sh nor the Makefile's variables it
    must still name the project's solc bridge (else ape-solidity would try to download solc)."""
    env = {k: v for k, v in os.environ.items() if k not in ("SOLCX_BINARY_PATH", "SCF_PROJECT_ROOT")}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if "node_modules" not in p)
    show = "import os, ape_scf_toolchain; print(os.environ['SOLCX_BINARY_PATH']); print(os.environ['PATH'])"
    cwd = ROOT if where == "the project" else tmp_path
    result = subprocess.run([sys.executable, "-c", show], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    bridge, path = result.stdout.splitlines()
    assert Path(bridge) == ROOT / "tools" / "solc"
    assert str(ROOT / "node_modules" / ".bin") in path.split(os.pathsep)


@pytest.mark.parametrize(
    "value, places, text",
    [
        (Fraction(1, 3), 4, "0.3333"),
        (Fraction(2, 3), 4, "0.6667"),
        (Fraction(-1, 3), 2, "-0.33"),
        (Fraction(1, 8), 2, "0.12"),  # half to even
        (Fraction(3, 8), 2, "0.38"),
        (Fraction(5, 1000), 2, "0.00"),
        (Fraction(7, 2), 0, "4"),
        (Fraction(12345, 1), 3, "12345.000"),
        (Fraction(457, 10_000), 6, "0.045700"),
    ],
)
def test_an_exact_fraction_is_written_as_a_decimal_rounded_half_to_even(value, places, text):
    assert decimal_text(value, places) == text
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    assert text == str(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN))
