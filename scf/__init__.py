"""scf: supply-chain finance on a permissioned EVM chain.

Layers, top down (each imports only from those below it; ``docs/architecture.md`` draws
them and ``tests/test_architecture.py`` checks them):

- ``scf.cli``          what the ape scripts share: connecting, one error line, progress.
- ``scf.scenario``     financing stories: spec, runner (resumable), report.
- ``scf.deploy``, ``scf.seed``, ``scf.member``, ``scf.inspect``, ``scf.export``: the jobs.
- ``scf.suite``, ``scf.indexer``  a deployed suite's clients; the event index and lineage.
- ``scf.contracts``, ``scf.manifest``, ``scf.wallet``  typed clients and ``SUITE``; manifests; keys.
- ``scf.chain``, ``scf.typed_data``  reading, sending, replay, reverts; EIP-712 messages.
- ``scf.money``, ``scf.text``, ``scf.toolchain``, ``scf.paths``, ``scf.errors``: amounts,
  printable text, the offline compiler, the project root, ``ScfError``.

Scripts (``ape run ...``) and tests call these; they do not re-implement them.
"""

__version__ = "0.1.0"
