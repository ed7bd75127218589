"""What a member sees of its documents in the vault, without opening any: for each document
it put or may read, whether the vault holds it (its file present, a key wrapped for the
member), with whom it is shared, and who verified it against the chain. The ``docs list``
command and the read API (the member page) both show this."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scf.vault.store import StoredDocument, Vault


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


@dataclass(frozen=True)
class DocumentStatus:
    commitment: str
    kind: str
    record: int | None
    owner: str
    file_present: bool
    readable: bool  # a key is wrapped for the member asking
    readers: list[Sharing] = field(default_factory=list)
    verified: list[Verification] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return self.file_present and self.readable

    def as_json(self) -> dict[str, Any]:
        return {
            "commitment": self.commitment, "kind": self.kind, "record": self.record, "owner": self.owner,
            "held": self.held, "filePresent": self.file_present, "readable": self.readable,
            "readers": [{"reader": s.reader, "by": s.by, "at": s.at} for s in self.readers],
            "verified": [{"by": v.by, "at": v.at, "voucher": v.voucher} for v in self.verified],
        }


def member_documents(vault: Vault, member: str) -> list[DocumentStatus]:
    """The documents ``member`` put or holds a key for, oldest first."""
    mine = {d.commitment: d for d in vault.documents(owner=member)}
    mine |= {d.commitment: d for d in vault.documents(reader=member)}
    verified: dict[str, list[Verification]] = {}
    for statement in vault.statements("verification"):
        for document in statement.body["documents"]:
            verified.setdefault(document["commitment"], []).append(
                Verification(statement.author, int(statement.body["at"]), str(statement.body["voucher"])))
    return [_status(vault, d, member, verified) for d in sorted(mine.values(), key=lambda d: (d.added, d.commitment))]


def _status(vault: Vault, document: StoredDocument, member: str, verified: dict[str, list[Verification]]
            ) -> DocumentStatus:
    commitment = "0x" + document.commitment.hex()
    grants = vault.grants(document.commitment)
    return DocumentStatus(
        commitment, document.kind, document.record, document.owner,
        file_present=(vault.blobs / document.blob).exists(),
        readable=any(g.reader == member for g in grants),
        readers=[Sharing(g.reader, g.granted_by, g.granted_at) for g in grants],
        verified=verified.get(commitment, []),
    )
