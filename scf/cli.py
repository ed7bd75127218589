"""What the ape scripts share: connecting the domain layer to ape's provider, and failing
with one clear line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click
import requests
from ape.exceptions import ProviderNotConnectedError
from web3 import Web3
from web3.exceptions import CannotHandleRequest
from web3.providers import AutoProvider

from scf.chain import Artifacts, Connection, ContractRevert, MissingBuildError
from scf.chain.connection import BatchError, RpcError
from scf.chain.journal import JournalConflict
from scf.member import InputError
from scf.seed import SpecError
from scf.text import printable
from scf.toolchain import ToolchainError, ensure_compiler

# The node gone, as the layers under the domain code say it when a request bypasses
# ``Connection`` (ape's own calls, devnet helpers): requests' and the OS's transport errors,
# web3's AutoProvider finding no node any more, ape's provider after its web3 was dropped.
NODE_GONE = (requests.RequestException, ConnectionError, TimeoutError, CannotHandleRequest, ProviderNotConnectedError)
RERUN = "Re-run the same command to finish: nothing already on chain is sent again."


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
    conn = Connection(direct_web3(provider.web3), artifacts)
    conn.ensure_poa_compatible()
    return conn


def direct_web3(w3: Web3) -> Web3:
    """ape's node networks (``ethereum:devnet:node``, a URI given as the network) hand out a
    Web3 on web3's ``AutoProvider``, which wraps the HTTPProvider it found. When a request
    fails in transport, AutoProvider sends it again through a freshly found provider - a
    transaction too, past ``Connection``'s guard against blind re-sends, which finds no retry
    settings on AutoProvider - and when the node is gone it raises ``CannotHandleRequest``,
    which ``Connection`` does not take for a transport failure. So the Web3 is pointed at the
    provider AutoProvider found (ape's own calls use it too, unchanged)."""
    auto = w3.provider
    if isinstance(auto, AutoProvider):
        found = auto._get_active_provider(use_cache=True)  # noqa: SLF001 - what AutoProvider found at connect
        if found is not None:
            w3.provider = found
    return w3


def fail(message: str) -> NoReturn:
    """Prints ``error: message`` (control characters shown as escapes, line breaks kept) and
    exits with status 2."""
    click.echo(f"error: {printable(message, keep_newlines=True)}", err=True)
    raise SystemExit(2)


@contextmanager
def finishing(work: str) -> Iterator[None]:
    """Ends ``work`` killed by the node, or refused by a contract, with one clear line; a node
    failure also says that re-running finishes the work without repeating any of it. Texts
    from the chain (revert reasons, node messages) are printed with control characters escaped."""
    try:
        yield
    except BatchError as exc:
        if isinstance(exc.cause, ContractRevert):
            fail(f"{work} was refused by the chain: {printable(exc)}")
        _node_stopped(work, exc)
    except RpcError as exc:
        _node_stopped(work, exc)
    except NODE_GONE as exc:
        _node_stopped(work, RpcError(f"the node did not answer ({type(exc).__name__}: {exc})"))
    except JournalConflict as exc:
        fail(f"{work} cannot be resumed: {printable(exc)}")
    except ContractRevert as exc:
        fail(f"{work} was refused by the chain: {printable(exc)}")
    except (SpecError, InputError) as exc:
        fail(f"{work} stopped: {exc}")


def _node_stopped(work: str, exc: Exception) -> NoReturn:
    fail(f"{work} stopped: {printable(exc)}\n{RERUN}")
