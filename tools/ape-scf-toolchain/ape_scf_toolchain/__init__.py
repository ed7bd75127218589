"""An ape plugin with no hooks: ape imports every installed ``ape-*`` distribution at start-up,
and importing this one points py-solc-x at the project's offline compiler bridge
(``tools/solc/solc-v0.8.30`` -> npm's solcjs) and puts npm's anvil on PATH.

Without it, a plain ``ape compile`` in a shell that did not ``source env.sh`` would make
ape-solidity try to download solc. With it, a missing compiler surfaces as the bridge's own
one-line message: run 'make setup'."""

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[3]
_BRIDGE = _ROOT / "tools" / "solc"
_BIN = _ROOT / "node_modules" / ".bin"

if _BRIDGE.is_dir():
    os.environ["SOLCX_BINARY_PATH"] = str(_BRIDGE)
    if str(_BIN) not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
