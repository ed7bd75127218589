"""ape run inspect {voucher 1.2 | slot 1 | member 0x... | record 3}

Lineage tree, holders and the full audit trail (decoded events with block, time and actor)
of a voucher, a slot, a member or a trade record. Events are cached in .cache/ (SQLite) and
refreshed from the last indexed block, so large histories are read once."""

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand
from eth_utils import is_hex_address, to_checksum_address

from scf.cli import connect, fail, finishing
from scf.deploy import attach_live
from scf.indexer import EventIndex
from scf.inspect import InspectError, Inspector, parse_voucher
from scf.manifest import ManifestError

CACHE = Path(__file__).resolve().parents[1] / ".cache"


@click.command(cls=ConnectedProviderCommand, short_help="Inspect a voucher, slot, member or trade record")
@click.argument("kind", type=click.Choice(["voucher", "slot", "member", "record"]))
@click.argument("what")
def cli(provider, kind, what):
    conn = connect(provider)
    with finishing("inspect"):  # a node that dies mid-read ends in one line, not a traceback
        _inspect(conn, kind, what)


def _inspect(conn, kind, what):
    try:
        suite = attach_live(conn)
    except ManifestError as exc:
        fail(str(exc))
    deployment = suite.deployment
    CACHE.mkdir(exist_ok=True)
    index = EventIndex(conn, deployment, CACHE / f"index-{conn.chain_id}.sqlite")
    added = index.refresh()
    click.echo(f"(index: {index.count()} events, {added} new, up to block {index.last_block})", err=True)
    inspector = Inspector(suite, index)
    try:
        if kind == "voucher":
            click.echo(inspector.voucher(parse_voucher(what)))
        elif kind == "slot":
            click.echo(inspector.slot(int(what)))
        elif kind == "member":
            if not is_hex_address(what):
                fail(f"{what!r} is not an address (0x followed by 40 hex digits)")
            click.echo(inspector.member(to_checksum_address(what)))
        else:
            click.echo(inspector.record(int(what)))
    except ValueError:
        fail(f"{what!r} is not a number")
    except InspectError as exc:
        fail(str(exc))
