"""What the ape scripts share: connecting the domain layer to ape's provider, and failing
with one clear line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click

from scf.chain import Artifacts, Connection, ContractRevert, MissingBuildError
from scf.chain.connection import BatchError, RpcError
from scf.chain.journal import JournalConflict
from scf.member import InputError
from scf.seed import SpecError
from scf.toolchain import ToolchainError, ensure_compiler


def connect(provider) -> Connection:
    """A Connection on ape's provider, with the project's compiled artifacts."""
    from ape import project

    try:
        ensure_compiler()
    except ToolchainError as exc:
        fail(str(exc))
    try:
        project.load_contracts()
        artifacts = Artifacts.load(Path(project.path) / ".build" / "__local__.json")
    except MissingBuildError as exc:
        fail(str(exc))
    except Exception as exc:  # the compiler bridge prints its own one-line cause
        fail(f"could not compile the contracts ({exc}); run 'make setup' and try again")
    conn = Connection(provider.web3, artifacts)
    conn.ensure_poa_compatible()
    return conn


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(2)


@contextmanager
def finishing(work: str) -> Iterator[None]:
    """Ends ``work`` killed by the node, or refused by a contract, with one clear line; a node
    failure also says that re-running finishes the work without repeating any of it."""
    try:
        yield
    except (RpcError, BatchError) as exc:
        fail(f"{work} stopped: {exc}\nRe-run the same command to finish: nothing already on chain is sent again.")
    except JournalConflict as exc:
        fail(f"{work} cannot be resumed: {exc}")
    except ContractRevert as exc:
        fail(f"{work} was refused by the chain: {exc}")
    except (SpecError, InputError) as exc:
        fail(f"{work} stopped: {exc}")
