"""What the ape scripts share: connecting the domain layer to ape's provider, and failing
with one clear line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click
import requests
from ape.exceptions import ApeException, ProviderNotConnectedError
from web3 import Web3
from web3.exceptions import CannotHandleRequest
from web3.providers import AutoProvider

from scf.chain import Artifacts, BatchError, Connection, ContractRevert, RpcError
from scf.chain.journal import JournalConflict
from scf.errors import ScfError
from scf.paths import build_file, project_root
from scf.text import printable
from scf.toolchain import ensure_compiler

# The node gone, as the layers under the domain code say it when a request bypasses
# ``Connection`` (ape's own calls, devnet helpers): requests' and the OS's transport errors,
# web3's AutoProvider finding no node any more, ape's provider after its web3 was dropped.
NODE_GONE = (requests.RequestException, ConnectionError, TimeoutError, CannotHandleRequest, ProviderNotConnectedError)
RERUN = "Re-run the same command to finish: nothing already on chain is sent again."


def connect(provider) -> Connection:
    """A Connection on ape's provider, with the project's compiled artifacts."""
    from ape import project

    try:
        if project_root() != Path(project.path).resolve():
            fail(f"ape's project is {project.path} but scf's project root is {project_root()} "
                 "(SCF_PROJECT_ROOT, or the working directory): run from one project")
        ensure_compiler()
        project.load_contracts()
        artifacts = Artifacts.load(build_file())
    except ScfError as exc:  # no project root, the toolchain or the build missing
        fail(str(exc))
    except ApeException as exc:  # the compiler bridge prints its own one-line cause
        fail(f"could not compile the contracts ({exc}); run 'make setup' and try again")
    with finishing("connecting to the chain"):
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
        found = auto._get_active_provider(use_cache=True)
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
    """Ends ``work`` stopped by any failure the package reports (``ScfError``: refused by a
    contract, the node gone, a journal that cannot be resumed, a bad input), or by the node
    gone under ape's own calls, with one clear line. A node failure also says that re-running
    finishes the work without repeating any of it. Texts from the chain (revert reasons, node
    messages) are printed with control characters escaped. Anything else is a bug: it keeps
    its traceback."""
    try:
        yield
    except ScfError as exc:
        fail(explain(work, exc))
    except NODE_GONE as exc:
        fail(explain(work, RpcError(f"the node did not answer ({type(exc).__name__}: {exc})")))


def explain(work: str, exc: ScfError) -> str:
    """The one line that says how ``work`` ended with ``exc``."""
    cause = exc.cause if isinstance(exc, BatchError) else exc
    if isinstance(cause, ContractRevert):
        return f"{work} was refused by the chain: {printable(exc)}"
    if isinstance(cause, RpcError):
        return f"{work} stopped: {printable(exc)}\n{RERUN}"
    if isinstance(exc, JournalConflict):
        return f"{work} cannot be resumed: {printable(exc)}"
    return f"{work} stopped: {exc}"


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int, str], None]]:
    """A progress callback ``(done, total, what)`` drawn by click's progress bar on stderr,
    the bar opened at the first call (when the total is known) and closed on leaving, before
    any error line is printed."""
    bar = None
    shown = 0

    def update(done: int, total: int, what: str = "") -> None:
        nonlocal bar, shown
        if bar is None:
            bar = click.progressbar(length=total, label=label, show_pos=True, file=click.get_text_stream("stderr"),
                                    item_show_func=lambda item: item)
            bar.__enter__()
        bar.update(max(done - shown, 0), current_item=printable(what))
        shown = max(shown, done)

    try:
        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
