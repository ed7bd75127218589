"""scf: supply-chain finance on a permissioned EVM chain.

Layers, bottom up:

- ``scf.chain``      chain access: connection, signing, fees, revert decoding, artifacts.
- ``scf.money``      amounts (Decimal currency units at the edge, integers on chain) and time.
- ``scf.contracts``  typed clients, one per contract of the suite.
- ``scf.typed_data`` EIP-712 messages, loaded from ``frontend_bridge/typed-data``.
- ``scf.deploy``     deployment of the suite and its manifest.

Scripts (``ape run ...``) and tests call these; they do not re-implement them.
"""

__version__ = "0.1.0"
