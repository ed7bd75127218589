"""ape run seed [--file consortium/example.yaml] [--operator ALIAS] [--vault DIR]

Admits the consortium's members from a YAML file: the whole file is validated first and
every problem reported with its line before any transaction; re-running sends nothing for
members already in place. Each new member's KYC evidence file is sealed into the document
vault (.cache/vault-<chain id>/) for the operator, the member and the file's escrow
regulators that have published a vault key, and the member is admitted with the salted
commitment, not the file's bare hash. The file's vault policy (its escrow regulators) is then
signed into the vault. Needs the suite deployed (ape run deploy)."""

from collections import Counter
from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from scf.chain.devnet import set_balance
from scf.cli import connect, fail, finishing, progress_bar
from scf.money import fmt
from scf.paths import deployments_dir, project_root, vault_dir
from scf.seed import (
    ADMISSIONS_PER_TX,
    SpecError,
    load_consortium_file,
    seal_kyc_evidence,
    seed_members,
    set_vault_policy,
)
from scf.suite import attach_live
from scf.text import printable
from scf.vault import Vault, VaultDesk
from scf.wallet import LOCAL_CHAIN_IDS, dev_key, load_ape_account

DEFAULT_FILE = project_root() / "consortium" / "example.yaml"
LISTED = 100  # members listed one per line after seeding; a larger consortium is summed up


@click.command(cls=ConnectedProviderCommand, short_help="Admit consortium members from a YAML file")
@click.option("--file", "file_", type=click.Path(path_type=Path), default=DEFAULT_FILE, show_default=True)
@click.option("--operator", default=None, help="ape keyfile alias of an operator (local chains: a dev key)")
@click.option("--per-tx", default=ADMISSIONS_PER_TX, show_default=True, type=click.IntRange(1),
              help="Firms admitted per transaction (fewer on a chain whose blocks hold less than 30M gas).")
@click.option("--vault", "vault_path", type=click.Path(file_okay=False, path_type=Path), envvar="SCF_VAULT",
              default=None, help="The document vault folder (default .cache/vault-<chain id>/).")
def cli(provider, file_, operator, per_tx, vault_path):
    conn = connect(provider)
    try:
        consortium = load_consortium_file(file_, conn.chain_id)
        members = consortium.members
    except SpecError as exc:
        fail(f"nothing was sent. {exc}")
    # Every request from here on may find the node gone: one clear line, not a traceback.
    with finishing("seeding"):
        suite = attach_live(conn, deployments_dir())
        local = conn.chain_id in LOCAL_CHAIN_IDS
        if not operator and not local:
            fail(f"chain {conn.chain_id} is not a local anvil: give --operator ALIAS (an ape keyfile account)")
        signer = load_ape_account(operator) if operator else dev_key("operator")
        if not suite.registry.is_operator(signer.address):
            fail(f"{signer.address} is not an operator of the registry at {suite.registry.address}")
        if local:
            set_balance(conn.w3, signer.address, 10**21)

        desk = VaultDesk(Vault(vault_path or vault_dir(conn.chain_id)), suite, signer)
        with progress_bar("sealing KYC evidence") as progress:
            members, notes = seal_kyc_evidence(desk, members, consortium.escrow,
                                               on_progress=lambda done, total: progress(done, total, ""))
        for note in notes:
            click.echo(f"note: {note}", err=True)
        with progress_bar("seeding") as progress:  # closed before an error line, so that line comes last
            gas = seed_members(suite, signer, members, per_tx=per_tx,
                               on_progress=lambda done, total: progress(done, total, ""))
        click.echo(set_vault_policy(desk, consortium.escrow))
        sent = sum(len(v) for v in gas.values())
        if not sent:
            click.echo(f"all {len(members)} members are already in place: nothing to do")
        records = suite.registry.members([address for _, address in members])
        if len(members) <= LISTED:
            for (spec, address), m in zip(members, records, strict=True):
                cash = suite.token.balance_of(address)
                roles = ",".join(m.roles.names())
                click.echo(f"{printable(spec.name):<32} {address}  {m.status.name.lower():<9} {roles:<16} {fmt(cash)}")
        else:
            by_status = Counter(m.status.name.lower() for m in records)
            click.echo(f"{len(members):,} members: " + ", ".join(f"{n:,} {s}" for s, n in sorted(by_status.items())))
    if sent:
        click.echo(f"{sent} transactions, {sum(sum(v) for v in gas.values()):,} gas")
