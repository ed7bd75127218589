"""The offline Solidity toolchain: npm's solcjs behind ``tools/solc/solc-v<version>``.

py-solc-x (inside ape-solidity) looks for ``solc-v<version>`` in ``SOLCX_BINARY_PATH`` and,
failing that, downloads a compiler. Calling ``ensure_compiler()`` before ape compiles points
it at the bridge and fails with one clear line if the compiler is not installed, so no path
ever tries to download."""

from __future__ import annotations

import os
from pathlib import Path

from scf.errors import ScfError
from scf.paths import project_root


def solc_bridge_dir() -> Path:
    """``tools/solc``: ``solc-v<version>`` scripts that run npm's solcjs."""
    return project_root() / "tools" / "solc"


def npm_bin(tool: str) -> Path:
    return project_root() / "node_modules" / ".bin" / tool


class ToolchainError(ScfError, RuntimeError):
    """A tool the project installs itself is missing."""


def ensure_compiler() -> None:
    """Points ape at the project's compiler and anvil, or says in one line what is missing."""
    solcjs, anvil = npm_bin("solcjs"), npm_bin("anvil")
    if not solcjs.exists():
        raise ToolchainError(f"the Solidity compiler is not installed ({solcjs} is missing): run 'make setup'")
    if not anvil.exists():
        raise ToolchainError(f"anvil is not installed ({anvil} is missing): run 'make setup'")
    use_project_toolchain()


def use_project_toolchain() -> bool:
    """Points py-solc-x at ``tools/solc`` and puts ``node_modules/.bin`` on PATH, when the
    project has them; returns whether it did. Never raises: the ape plugin calls it at every
    ape start-up (``tools/ape-scf-toolchain``), also outside the project."""
    try:
        bridge, bin_dir = solc_bridge_dir(), str(npm_bin("anvil").parent)
    except ScfError:  # not inside the project: nothing to point at
        return False
    if not bridge.is_dir():
        return False
    os.environ["SOLCX_BINARY_PATH"] = str(bridge)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    return True
