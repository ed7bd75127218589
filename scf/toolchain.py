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
    solcjs, anvil = npm_bin("solcjs"), npm_bin("anvil")
    if not solcjs.exists():
        raise ToolchainError(f"the Solidity compiler is not installed ({solcjs} is missing): run 'make setup'")
    if not anvil.exists():
        raise ToolchainError(f"anvil is not installed ({anvil} is missing): run 'make setup'")
    os.environ["SOLCX_BINARY_PATH"] = str(solc_bridge_dir())
    bin_dir = str(anvil.parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
