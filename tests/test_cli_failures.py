"""The scripts fail as an operator needs: a node that dies mid-run, on the ape node network
(``--network ethereum:devnet:node``) as on any other, ends in one line saying that re-running
finishes the work, never in a traceback; and a transaction whose answer is lost on that
network is reported, never sent a second time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
import yaml
from ape.exceptions import ProviderNotConnectedError
from ape_ethereum.provider import _create_web3
from eth_utils import keccak
from web3 import HTTPProvider, Web3
from web3.exceptions import CannotHandleRequest
from web3.providers import AutoProvider, BaseProvider

from scf.chain import Artifacts, BatchError, Connection, ContractRevert, RpcError
from scf.chain.devnet import set_balance
from scf.cli import direct_web3, finishing
from scf.wallet import dev_key
from tests.nodes import AnvilNode, FlakyProxy, ScratchProject

RERUN = "Re-run the same command to finish: nothing already on chain is sent again."  # the line operators know


def _consortium(folder: Path, size: int) -> Path:
    (folder / "kyc.txt").write_text("kyc evidence")
    members = [
        {"name": f"Supplier {i:03d}", "dev_key": f"cli failure {i}", "roles": ["supplier"], "kyc_file": "kyc.txt",
         "opening_balance": "1000.00"}
        for i in range(size)
    ]
    path = folder / "consortium.yaml"
    path.write_text(yaml.safe_dump({"members": members}))
    return path


def test_seeding_on_the_ape_node_network_whose_node_dies_ends_in_the_rerun_line_not_a_traceback(tmp_path):
    node = AnvilNode(tmp_path / "node").start()
    seeding = None
    try:
        project = ScratchProject(tmp_path / "project", node.url)
        code, out, err = project.ape_run("deploy", "--network", "ethereum:devnet:node").wait(timeout=120)
        assert code == 0, out + err
        assert (project.root / "frontend_bridge" / "deployments" / "31337.json").exists()  # not the repository's

        chain = Web3(HTTPProvider(node.url))
        deployed_at = chain.eth.block_number
        consortium = _consortium(tmp_path, 300)  # 600 transactions: seconds of seeding to cut short
        seeding = project.ape_run("seed", "--network", "ethereum:devnet:node", "--file", str(consortium))
        deadline = time.monotonic() + 60
        while chain.eth.block_number < deployed_at + 6:  # the first admissions are mined
            assert seeding.running(), f"seeding ended before the node was killed:\n{seeding.stderr_path.read_text()}"
            assert time.monotonic() < deadline, "seeding did not start within 60 s"
            time.sleep(0.05)
        node.stop()  # SIGKILL: the node dies mid-run

        code, out, err = seeding.wait(timeout=60)
    finally:
        node.stop()
        if seeding is not None and seeding.running():
            seeding.process.kill()
    lines = err.strip().splitlines()
    assert "Traceback" not in err, err
    assert code == 2, out + err
    assert lines[-2].startswith("error: seeding stopped: "), err
    assert "127.0.0.1" in lines[-2]  # names the node
    assert lines[-1] == RERUN


@pytest.mark.parametrize("gone", [
    RpcError("the node at http://127.0.0.1:8545 did not answer after 4 tries"),
    BatchError(3, RpcError("the node at http://127.0.0.1:8545 did not answer after 4 tries")),
    CannotHandleRequest("Could not discover provider while making request: method:eth_blockNumber\nparams:()\n"),
    ProviderNotConnectedError(),
    requests.ConnectionError("HTTPConnectionPool(host='127.0.0.1', port=8545): Max retries exceeded"),
    ConnectionRefusedError(111, "Connection refused"),
], ids=lambda e: type(e).__name__)
def test_every_way_a_node_can_vanish_ends_in_the_rerun_line(gone, capsys):
    with pytest.raises(SystemExit) as stopped, finishing("seeding"):
        raise gone
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("error: seeding stopped: ")
    assert lines[1:] == [RERUN]  # the node's own multi-line text stays on the first line


def test_a_refused_batch_item_is_reported_as_a_refusal_not_as_a_node_to_rerun_against(capsys):
    refusal = ContractRevert("UnexpectedStatus", {"account": "0x" + "11" * 20}, "ConsortiumRegistry", b"")
    with pytest.raises(SystemExit), finishing("seeding"):
        raise BatchError(2, refusal)
    err = capsys.readouterr().err
    assert err.startswith("error: seeding was refused by the chain: batch item 2 failed: unexpected status")
    assert RERUN not in err


def test_a_revert_reason_that_carries_escape_sequences_is_printed_escaped(capsys):
    hostile = "no\x1b[2J\x1b[1;1HAll members paid in full\r\n"
    with pytest.raises(SystemExit), finishing("the story 'hospital'"):
        raise ContractRevert("Error", {"message": hostile}, None, b"")
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\r" not in err
    assert err == (
        "error: the story 'hospital' was refused by the chain: "
        "error: message=no\\x1b[2J\\x1b[1;1HAll members paid in full\\r\\n [Error]\n"
    )


class _Found(BaseProvider):
    """Stands for the HTTPProvider that AutoProvider found at connect."""

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


def test_the_web3_of_an_ape_node_provider_is_pointed_at_the_provider_it_found():
    found = _Found()
    w3 = Web3(AutoProvider(potential_providers=[lambda: found]))
    assert w3.is_connected()  # what ape's provider checks when it connects
    assert direct_web3(w3) is w3 and w3.provider is found
    plain = Web3(HTTPProvider("http://127.0.0.1:9"))
    assert direct_web3(plain).provider is plain.provider  # anything else is left as it is


def test_a_send_whose_answer_is_lost_on_an_ape_node_network_is_reported_and_never_sent_twice(tmp_path):
    node = AnvilNode(tmp_path / "node").start()
    sender, receiver = dev_key("cli failure sender"), dev_key("cli failure receiver")
    try:
        with FlakyProxy(node.url) as proxy:
            w3 = _create_web3(http_uri=proxy.url, request_kwargs={"timeout": 5})  # as ape's node provider builds it
            assert isinstance(w3.provider, AutoProvider) and w3.is_connected()
            conn = Connection(direct_web3(w3), Artifacts({}, "none"))
            set_balance(conn.w3, sender.address, 10**20)
            transfer = {"to": receiver.address, "value": 1, "gas": 21_000, "nonce": 0, "chainId": conn.chain_id,
                        **conn.fees()}
            proxy.faults["eth_sendRawTransaction"] = ["drop"]
            with pytest.raises(RpcError, match=r"was sent to .* which did not confirm receiving it"):
                conn.broadcast(sender, transfer)  # the broadcast itself, without a contract
        assert proxy.seen["eth_sendRawTransaction"] == 1
        tx_hash = keccak(sender.sign_transaction(transfer).raw_transaction)
        assert Web3(HTTPProvider(node.url)).eth.wait_for_transaction_receipt(tx_hash, timeout=10)["status"] == 1
    finally:
        node.stop()
