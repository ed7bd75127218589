"""ape run inspect {voucher 1.2 | slot 1 | member 0x... | record 3}

Lineage tree, holders and the full audit trail (decoded events with block, time and actor)
of a voucher, a slot, a member or a trade record. Events are cached in .cache/ (SQLite) and
refreshed from the last indexed block, so large histories are read once."""

import click
from ape.cli import ConnectedProviderCommand

from scf.cli import connect, finishing
from scf.indexer import EventIndex
from scf.inspect import Inspector, parse_address, parse_number, parse_voucher
from scf.paths import cache_dir, deployments_dir, index_file
from scf.suite import attach_live


@click.command(cls=ConnectedProviderCommand, short_help="Inspect a voucher, slot, member or trade record")
@click.argument("kind", type=click.Choice(["voucher", "slot", "member", "record"]))
@click.argument("what")
def cli(provider, kind, what):
    key = _parse(kind, what)  # a bad argument is refused before the chain is asked anything
    conn = connect(provider)
    with finishing("inspect"):  # a node that dies mid-read ends in one line, not a traceback
        suite = attach_live(conn, deployments_dir())
        cache_dir().mkdir(exist_ok=True)
        index = EventIndex(conn, suite.deployment, index_file(conn.chain_id))
        added = index.refresh()
        click.echo(f"(index: {index.count()} events, {added} new, up to block {index.last_block})", err=True)
        inspector = Inspector(suite, index)
        view = {"voucher": inspector.voucher, "slot": inspector.slot, "member": inspector.member,
                "record": inspector.record}[kind]
        click.echo(view(key))


def _parse(kind, what):
    """The voucher id, slot or record number, or member address that ``what`` names."""
    parse = {"voucher": parse_voucher, "member": parse_address}.get(kind, parse_number)
    with finishing("inspect"):
        return parse(what)
