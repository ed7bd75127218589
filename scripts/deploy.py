"""ape run deploy [--network ...] [--deployer ALIAS --operator ALIAS] [--fresh]

Deploys the suite (idempotent: on a chain that already has it, sends nothing and says so),
writes frontend_bridge/deployments/<chain-id>.json (the ABIs beside it come from `make compile`)
and, in deployments/verify/<chain-id>/, each contract's solc input and metadata for explorers
(`ape run verify` recompiles them and compares with the chain).
On a local anvil, deterministic development keys are used unless aliases are given; on any
other network the deployer (governance) and operator must be ape keyfile accounts."""

import click
from ape.cli import ConnectedProviderCommand

from scf.chain.devnet import set_balance
from scf.cli import connect, fail, finishing
from scf.deploy import deploy_suite
from scf.manifest import manifest_path
from scf.paths import deployments_dir
from scf.sources import verify_dir, write_sources
from scf.wallet import LOCAL_CHAIN_IDS, dev_key, load_ape_account


@click.command(cls=ConnectedProviderCommand, short_help="Deploy the suite and write its manifest")
@click.option("--deployer", default=None, help="ape keyfile alias of the deployer (becomes governance)")
@click.option("--operator", default=None, help="ape keyfile alias of the first consortium operator")
@click.option("--fresh", is_flag=True, help="Deploy a new suite even if the manifest names a live one.")
def cli(provider, deployer, operator, fresh):
    conn = connect(provider)
    local = conn.chain_id in LOCAL_CHAIN_IDS
    if not local and not (deployer and operator):
        fail(f"chain {conn.chain_id} is not a local anvil: give --deployer ALIAS and --operator ALIAS (ape accounts)")
    with finishing("deployment"):  # the node may stop answering at any request from here on
        governance = load_ape_account(deployer) if deployer else dev_key("governance")
        first_operator = load_ape_account(operator) if operator else dev_key("operator")
        if local:
            for account in (governance, first_operator):
                set_balance(conn.w3, account.address, 10**21)
        report = deploy_suite(conn, governance, first_operator, manifest_dir=deployments_dir(), fresh=fresh,
                              log=lambda m: click.echo(m, err=True))
    path = manifest_path(conn.chain_id, deployments_dir())
    if not report.changed:
        click.echo(f"the suite is already deployed on chain {conn.chain_id}: nothing to do ({path})")
    else:
        for name in report.deployed:
            click.echo(f"deployed {name:<20} {report.deployment.address(name)}")
        for step in report.wired:
            click.echo(f"wired    {step}")
        click.echo(f"manifest written to {path}")
    # For explorers (Sourcify, Blockscout, Otterscan): the files of code deployed earlier are kept.
    with finishing("writing the verification inputs"):
        sources = write_sources(verify_dir(deployments_dir(), conn.chain_id), replace=report.deployed)
    if sources.written:
        click.echo(f"solc inputs and metadata of {', '.join(sources.written)} written to {sources.directory}")
        if sources.caveat:
            click.echo(f"warning: {sources.caveat}", err=True)
