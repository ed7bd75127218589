"""ape run scenario [--file scenarios/hospital.yaml] [--out report.json]

Plays a financing story end to end on a local anvil (which ape starts and stops): deploy,
seed, seal trade documents into the story's vault (.cache/story-vaults/) and anchor their salted
commitments, issue, accept, split across tiers, disclose the trail behind a voucher to whom
its holder deals with, discount, time-travel, fund, redeem; prints the report. On a chain
that outlives the command (``--network ethereum:devnet:node``), a run that was interrupted
is resumed by running it again: nothing already done is sent twice (the journal is described
in scf/scenario/runner.py)."""

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from scf.chain.devnet import DevnetClock, faucet
from scf.cli import connect, fail, finishing, progress_bar
from scf.paths import cache_dir, deployments_dir, project_root
from scf.scenario import load_scenario, run_scenario, write_json
from scf.wallet import LOCAL_CHAIN_IDS

DEFAULT_FILE = project_root() / "scenarios" / "hospital.yaml"


@click.command(cls=ConnectedProviderCommand, short_help="Run an end-to-end financing scenario")
@click.option("--file", "file_", type=click.Path(path_type=Path), default=DEFAULT_FILE, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Also write the report as JSON here.")
def cli(provider, file_, out):
    with finishing(f"the story in {file_}"):
        scenario = load_scenario(file_)
    conn = connect(provider)
    if conn.chain_id not in LOCAL_CHAIN_IDS:
        fail(f"scenarios time-travel and mint gas: they run on a local anvil only (this chain is {conn.chain_id})")

    with finishing(f"the story {scenario.name!r}"), progress_bar("story") as progress:
        report = run_scenario(conn, scenario, clock=DevnetClock(conn), fund_gas=faucet(conn.w3),
                              manifest_dir=deployments_dir(), vaults=cache_dir() / "story-vaults",
                              progress=progress)
    click.echo(report.render())
    if out:
        write_json(report, out)
        click.echo(f"report written to {out}")
