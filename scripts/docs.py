"""ape run docs {key | policy | put | confirm | get | share | verify | list}

A member's private trade documents and KYC evidence (scf.vault): sealed before they leave the
member, kept in the consortium's vault folder, committed on chain with a salt, opened only by
the members a key was wrapped for, and checked against the chain whenever they are opened.

    docs key                                publish this member's vault key (once)
    docs policy --escrow 0x...              (an operator) the regulators every new document is sealed for
    docs put FILE --type invoice --counterparty 0x... --amount 1000.00 [--parent N]
    docs put FILE --kyc [--reader 0x...]    KYC evidence: prints the commitment to apply with
    docs confirm RECORD                     (the counterparty) open, check and confirm a record
    docs get RECORD [--out PATH]            open a record's document, checked against the chain
    docs get --kyc 0x... [--out PATH]       open a member's KYC evidence, checked against the registry
    docs share (--voucher 3.1 | --record N ... | --kyc 0x...) --to 0x... [--purpose TEXT]
    docs verify VOUCHER                     open and check the whole trail behind a voucher
    docs list                               this member's documents: held, shared, verified

Every command signs as one member: --account ALIAS (an ape keyfile account; the passphrase
from SCF_KEYSTORE_PASSPHRASE or asked), or on a local chain --dev-key NAME. The vault folder
is --vault (default .cache/vault-<chain id>/, or $SCF_VAULT)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand
from eth_utils import is_hex_address, to_checksum_address

from scf.chain.devnet import set_balance
from scf.cli import connect, fail, finishing
from scf.contracts import DocType
from scf.inspect import parse_voucher
from scf.money import AmountError, to_minor
from scf.paths import deployments_dir, vault_dir
from scf.suite import attach_live
from scf.text import printable
from scf.vault import Vault, VaultDesk
from scf.vault.status import member_documents
from scf.wallet import LOCAL_CHAIN_IDS, dev_key, load_ape_account

DEV_GAS_MONEY = 10**21  # wei a development key is given on a local chain to pay for gas


def _signer_options(command):
    command = click.option("--vault", "vault_path", type=click.Path(path_type=Path), envvar="SCF_VAULT",
                           help="The vault folder (default .cache/vault-<chain id>/).")(command)
    command = click.option("--dev-key", default=None,
                           help="A deterministic development key (local chains only).")(command)
    command = click.option("--account", default=None, help="The ape keyfile account to sign with.")(command)
    return command


def _desk(provider, account, dev, vault_path) -> VaultDesk:
    conn = connect(provider)
    if bool(account) == bool(dev):
        fail("give exactly one of --account ALIAS (an ape keyfile account) or --dev-key NAME (local chains)")
    if dev and conn.chain_id not in LOCAL_CHAIN_IDS:
        fail(f"--dev-key is for local chains only (this chain is {conn.chain_id}): give --account ALIAS")
    key = load_ape_account(account) if account else dev_key(dev)
    suite = attach_live(conn, deployments_dir())
    if dev and conn.w3.eth.get_balance(key.address) < DEV_GAS_MONEY // 10:
        set_balance(conn.w3, key.address, DEV_GAS_MONEY)  # a local chain's faucet, as seed does for its operator
    return VaultDesk(Vault(vault_path or vault_dir(conn.chain_id)), suite, key)


def _address(value: str, what: str) -> str:
    if not is_hex_address(value):
        fail(f"{what} {value!r} is not an address (0x followed by 40 hex digits)")
    return to_checksum_address(value)


def _when(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


@click.group(short_help="Private trade documents: put, get, share, verify")
def cli():
    pass


@cli.command(cls=ConnectedProviderCommand, short_help="Publish this member's vault key")
@_signer_options
def key(provider, account, dev_key, vault_path):
    with finishing("publishing the vault key"):
        desk = _desk(provider, account, dev_key, vault_path)
        desk.publish_key()
        click.echo(f"{desk.address} can now be sent document keys (vault {desk.vault.folder})")


@cli.command(cls=ConnectedProviderCommand, short_help="(Operator) set the key-escrow policy")
@click.option("--escrow", multiple=True, required=True, help="A regulator (auditor) every new document is sealed for.")
@_signer_options
def policy(provider, escrow, account, dev_key, vault_path):
    regulators = [_address(a, "escrow") for a in escrow]
    with finishing("setting the vault's policy"):
        desk = _desk(provider, account, dev_key, vault_path)
        desk.set_policy(regulators)
        click.echo(f"new documents are sealed for their two parties and {', '.join(regulators)}")


@cli.command(cls=ConnectedProviderCommand, short_help="Seal a document, file it and anchor its commitment")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--type", "doc_type", default=None, help=", ".join(t.name.lower() for t in DocType))
@click.option("--counterparty", default=None, help="The other party of the trade document.")
@click.option("--amount", default=None, help="The document's amount in currency units, e.g. 1000.00.")
@click.option("--parent", default=0, type=click.IntRange(0), help="The record this document follows.")
@click.option("--kyc", is_flag=True, help="File KYC evidence instead (nothing is sent; apply with the commitment).")
@click.option("--reader", multiple=True, help="(KYC) an operator or member who may read it.")
@_signer_options
def put(provider, file, doc_type, counterparty, amount, parent, kyc, reader, account, dev_key, vault_path):
    content = file.read_bytes()
    if kyc:
        if doc_type or counterparty or amount or parent:
            fail("--kyc files the member's own evidence: --type, --counterparty, --amount and --parent do not apply")
        readers = [_address(r, "reader") for r in reader]
        with finishing("filing the KYC evidence"):
            commitment = _desk(provider, account, dev_key, vault_path).put_kyc(content, file.name, readers)
        click.echo(f"KYC evidence filed: apply (or be admitted) with kyc hash 0x{commitment.hex()}")
        return
    if not (doc_type and counterparty and amount):
        fail("a trade document needs --type, --counterparty and --amount (or --kyc for KYC evidence)")
    try:
        kind, minor = DocType.parse(doc_type), to_minor(amount)
    except (ValueError, AmountError) as exc:
        fail(str(exc))
    other = _address(counterparty, "counterparty")
    with finishing("filing the document"):
        record, commitment = _desk(provider, account, dev_key, vault_path).put_trade_document(
            kind, content, file.name, other, minor, parent)
    click.echo(f"{kind.name.lower()} {printable(file.name)} filed and anchored as trade record {record} "
               f"(commitment 0x{commitment.hex()}); {other} confirms it with `ape run docs confirm {record}`")


@cli.command(cls=ConnectedProviderCommand, short_help="(Counterparty) open, check and confirm a record")
@click.argument("record", type=click.IntRange(1))
@_signer_options
def confirm(provider, record, account, dev_key, vault_path):
    with finishing("confirming"):
        checked = _desk(provider, account, dev_key, vault_path).confirm(record)
    click.echo(f"trade record {record} confirmed: {printable(checked.opening.name)} "
               f"({len(checked.opening.content):,} bytes) matches its commitment on chain")


@cli.command(cls=ConnectedProviderCommand, short_help="Open a document, checked against the chain")
@click.argument("record", type=click.IntRange(1), required=False)
@click.option("--kyc", "member", default=None, help="Open this member's KYC evidence instead of a trade record.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Where to write it (default: its name).")
@_signer_options
def get(provider, record, member, out, account, dev_key, vault_path):
    if bool(record) == bool(member):
        fail("give a trade record number, or --kyc 0x... for a member's KYC evidence")
    subject = _address(member, "member") if member else None
    with finishing("opening the document"):
        desk = _desk(provider, account, dev_key, vault_path)
        checked = desk.get_kyc(subject) if subject else desk.get_record(record)
    what = f"the KYC evidence of {subject}" if subject else f"trade record {record}"
    # The name inside a document is the sender's: by default only its tame characters, behind
    # a prefix, so it can never name a dot-file, a path or a script the shell picks up.
    tame = re.sub(r"[^A-Za-z0-9._-]", "_", Path(checked.opening.name).name).lstrip(".")[:100]
    target = out or Path(f"{'kyc' if subject else f'record-{record}'}-{tame or 'document'}")
    try:
        with open(target, "xb") as handle:  # never over an existing file, nor through a link
            handle.write(checked.opening.content)
    except FileExistsError:
        fail(f"{printable(target)} exists: give --out for another file (nothing was written)")
    except OSError as exc:
        fail(f"{printable(target)} cannot be written ({exc.strerror}); nothing was written")
    click.echo(f"{what}: {printable(checked.opening.kind)} written to {printable(target)} "
               f"({len(checked.opening.content):,} bytes), matching its commitment on chain")


@cli.command(cls=ConnectedProviderCommand, short_help="Share documents (a voucher's trail) with a member")
@click.option("--voucher", default=None, help="Disclose the trail behind this voucher (slot.serial), as its holder.")
@click.option("--record", "records", multiple=True, type=click.IntRange(1), help="A trade record (repeatable).")
@click.option("--kyc", "member", default=None, help="Share this member's KYC evidence (as the member or an operator).")
@click.option("--to", "to", required=True, help="The member to share with.")
@click.option("--purpose", default="", help="Why, for the audit record.")
@_signer_options
def share(provider, voucher, records, member, to, purpose, account, dev_key, vault_path):
    if sum(map(bool, (voucher, records, member))) != 1:
        fail("give one of --voucher (the trail behind it), --record (one or more records) or --kyc MEMBER")
    recipient = _address(to, "recipient")
    token = _voucher(voucher) if voucher else None
    subject = _address(member, "member") if member else None
    with finishing("sharing"):
        desk = _desk(provider, account, dev_key, vault_path)
        if token is not None:
            statement = desk.disclose(token, recipient, purpose)
        elif subject is not None:
            statement = desk.share_kyc(subject, recipient, purpose=purpose)
        else:
            statement = desk.share(list(records), recipient, purpose=purpose)
    what = (f"the KYC evidence of {subject}" if subject else
            "trade records " + ", ".join(str(d["record"]) for d in statement.body["documents"]))
    click.echo(f"shared {what} with {recipient}; disclosure recorded as vault record {statement.id}")


@cli.command(cls=ConnectedProviderCommand, short_help="Open and check every document behind a voucher")
@click.argument("voucher")
@_signer_options
def verify(provider, voucher, account, dev_key, vault_path):
    token = _voucher(voucher)
    with finishing("verification"):
        check = _desk(provider, account, dev_key, vault_path).verify_trail(token)
    for c in check.documents:
        assert c.record is not None
        click.echo(f"  record {c.record.record_id:>5}  {printable(c.opening.kind):<14} {printable(c.opening.name):<28} "
                   f"{len(c.opening.content):>9,} bytes  commitment matches  {c.record.status.name.lower()}")
    for record in check.unconfirmed:
        click.echo(f"warning: record {record} is not confirmed by its counterparty")
    for record, regulator in check.escrow_missing:
        click.echo(f"warning: record {record} is not sealed for regulator {regulator}, as the vault's policy says")
    click.echo(f"voucher {voucher}: {len(check.documents)} documents verified against the chain")


@cli.command("list", cls=ConnectedProviderCommand, short_help="This member's documents: held, shared, verified")
@_signer_options
def list_(provider, account, dev_key, vault_path):
    with finishing("listing"):
        desk = _desk(provider, account, dev_key, vault_path)
        documents = member_documents(desk.vault, desk.address)
    if not documents:
        click.echo(f"{desk.address} has no documents in {desk.vault.folder}")
    lost = 0
    for d in documents:
        state = "held" if d.held else ("FILE MISSING" if not d.file_present else "no key")
        lost += not d.file_present
        others = {s.reader for s in d.readers if s.reader != desk.address}
        verified = ", ".join(f"{v.by} {_when(v.at)}" for v in d.verified) or "not verified"
        click.echo(f"record {d.record or '-':>5}  {printable(d.kind):<14} {state:<12} shared with {len(others)}  "
                   f"{verified}  {d.commitment}")
    if lost:
        fail(f"{lost} document file(s) are missing from {desk.vault.blobs}: restore them from a backup")


def _voucher(text: str) -> int:
    try:
        return parse_voucher(text)
    except ValueError as exc:
        fail(str(exc))
