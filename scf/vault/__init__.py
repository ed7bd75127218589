"""Private trade data: documents and KYC evidence sealed off chain (``sealing``), kept in a
content-addressed folder (``store``), committed on chain and disclosed only to whom their
readers choose (``desk``)."""

from scf.vault.desk import KYC, Checked, TrailCheck, VaultDesk
from scf.vault.sealing import Envelope, KeyCard, Opening, VaultError, commitment_of
from scf.vault.store import Grant, Statement, StoredDocument, Vault

__all__ = [
    "KYC", "Checked", "Envelope", "Grant", "KeyCard", "Opening", "Statement", "StoredDocument", "TrailCheck",
    "Vault", "VaultDesk", "VaultError", "commitment_of",
]
