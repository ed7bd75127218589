"""ape run verify [--network ...] [--only CONTRACT ...]

Recompiles each contract of the deployed suite from the solc input and metadata that
`ape run deploy` wrote (frontend_bridge/deployments/verify/<chain-id>/) and compares the result
with the code on chain: every byte, the metadata hash included, and each immutable against
the value it must hold. Exits with status 1 when a contract does not verify. Compiling the
whole suite via-IR takes a minute or two."""

import click
from ape.cli import ConnectedProviderCommand

from scf.cli import connect, finishing
from scf.contracts import SUITE
from scf.paths import deployments_dir
from scf.sources import verify_deployed, verify_dir
from scf.suite import attach_live


@click.command(cls=ConnectedProviderCommand, short_help="Check the deployed code against its written sources")
@click.option("--only", "names", multiple=True, type=click.Choice(SUITE), help="Check only this contract (repeatable).")
def cli(provider, names):
    conn = connect(provider)
    with finishing("verification"):
        suite = attach_live(conn, deployments_dir())
        directory = verify_dir(deployments_dir(), conn.chain_id)
        click.echo(f"recompiling from {directory} ...", err=True)
        report = verify_deployed(conn, suite.deployment, directory, names or SUITE)
    click.echo(report.text())
    if not report.ok:
        raise SystemExit(1)
