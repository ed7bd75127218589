"""The offline Solidity toolchain: npm's solcjs behind ``tools/solc/solc-v<version>``.

py-solc-x (inside ape-solidity) looks for ``solc-v<version>`` in ``SOLCX_BINARY_PATH`` and,
failing that, downloads a compiler. Calling ``ensure_compiler()`` before ape compiles points
it at the bridge and fails with one clear line if the compiler is not installed, so no path
ever tries to download."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BRIDGE_DIR = PROJECT_ROOT / "tools" / "solc"
SOLCJS = PROJECT_ROOT / "node_modules" / ".bin" / "solcjs"
ANVIL = PROJECT_ROOT / "node_modules" / ".bin" / "anvil"


class ToolchainError(RuntimeError):
    """A tool the project installs itself is missing."""


def ensure_compiler() -> None:
    if not SOLCJS.exists():
        raise ToolchainError(f"the Solidity compiler is not installed ({SOLCJS} is missing): run 'make setup'")
    if not ANVIL.exists():
        raise ToolchainError(f"anvil is not installed ({ANVIL} is missing): run 'make setup'")
    os.environ["SOLCX_BINARY_PATH"] = str(BRIDGE_DIR)
    bin_dir = str(ANVIL.parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
