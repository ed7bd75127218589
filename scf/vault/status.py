"""What a member sees of its documents in the vault, without opening any: for each document
it put or may read, whether the vault holds it (its file present, a key wrapped for the
member), with whom it was shared and who verified it against the chain. The sharings and
verifications come from the signed records only (a row of the index anyone with the folder
could add says nothing); "held" is the member's own key wrap, which opening checks. The
``docs list`` command and the read API (the member page) both show this."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scf.vault.store import Statement, StoredDocument, Vault


@dataclass(frozen=True)
class Sharing:
    reader: str
    by: str
    at: int


@dataclass(frozen=True)
class Verification:
    by: str
    at: int
    voucher: str
    confirmed: bool  # the document's record was confirmed by its counterparty when verified


@dataclass(frozen=True)
class DocumentStatus:
    commitment: str
    kind: str
    record: int | None
    owner: str
    file_present: bool
    readable: bool  # a key is wrapped for the member asking
    readers: list[Sharing] = field(default_factory=list)  # whom it was shared with, by signed disclosures
    verified: list[Verification] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return self.file_present and self.readable

    def as_json(self) -> dict[str, Any]:
        return {
            "commitment": self.commitment, "kind": self.kind, "record": self.record, "owner": self.owner,
            "held": self.held, "filePresent": self.file_present, "readable": self.readable,
            "readers": [{"reader": s.reader, "by": s.by, "at": s.at} for s in self.readers],
            "verified": [{"by": v.by, "at": v.at, "voucher": v.voucher, "confirmed": v.confirmed}
                         for v in self.verified],
        }


def member_documents(vault: Vault, member: str) -> list[DocumentStatus]:
    """The documents ``member`` put or holds a key for, oldest first."""
    mine = {d.commitment: d for d in vault.documents(owner=member)}
    mine |= {d.commitment: d for d in vault.documents(reader=member)}
    verified: dict[str, list[Verification]] = {}
    for statement in vault.statements("verification"):
        unconfirmed = statement.body.get("unconfirmed") or []
        for document in _documents(statement):
            verified.setdefault(document["commitment"], []).append(Verification(
                statement.author, int(statement.body.get("at", 0)), str(statement.body.get("voucher")),
                document.get("record") not in unconfirmed))
    shared: dict[str, list[Sharing]] = {}
    for statement in vault.statements("disclosure"):
        for document in _documents(statement):
            shared.setdefault(document["commitment"], []).append(
                Sharing(str(statement.body.get("to")), statement.author, int(statement.body.get("at", 0))))
    ordered = sorted(mine.values(), key=lambda d: (d.added, d.commitment))
    return [_status(vault, d, member, verified, shared) for d in ordered]


def _documents(statement: Statement) -> list[dict[str, Any]]:
    documents = statement.body.get("documents")
    return [d for d in documents if isinstance(d, dict)] if isinstance(documents, list) else []


def _status(vault: Vault, document: StoredDocument, member: str, verified: dict[str, list[Verification]],
            shared: dict[str, list[Sharing]]) -> DocumentStatus:
    commitment = "0x" + document.commitment.hex()
    return DocumentStatus(
        commitment, document.kind, document.record, document.owner,
        file_present=(vault.blobs / document.blob).is_file(),
        readable=vault.grant(document.commitment, member) is not None,
        readers=shared.get(commitment, []),
        verified=verified.get(commitment, []),
    )
