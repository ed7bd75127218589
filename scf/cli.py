"""What the ape scripts share: connecting the domain layer to ape's provider, and failing
with one clear line."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click

from scf.chain import Artifacts, Connection, MissingBuildError
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
