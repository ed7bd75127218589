"""Where the project's files are: one resolved project root.

The package reads and writes files that live beside it in the project, not inside it
(compiled artifacts in ``.build/``, the member page's bridge in ``frontend_bridge/``, the
offline toolchain in ``node_modules/`` and ``tools/solc/``). The root is, in order:

1. ``$SCF_PROJECT_ROOT``, when set;
2. the nearest folder, from the working directory up, that holds ``ape-config.yaml`` and
   ``scf/``: where ``ape`` and ``make`` run;
3. the folder above the installed package (an editable install, as ``make setup`` makes);

and otherwise ``ScfError`` says so. Scripts check that it is ape's project (``scf.cli.connect``).

Library functions never write into the project by default: callers pass the folders they
write to (the scripts pass these).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import scf
from scf.errors import ScfError


def _is_root(folder: Path) -> bool:
    return (folder / "ape-config.yaml").is_file() and (folder / "scf").is_dir()


@cache
def project_root() -> Path:
    if env := os.environ.get("SCF_PROJECT_ROOT"):
        named = Path(env).resolve()
        if not _is_root(named):
            raise ScfError(f"SCF_PROJECT_ROOT={env} is not a project folder (no ape-config.yaml and scf/ there)")
        return named
    here = Path.cwd().resolve()
    installed = Path(scf.__file__).resolve().parent.parent
    for folder in (here, *here.parents, installed):
        if _is_root(folder):
            return folder
    raise ScfError(
        f"no project folder (with ape-config.yaml and scf/) at or above {here}: run from the project, "
        "or set SCF_PROJECT_ROOT"
    )


def build_file() -> Path:
    """What ``ape compile`` writes: every contract's ABI and bytecode."""
    return project_root() / ".build" / "__local__.json"


def bridge_dir() -> Path:
    """``frontend_bridge/``: ABIs, typed data, manifests and generated constants for the page."""
    return project_root() / "frontend_bridge"


def deployments_dir() -> Path:
    """Where the scripts keep each chain's deployment manifest (and their journals)."""
    return bridge_dir() / "deployments"


def abi_dir() -> Path:
    return bridge_dir() / "abi"


def typed_data_dir() -> Path:
    return bridge_dir() / "typed-data"


def cache_dir() -> Path:
    """``.cache/``: event indexes, devnet state, benchmark scratch (ignored by git)."""
    return project_root() / ".cache"


def offers_file(chain_id: int) -> Path:
    """A chain's offer board (``scf.offers``), kept by ``serve``; the caller creates ``cache_dir()``."""
    return cache_dir() / f"offers-{chain_id}.sqlite"


def index_file(chain_id: int) -> Path:
    """A chain's SQLite event index (and the risk watch's alerts beside it), shared by
    ``inspect``, ``watch`` and ``serve``; the caller creates ``cache_dir()``."""
    return cache_dir() / f"index-{chain_id}.sqlite"


def vault_dir(chain_id: int) -> Path:
    """A chain's document vault (``scf.vault``) when no other folder is given: ``docs`` and
    ``serve`` use it; its ``Vault`` creates it."""
    return cache_dir() / f"vault-{chain_id}"
