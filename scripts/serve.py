"""ape run serve [--network ...] [--host 127.0.0.1] [--port 8700] [--policy FILE | --no-watch] [--vault DIR]

The read API and the web app beside the chain: refreshes the event index (.cache/) from new
blocks every second, runs the risk watch on each new block, and serves the supervision view
at http://HOST:PORT/supervision.html, the member page at /index.html and JSON under /api/
(README.md lists the routes), and keeps the offer board: financiers' signed discount offers,
checked against the chain before they are kept (.cache/offers-CHAIN.sqlite), and shows each
member what the document vault holds for it (sealed envelopes and their state, never their
contents). It never signs or sends anything to the chain. Stop it with Ctrl-C."""

import time
from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from scf.api import ReadService, contract_addresses, create_app, running
from scf.cli import connect, finishing
from scf.indexer import EventIndex
from scf.offers import OfferBoard
from scf.paths import bridge_dir, cache_dir, deployments_dir, index_file, offers_file, vault_dir
from scf.suite import attach_live
from scf.vault import Vault
from scf.watch import Policy, Watch, default_policy_path, system_accounts


def _load_policy(path: Path) -> Policy:
    with finishing("reading the watch policy"):
        return Policy.load(path)


@click.command(cls=ConnectedProviderCommand, short_help="Serve the read API and the supervision view")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8700, show_default=True, type=click.IntRange(0, 65535))
@click.option("--policy", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The risk watch's policy file (default consortium/watch-policy.yaml).")
@click.option("--no-watch", is_flag=True, help="Serve without running the risk watch.")
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(0.1, 60),
              help="Seconds between index refreshes.")
@click.option("--vault", type=click.Path(file_okay=False, path_type=Path), envvar="SCF_VAULT", default=None,
              help="The document vault folder shown to members (default .cache/vault-<chain id>/).")
def cli(provider, host, port, policy, no_watch, interval, vault):
    # A bad policy file is refused, every problem with its line, before the chain is asked anything.
    rules = None if no_watch else _load_policy(policy or default_policy_path())
    conn = connect(provider)
    web: Path | None = bridge_dir() / "dist"
    if not (web / "supervision.html").exists():
        click.echo(f"the web app is not built ({web}): serving the API only ('make serve' builds it first)", err=True)
        web = None
    with finishing("serve"):
        suite = attach_live(conn, deployments_dir())
        cache_dir().mkdir(exist_ok=True)
        index = EventIndex(conn, suite.deployment, index_file(conn.chain_id))
        watch = None if rules is None else Watch(rules, index.db, system_accounts(suite.deployment))
        service = ReadService(index, watch, OfferBoard(suite, offers_file(conn.chain_id)),
                              Vault(vault or vault_dir(conn.chain_id)))
        click.echo(f"indexing chain {conn.chain_id} ...", err=True)
        service.refresh()
        app = create_app(service, web_dir=web, bridge_dir=bridge_dir(), contracts=contract_addresses(index),
                         chain_id=conn.chain_id)
        with running(service, app, host=host, port=port, interval=interval) as url:
            book = service.current()
            page = f"{url}/supervision.html" if web else f"{url}/api/status"
            click.echo(f"serving {page}: block {book.block}, "
                       f"{book.event_count} events, {len(book.slots)} slots. Ctrl-C stops.", err=True)
            try:
                while True:  # the server and the refresher run in their threads; this one waits
                    time.sleep(3600)
            except KeyboardInterrupt:
                click.echo("stopped", err=True)
