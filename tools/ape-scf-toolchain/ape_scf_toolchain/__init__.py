"""An ape plugin with no hooks: ape imports every installed ``ape-*`` distribution at start-up,
and importing this one points py-solc-x at the project's offline compiler bridge
(``tools/solc/solc-v0.8.30`` -> npm's solcjs) and puts npm's anvil on PATH.

Without it, a plain ``ape compile`` in a shell that did not ``source env.sh`` would make
ape-solidity try to download solc. With it, a missing compiler surfaces as the bridge's own
one-line message: run 'make setup'. Where the project is, and what pointing at it means, is the
project package's to say (``scf.toolchain``, installed beside this plugin by ``make setup``)."""

from scf.toolchain import use_project_toolchain

use_project_toolchain()
