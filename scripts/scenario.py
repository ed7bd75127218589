"""ape run scenario [--file scenarios/hospital.yaml] [--out report.json]

Plays a financing story end to end on a local anvil (which ape starts and stops): deploy,
seed, anchor documents, issue, accept, split across tiers, discount, time-travel, fund,
redeem; prints the report. On a chain that outlives the command (``--network
ethereum:devnet:node``), a run that was interrupted is resumed by running it again: nothing
already done is sent twice (the journal is described in scf/scenario.py)."""

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from scf.cli import connect, fail, finishing
from scf.scenario import load_scenario, run_scenario, write_json
from scf.seed import SpecError

DEFAULT_FILE = Path(__file__).resolve().parents[1] / "scenarios" / "hospital.yaml"


@click.command(cls=ConnectedProviderCommand, short_help="Run an end-to-end financing scenario")
@click.option("--file", "file_", type=click.Path(path_type=Path), default=DEFAULT_FILE, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Also write the report as JSON here.")
def cli(provider, file_, out):
    try:
        scenario = load_scenario(file_)
    except SpecError as exc:
        fail(str(exc))
    conn = connect(provider)
    if conn.chain_id not in (31337, 1337):
        fail(f"scenarios time-travel and mint gas: they run on a local anvil only (this chain is {conn.chain_id})")

    def progress(i: int, n: int, what: str) -> None:
        width = 24
        filled = width * i // n
        click.echo(f"[{'#' * filled}{'.' * (width - filled)}] {i:>2}/{n} {what}", err=True)

    with finishing(f"the story {scenario.name!r}"):
        report = run_scenario(conn, scenario, progress=progress)
    click.echo(report.render())
    if out:
        write_json(report, out)
        click.echo(f"report written to {out}")
