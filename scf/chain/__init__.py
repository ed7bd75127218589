"""Chain access, knowing nothing of ape: reading (``reads``), sending (``sending``), journal
replay (``replay``, ``journal``), revert decoding (``reverts``), compiled artifacts, and the
``Connection`` that puts them together."""

from scf.chain.artifacts import Artifacts, ContractArtifact, MissingBuildError
from scf.chain.connection import Connection
from scf.chain.reads import RpcError
from scf.chain.reverts import ContractRevert, ErrorDecoder
from scf.chain.sending import BatchError, Signer, TransactionRefused, TxResult

__all__ = [
    "Artifacts",
    "BatchError",
    "Connection",
    "ContractArtifact",
    "ContractRevert",
    "ErrorDecoder",
    "MissingBuildError",
    "RpcError",
    "Signer",
    "TransactionRefused",
    "TxResult",
]
