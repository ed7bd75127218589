"""ape run watch [--network ...] [--policy FILE] [--once] [--json] [--interval SECONDS]

The risk watch: refreshes the event index (.cache/, shared with inspect and serve) as blocks
arrive, evaluates the policy's rules (consortium/watch-policy.yaml by default) on the ledger,
and prints each new alert: a table for people, or with --json one JSON object per line on
stdout (the table then goes to stderr). Each alert is raised once: alerts are kept beside the
index, so a restarted watch does not repeat them. --once evaluates the chain as it is and exits.
Read-only: it sends nothing to the chain. Stop it with Ctrl-C."""

import shutil
import time

import click
from ape.cli import ConnectedProviderCommand

from scf.cli import connect, finishing
from scf.indexer import EventIndex
from scf.paths import cache_dir, deployments_dir, index_file
from scf.suite import attach_live
from scf.supervision import Book
from scf.watch import Policy, Watch, alerts_table, default_policy_path, json_line, system_accounts


@click.command(cls=ConnectedProviderCommand, short_help="Watch the ledger for risks and print alerts")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False), default=None,
              help="The policy file (default: consortium/watch-policy.yaml).")
@click.option("--once", is_flag=True, help="Evaluate the chain as it is now, print new alerts and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print each new alert as a JSON line on stdout.")
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="Seconds between looks at the chain.")
def cli(provider, policy_file, once, as_json, interval):
    with finishing("watch"):  # a broken policy is refused, with every problem, before the chain is read
        policy = Policy.load(policy_file or default_policy_path())
    conn = connect(provider)
    with finishing("watch"):  # a node that dies mid-watch ends in one line, not a traceback
        suite = attach_live(conn, deployments_dir())
        cache_dir().mkdir(exist_ok=True)
        index = EventIndex(conn, suite.deployment, index_file(conn.chain_id))
        watch = Watch(policy, index.db, system_accounts(suite.deployment))
        enabled = [r.NAME for r in policy.rules if r.enabled]
        click.echo(f"watching chain {conn.chain_id} with {policy.source} ({len(enabled)} rules)", err=True)
        looked_at = None
        try:
            while True:
                index.refresh()
                if index.last_block != looked_at:
                    looked_at = index.last_block
                    _show(watch.evaluate(Book.build(index)), as_json)
                    total, _ = watch.page(limit=0)
                    click.echo(f"(block {index.last_block}: {total} alerts on record)", err=True)
                if once:
                    return
                time.sleep(interval)
        except KeyboardInterrupt:
            click.echo("stopped", err=True)


def _show(alerts, as_json):
    if not alerts:
        return
    if as_json:
        for alert in alerts:
            click.echo(json_line(alert))
    width = shutil.get_terminal_size((120, 24)).columns
    click.echo(alerts_table(alerts, width=width), nl=False, err=as_json)
