"""The suite deploys, wires itself, and redeploying changes nothing."""

from scf.contracts import SUITE
from scf.deploy import deploy_suite


def test_a_fresh_chain_gets_the_whole_suite_wired(bare_suite, cast):
    d = bare_suite.deployment
    assert set(d.contracts) == set(SUITE)
    assert bare_suite.trade.call("isLedger", bare_suite.voucher.address)
    assert bare_suite.registry.call("isSystemAccount", bare_suite.voucher.address)
    assert bare_suite.voucher.call("parameters")[2] == bare_suite.desk.address
    assert bare_suite.registry.is_operator(cast.operator.address)
    assert bare_suite.voucher.call("valueDecimals") == 2 == bare_suite.token.call("decimals")


def test_deploying_again_on_the_same_chain_sends_nothing(conn, bare_suite, cast, tmp_path):
    manifest_dir = tmp_path / "deployments"
    first = deploy_suite(conn, cast.governance, cast.operator, manifest_dir=manifest_dir)
    assert first.changed
    block_before = conn.w3.eth.block_number
    second = deploy_suite(conn, cast.governance, cast.operator, manifest_dir=manifest_dir)
    assert not second.changed
    assert conn.w3.eth.block_number == block_before
    assert second.deployment.contracts == first.deployment.contracts
