"""Chain access: one connection object that knows nothing of ape."""

from scf.chain.artifacts import Artifacts, ContractArtifact, MissingBuildError
from scf.chain.connection import Connection, TxResult
from scf.chain.errors import ContractRevert, ErrorDecoder

__all__ = [
    "Artifacts",
    "Connection",
    "ContractArtifact",
    "ContractRevert",
    "ErrorDecoder",
    "MissingBuildError",
    "TxResult",
]
