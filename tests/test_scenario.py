"""The main job's story, played by the same code `ape run scenario` runs, with its report
checked to the cent."""

from decimal import Decimal

import pytest
from eth_utils import keccak

from scf import manifest
from scf.scenario import load_scenario, parse_scenario
from scf.scenario.runner import story_vault
from scf.seed import SpecError
from scf.suite import Suite
from scf.vault import Vault, VaultDesk
from scf.wallet import dev_key
from tests.support import STORY, play_story


def test_the_hospital_story_pays_every_holder_and_prices_each_discount_to_the_cent(conn, tmp_path):
    report = play_story(
        conn, load_scenario(STORY), manifest_dir=tmp_path / "deployments"
    )
    data = report.to_json()

    tree = [(row["voucher"], row["holder"], row["value"], row["depth"]) for row in data["lineage"]]
    assert tree == [
        ("1.1", "MedSupply Co (tier 1)", "300000.00", 0),
        ("1.2", "Precision Parts Ltd (tier 2)", "250000.00", 1),
        ("1.3", "Commerce Bank", "150000.00", 2),
        ("1.4", "Commerce Bank", "300000.00", 1),
    ]
    # 300,000.00 at 4.50 % for 60 days: 2,250.00; 150,000.00 at 5.20 % for 60 days: 1,300.00.
    financing = {f["supplier"]: f for f in data["financing"]}
    assert financing["MedSupply Co (tier 1)"]["price"] == "297750.00"
    assert financing["MedSupply Co (tier 1)"]["interest"] == "2250.00"
    assert financing["Raw Polymers Ltd (tier 3)"]["price"] == "148700.00"
    assert Decimal(financing["MedSupply Co (tier 1)"]["effective_annual_rate"]) == pytest.approx(
        Decimal("2250") / Decimal("297750") * 365 / 60, abs=Decimal("1e-6")
    )
    cash = {name: (c["before"], c["after"]) for name, c in data["cash"].items()}
    assert cash["City Hospital Group"] == ("3000000.00", "2000000.00")
    assert cash["MedSupply Co (tier 1)"] == ("0.00", "597750.00")
    assert cash["Precision Parts Ltd (tier 2)"] == ("0.00", "250000.00")
    assert cash["Raw Polymers Ltd (tier 3)"] == ("0.00", "148700.00")
    assert cash["Commerce Bank"] == ("2000000.00", "2003550.00")
    redeemed = sum(Decimal(p["amount"]) for p in data["payments"] if p["kind"] == "redemption")
    assert redeemed == Decimal("1000000.00")
    assert {"issue", "accept", "split_transfer", "discount", "fund", "redeem_batch"} <= set(data["gas"])
    assert "Financing cost per supplier" in report.render()


def test_the_hospital_story_keeps_its_trade_documents_sealed_and_shows_each_holder_the_trail(conn, tmp_path):
    """On chain, each anchored document is a salted commitment that its bare hash does not
    reveal; in the vault, each document opens for its parties and the regulator (the story's
    escrow policy) and, once disclosed, for each holder and the bank, not for anyone else."""
    story = load_scenario(STORY)
    report = play_story(conn, story, manifest_dir=tmp_path / "deployments", vaults=tmp_path / "vaults")
    suite = Suite.attach(conn, manifest.load(conn.chain_id, tmp_path / "deployments"))
    keys = {m.key: dev_key(f"{story.name} {m.key}") for m in story.members}
    vault = Vault(story_vault(tmp_path / "vaults", conn.chain_id, story))
    desk = {key: VaultDesk(vault, suite, account) for key, account in keys.items()}

    assert [(d["record"], d["kind"]) for d in report.documents] == [(1, "order"), (2, "delivery_note"), (3, "invoice")]
    for document in report.documents:
        opened = desk["hospital"].get_record(document["record"]).opening
        anchored = suite.trade.doc_hash(document["record"])
        assert anchored == bytes.fromhex(document["commitment"][2:]) == keccak(opened.salt + keccak(opened.content))
        assert anchored != keccak(opened.content)  # a guessable document is not found by hashing guesses
        assert opened.content.startswith(document["kind"].replace("_", " ").encode())
        for reader in ("tier1", "auditor", "tier2", "tier3", "bank"):
            assert desk[reader].get_record(document["record"]).opening == opened
    assert [(d["by"], d["to"], d["voucher"], d["records"], d["verified_by"]) for d in report.disclosures] == [
        ("MedSupply Co (tier 1)", "Precision Parts Ltd (tier 2)", "1.1", [3, 2, 1], "Precision Parts Ltd (tier 2)"),
        ("Precision Parts Ltd (tier 2)", "Raw Polymers Ltd (tier 3)", "1.2", [3, 2, 1], "Raw Polymers Ltd (tier 3)"),
        ("MedSupply Co (tier 1)", "Commerce Bank", "1.1", [3, 2, 1], "Commerce Bank"),
        ("Raw Polymers Ltd (tier 3)", "Commerce Bank", "1.3", [3, 2, 1], "Commerce Bank"),
    ]
    verifications = [(s.author, s.body["voucher"]) for s in vault.statements("verification")]
    assert verifications == [(keys["tier2"].address, "1.1"), (keys["tier3"].address, "1.2"),
                             (keys["bank"].address, "1.1"), (keys["bank"].address, "1.3")]
    assert "disclosed by Raw Polymers Ltd (tier 3) to Commerce Bank, verified by Commerce Bank" in report.render()
    vault.close()


def test_a_scenario_file_with_mistakes_is_rejected_whole_with_every_problem_named():
    broken = {
        "name": "broken",
        "members": {
            "hospital": {"name": "H", "roles": ["core_enterprise"], "credit_limit": "10.001"},
            "bank": {"name": "B", "roles": ["lender"]},
            "tier1": {"name": "T", "roles": ["supplier"], "cash": -5},
        },
        "steps": [
            {"do": "issue", "id": "v1", "debtor": "hospital", "creditor": "nobody", "invoice": "inv9", "face": 12.5,
             "days": 0},
            {"do": "teleport"},
        ],
    }
    with pytest.raises(SpecError) as excinfo:
        parse_scenario(broken, "broken.yaml")
    text = str(excinfo.value)
    for expected in (
        "members.hospital.credit_limit: amount 10.001 has more than 2 decimal places",
        "members.bank.roles: unknown role 'lender'",
        "members.tier1.cash: amount -5 is negative",
        "steps[1]: creditor 'nobody' is not a member of this scenario",
        "steps[1]: invoice 'inv9' is not defined by an earlier step",
        "steps[1].face: write amounts as quoted strings",
        "steps[1].days: expected a positive whole number",
        "steps[2]: 'do' must be one of",
    ):
        assert expected in text
