"""`ape run docs` as members use it, on a node of the test's own (the ape node network): the
operator seeds the example consortium, whose KYC evidence goes into the vault sealed and on
chain as salted commitments, and whose escrow policy names the regulator, then shares a
member's evidence with the member, which had no vault key when it was seeded; tier 1 files its
order and invoice, the hospital confirms each after opening it; tier 1 discloses the trail
behind its voucher to the bank, which verifies it and opens the invoice; another bank is
refused; a lost file is reported by `docs list`."""

from __future__ import annotations

from eth_utils import keccak

from scf import manifest
from scf.suite import Suite
from scf.vault import Vault, VaultDesk
from scf.wallet import dev_key
from tests.nodes import AnvilNode, ScratchProject
from tests.support import ROOT

NETWORK = ("--network", "ethereum:devnet:node")
EXAMPLE = ROOT / "consortium" / "example.yaml"


def test_members_put_confirm_share_verify_and_get_documents_from_the_command_line(tmp_path):
    node = AnvilNode(tmp_path / "node").start()
    try:
        project = ScratchProject(tmp_path / "project", node.url)

        def docs(*args: str, key: str, expect: int = 0) -> str:
            code, out, err = project.ape_run("docs", *args, "--dev-key", key, *NETWORK).wait(timeout=180)
            assert code == expect, f"docs {' '.join(args)} as {key}: exit {code}\n{out}\n{err}"
            return out + err

        code, out, err = project.ape_run("deploy", *NETWORK).wait(timeout=180)
        assert code == 0, out + err
        hospital, tier1, bank, other_bank, auditor = (
            dev_key(n).address for n in ("hospital", "tier1", "bank-a", "bank-b", "auditor"))
        docs("key", key="auditor")  # the regulator publishes its vault key before it is admitted
        code, out, err = project.ape_run("seed", "--file", str(EXAMPLE), *NETWORK).wait(timeout=180)
        assert code == 0, out + err
        assert "the vault's escrow policy is set" in out

        conn = node.connect()
        suite = Suite.attach(conn, manifest.load(conn.chain_id, project.root / "frontend_bridge" / "deployments"))
        kyc = (ROOT / "consortium" / "kyc" / "hospital.txt").read_bytes()
        _, committed = suite.registry.profile(hospital)
        assert committed != keccak(kyc)  # admitted with a salted commitment, not the file's bare hash
        opened = tmp_path / "hospital-kyc.txt"
        docs("get", "--kyc", hospital, "--out", str(opened), key="auditor")  # escrowed for the regulator
        assert opened.read_bytes() == kyc

        vault = Vault(project.root / ".cache" / f"vault-{conn.chain_id}")  # the scripts' default vault
        assert "can now be sent document keys" in docs("key", key="hospital")
        for key in ("tier1", "bank-a", "bank-b"):  # the same, without starting ape three more times
            VaultDesk(vault, suite, dev_key(key)).publish_key()
        # The hospital had no key when it was seeded: the operator shares its evidence with it now.
        said = docs("share", "--kyc", hospital, "--to", hospital, "--purpose", "its own copy", key="operator")
        assert f"shared the KYC evidence of {hospital} with {hospital}" in said
        assert VaultDesk(vault, suite, dev_key("hospital")).get_kyc(hospital).opening.content == kyc
        order, invoice = tmp_path / "po-31.txt", tmp_path / "inv-31.txt"
        order.write_bytes(b"PO-31: 10 ventilators, 250,000.00 CNY")
        invoice.write_bytes(b"INV-31: 250,000.00 CNY")
        said = docs("put", str(order), "--type", "order", "--counterparty", hospital, "--amount", "250000.00",
                    key="tier1")
        assert "filed and anchored as trade record 1" in said
        docs("confirm", "1", key="hospital")
        docs("put", str(invoice), "--type", "invoice", "--counterparty", hospital, "--amount", "250000.00",
             "--parent", "1", key="tier1")
        assert "matches its commitment on chain" in docs("confirm", "2", key="hospital")

        slot, _ = suite.voucher.issue(dev_key("hospital"), tier1, 250_000_00, conn.block_timestamp() + 86_400 * 60, 2)
        suite.voucher.accept(dev_key("tier1"), slot)
        said = docs("share", "--voucher", f"{slot}.1", "--to", bank, "--purpose", "discount talks", key="tier1")
        assert "shared trade records 2, 1 with" in said
        said = docs("verify", f"{slot}.1", key="bank-a")
        assert "2 documents verified against the chain" in said and "inv-31.txt" in said
        got = tmp_path / "bank-copy.txt"
        docs("get", "2", "--out", str(got), key="bank-a")
        assert got.read_bytes() == invoice.read_bytes()

        refused = docs("get", "2", "--out", str(tmp_path / "not-mine.txt"), key="bank-b", expect=2)
        assert "is not entitled to document" in refused and not (tmp_path / "not-mine.txt").exists()
        refused = docs("share", "--record", "2", "--to", tier1, key="bank-b", expect=2)
        assert "is not a party to trade record 2" in refused
        assert "unknown document type" in docs("put", str(order), "--type", "bill", "--counterparty", hospital,
                                               "--amount", "1.00", key="tier1", expect=2)

        listed = docs("list", key="bank-a")
        assert "held" in listed and f"{bank}" in listed
        (vault.blobs / vault.document_of_record(1).blob).unlink()
        lost = docs("list", key="bank-a", expect=2)
        assert "FILE MISSING" in lost and "1 document file(s) are missing" in lost
        assert "is missing" in docs("verify", f"{slot}.1", key="bank-a", expect=2)
        assert auditor in {g.reader for g in vault.grants(vault.document_of_record(2).commitment)}
        vault.close()
    finally:
        node.stop()

