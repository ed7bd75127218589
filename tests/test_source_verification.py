"""Sources any explorer can verify: the standard-JSON input and metadata written for each
contract of the deployed suite recompile, alone, to the code on chain, metadata hash included.

The suite is recompiled once for the module (eight via-IR compiles: about a minute here)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from eth_account.messages import encode_typed_data

from scf.contracts import SUITE
from scf.manifest import Deployment
from scf.sources import compare, recompile, verify_dir, write_sources
from scf.typed_data import full_message


@pytest.fixture(scope="module")
def written(conn, bare_suite, tmp_path_factory):
    """The files ``ape run deploy`` writes, for the suite the fixtures deployed."""
    directory = verify_dir(tmp_path_factory.mktemp("deployments"), conn.chain_id)
    return write_sources(directory, replace=SUITE)


@pytest.fixture(scope="module")
def recompiled(written):
    return recompile(written.directory)


def _word_at(code: bytes, start: int) -> bytes:
    return code[start:start + 32]


def test_every_contract_of_the_suite_recompiles_from_its_files_to_the_code_on_chain(
    conn, bare_suite, written, recompiled
):
    assert written.written == list(SUITE)
    for name in SUITE:
        for path in written.paths(name):
            assert path.is_file(), path

    report = compare(conn, bare_suite.deployment, recompiled, written.directory)

    assert report.ok, report.text()
    assert [c.name for c in report.contracts] == list(SUITE)
    # Every immutable of the suite is checked against the value it must hold.
    assert [i.label for c in report.contracts for i in c.immutables if i.expected is None] == []

    # The same facts, read here from the code on chain: the ledger's code is the recompiled
    # code once its immutables are filled in, its CBOR tail (the metadata hash) included...
    voucher = recompiled["ReceivableVoucher"]
    on_chain = bytearray(conn.code_at(bare_suite.voucher.address))
    registry_word = bytes(12) + bytes.fromhex(bare_suite.registry.address[2:])
    for start, length in voucher.immutables["ConsortiumGuarded.registry"]:
        assert length == 32 and _word_at(on_chain, start) == registry_word
    for refs in voucher.immutables.values():
        for start, length in refs:
            on_chain[start:start + length] = bytes(length)
    assert bytes(on_chain) == voucher.runtime
    # ...and the written metadata is byte for byte the one solc makes of the written input.
    assert voucher.metadata_matches
    metadata = json.loads(written.paths("ReceivableVoucher")[1].read_text())
    assert metadata["settings"]["compilationTarget"] == {"contracts/voucher/ReceivableVoucher.sol": "ReceivableVoucher"}

    # The desk's cached EIP-712 domain is the one members sign offers for (eth-account's encoding).
    desk = recompiled["DiscountDesk"]
    [(start, _)] = desk.immutables["EIP712._cachedDomainSeparator"]
    domain = encode_typed_data(full_message=full_message(
        "DiscountOffer", {"tokenId": 0, "value": 0, "rateBps": 0, "deadline": 0, "nonce": 0,
                          "seller": bare_suite.desk.address, "financier": bare_suite.desk.address,
                          "recourse": False},
        conn.chain_id, bare_suite.desk.address)).header
    assert _word_at(conn.code_at(bare_suite.desk.address), start) == domain


def test_the_written_input_is_what_ape_gives_solc(project, written):
    from ape import compilers

    sources = sorted(Path(project.path, "contracts").rglob("*.sol"))
    [ape_input] = compilers.solidity.get_standard_input_json(sources, project=project).values()
    ape_settings = {k: v for k, v in ape_input["settings"].items() if k != "outputSelection"}
    for name in SUITE:
        standard_input = json.loads(written.paths(name)[0].read_text())
        assert {k: v for k, v in standard_input["settings"].items() if k != "outputSelection"} == ape_settings
        for source_id, source in standard_input["sources"].items():
            assert source == ape_input["sources"][source_id], (name, source_id)
    # Only the sources each contract uses: the token's input has no voucher.
    token_input = json.loads(written.paths("SettlementToken")[0].read_text())
    assert "contracts/voucher/ReceivableVoucher.sol" not in token_input["sources"]
    assert "contracts/settlement/SettlementToken.sol" in token_input["sources"]


def test_a_one_byte_change_in_a_comment_of_a_written_source_is_reported_as_a_mismatch(
    conn, bare_suite, written, tmp_path
):
    for path in written.paths("PayoutKeeper"):
        shutil.copy(path, tmp_path / path.name)
    input_path = tmp_path / "PayoutKeeper.input.json"
    standard_input = json.loads(input_path.read_text())
    source = standard_input["sources"]["contracts/keeper/PayoutKeeper.sol"]
    before = source["content"]
    source["content"] = before.replace("EIP-170 size limit", "EIP-171 size limit")
    assert sum(a != b for a, b in zip(before, source["content"], strict=True)) == 1
    input_path.write_text(json.dumps(standard_input))

    report = compare(conn, bare_suite.deployment, recompile(tmp_path, ["PayoutKeeper"]), tmp_path)

    assert not report.ok
    [check] = report.contracts
    # The code is the same (a comment), so only the metadata hash tells these sources apart.
    assert len(check.problems) == 2, check.problems
    assert check.problems[0] == "the written metadata is not what solc makes of the written input"
    assert check.problems[1].startswith("the metadata hash differs")
    assert "MISMATCH  PayoutKeeper" in report.text() and "NOT verified" in report.text()


def test_an_immutable_pointing_elsewhere_than_the_manifest_says_is_reported(conn, bare_suite, recompiled, written):
    registry, trade = bare_suite.registry.address, bare_suite.trade.address
    lying = Deployment.from_json(bare_suite.deployment.to_json())
    lying.contracts = {name: dict(entry) for name, entry in lying.contracts.items()}
    lying.contracts["ConsortiumRegistry"]["address"] = trade  # the manifest names another registry

    report = compare(conn, lying, {"TradeRegistry": recompiled["TradeRegistry"]}, written.directory)

    assert not report.ok
    [check] = report.contracts
    assert check.problems == [
        f"immutable ConsortiumGuarded.registry holds 0x{bytes(12).hex()}{registry[2:].lower()}, "
        f"expected 0x{bytes(12).hex()}{trade[2:].lower()} (the ConsortiumRegistry)"
    ]


def test_a_rerun_that_deploys_nothing_keeps_the_files_of_the_code_deployed_earlier(written, tmp_path):
    directory = tmp_path / "31337"
    shutil.copytree(written.directory, directory)
    earlier = written.paths("TradeRegistry")[0]
    (directory / earlier.name).write_text('{"earlier": true}')  # stands for files of older code
    (directory / "PayoutKeeper.metadata.json").unlink()

    again = write_sources(directory, replace=[])

    assert again.written == ["PayoutKeeper"]  # missing: written from today's sources
    assert set(again.kept) == set(SUITE) - {"PayoutKeeper"}
    assert (directory / earlier.name).read_text() == '{"earlier": true}'
    assert (directory / "PayoutKeeper.metadata.json").read_bytes() == written.paths("PayoutKeeper")[1].read_bytes()


def test_a_build_whose_last_compile_left_files_out_is_flagged(project, tmp_path):
    build = json.loads(Path(project.path, ".build", "__local__.json").read_text())
    [compiler] = build["compilers"]
    compiled = compiler["settings"]["outputSelection"]
    assert set(build["sources"]) <= set(compiled)  # the fixtures' build: one compile of everything
    # As after editing PayoutKeeper.sol alone: ape recompiles that file and what it imports.
    compiler["settings"]["outputSelection"] = {
        sid: sel for sid, sel in compiled.items() if sid not in ("contracts/trade/TradeRegistry.sol",
                                                                 "contracts/test/PlainHolder.sol")
    }
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps(build))

    result = write_sources(tmp_path / "verify", replace=["PayoutKeeper"], names=["PayoutKeeper"], build_file=partial)

    assert result.written == ["PayoutKeeper"]
    assert result.caveat is not None
    assert result.caveat.startswith("the build's last compile left out 2 of the project's sources "
                                    "(contracts/test/PlainHolder.sol, contracts/trade/TradeRegistry.sol)")
    assert "'ape compile --force'" in result.caveat
