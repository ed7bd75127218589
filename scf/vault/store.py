"""Where the vault keeps things: a folder of files, and nothing that can be read without a key.

    <vault>/blobs/<sha256>     one sealed document (``Envelope``), named by the SHA-256 of its bytes
    <vault>/index.sqlite       which commitment is in which blob, the key wraps per reader, the
                               members' key cards and the signed records (disclosures,
                               verifications, the vault's policy)

Files on disk, not a service: a folder of immutable, content-addressed files can be copied,
backed up and replicated by whatever the consortium already runs (rsync, an object store, a
shared volume), and the store needs no write authentication of its own, because nothing in it
is trusted: every envelope is authenticated by its key and checked against its commitment on
chain, every key wrap opens only for its reader, and every record is signed. The read API
serves it to the member page read-only (``scf.api``).

A write is a blob (written to a temporary name and renamed, so a reader never sees half of
one) and then one SQLite transaction; a blob without an index row is inert.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scf.vault.sealing import Envelope, KeyCard, VaultError, canonical, statement_author

MAX_STATEMENT_CHARS = 64 * 1024  # a disclosure of a long trail is a few kB
MAX_STATEMENT_DEPTH = 3  # a body, its list of documents, each document
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')  # a JSON string: what lies between two unescaped quotes
VAULT_ADDRESS = re.compile(r"[0-9a-f]{64}")  # a file's name: the SHA-256 of its bytes


class VaultBound(VaultError):
    """The vault serves another deployment (another chain, or the same chain id restarted)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    commitment TEXT PRIMARY KEY,  -- 0x-hex, as anchored on chain
    blob TEXT NOT NULL,           -- the envelope's file under blobs/
    kind TEXT NOT NULL,           -- the trade document type, or kyc (public on chain anyway)
    owner TEXT NOT NULL,          -- who put it
    record INTEGER,               -- its trade record once anchored (NULL: not yet, or kyc)
    added INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_record ON documents(record);
CREATE TABLE IF NOT EXISTS grants (
    commitment TEXT NOT NULL,
    reader TEXT NOT NULL,
    wrapped BLOB NOT NULL,        -- the content key, ECIES-encrypted to the reader's public key
    granted_by TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (commitment, reader)
);
CREATE TABLE IF NOT EXISTS key_cards (
    address TEXT PRIMARY KEY,
    chain_id INTEGER NOT NULL,
    signature BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,         -- deployment: the chain and trade registry this vault serves
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS statements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,           -- disclosure, verification, policy
    author TEXT NOT NULL,
    text TEXT NOT NULL,           -- canonical JSON, as signed
    signature BLOB NOT NULL
);
"""


@dataclass(frozen=True)
class StoredDocument:
    commitment: bytes
    blob: str
    kind: str
    owner: str
    record: int | None
    added: int


@dataclass(frozen=True)
class Grant:
    commitment: bytes
    reader: str
    wrapped: bytes
    granted_by: str
    granted_at: int


@dataclass(frozen=True)
class Statement:
    """A signed record of the vault, its author recovered from the signature when read."""

    id: int
    kind: str
    author: str
    body: dict[str, Any]
    text: str
    signature: bytes


class Vault:
    """One consortium's vault folder (one chain's)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.blobs = self.folder / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.folder / "index.sqlite", timeout=30, isolation_level=None,
                                  check_same_thread=False)
        self.db.executescript(SCHEMA)
        row = self.db.execute("SELECT value FROM meta WHERE key = 'chain'").fetchone()
        self.chain_id: int | None = int(row[0]) if row else None

    def close(self) -> None:
        self.db.close()

    def bind(self, deployment: str, chain_id: int) -> None:
        """Ties the vault to one deployment (``chain:registry:block hash``), on first use; a
        vault of another deployment is refused (``VaultBound``): its records name records of a
        chain that is not this one."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'deployment'").fetchone()
        if row is None:
            with self._transaction():
                self.db.executemany("INSERT OR IGNORE INTO meta VALUES (?, ?)",
                                    [("deployment", deployment), ("chain", str(chain_id))])
            row = self.db.execute("SELECT value FROM meta WHERE key = 'deployment'").fetchone()
        if row[0] != deployment:
            raise VaultBound(
                f"the vault in {self.folder} belongs to another deployment ({row[0]}), not this one ({deployment}): "
                "its documents are anchored on a chain that is not this one. Give another vault folder"
            )
        self.chain_id = chain_id

    # ------------------------------------------------------------------ blobs

    def _write_blob(self, envelope: Envelope) -> str:
        data = envelope.to_bytes()
        address = hashlib.sha256(data).hexdigest()
        target = self.blobs / address
        if not target.exists():
            handle, temporary = tempfile.mkstemp(dir=self.blobs, prefix=".incoming-")
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        return address

    def read_blob(self, address: str) -> bytes | None:
        """The file at ``address`` (64 hex digits), if it is there: a regular file, not a link
        (the folder is writable by whoever shares it: a link could point anywhere), whose bytes
        match the address. None when it is missing; VaultError when it is not what it says."""
        if not VAULT_ADDRESS.fullmatch(address):
            raise VaultError(f"{address!r} is not a vault address (64 lowercase hex digits, a file's SHA-256)")
        path = self.blobs / address
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise VaultError(f"the vault file {path} cannot be read as a file ({exc.strerror}): it was replaced "
                             "by a link or something else") from None
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise VaultError(f"the vault file {path} is not a regular file")
            data = handle.read()
        if hashlib.sha256(data).hexdigest() != address:
            raise VaultError(f"the vault file {path} was altered on disk: its bytes no longer match their address")
        return data

    def envelope(self, document: StoredDocument) -> Envelope:
        """The document's envelope, read and checked against its address; a missing or altered
        file is reported, never skipped."""
        path = self.blobs / document.blob
        try:
            data = self.read_blob(document.blob)
        except VaultError as exc:
            raise VaultError(f"{exc} (document 0x{document.commitment.hex()})") from None
        if data is None:
            raise VaultError(
                f"the vault file of document 0x{document.commitment.hex()} ({document.kind}"
                f"{f', record {document.record}' if document.record else ''}) is missing: {path} is gone. "
                "Restore it from a backup of the vault; its commitment on chain is all that is left of it"
            )
        envelope = Envelope.from_bytes(data)
        if envelope.commitment != document.commitment:
            raise VaultError(
                f"the vault file {path} holds document 0x{envelope.commitment.hex()}, not "
                f"0x{document.commitment.hex()} as the index says: the document was swapped"
            )
        return envelope

    def missing(self) -> list[StoredDocument]:
        """Documents of the index whose file is gone."""
        return [d for d in self.documents() if not (self.blobs / d.blob).is_file()]

    # -------------------------------------------------------------- documents

    def document(self, commitment: bytes) -> StoredDocument | None:
        row = self.db.execute("SELECT * FROM documents WHERE commitment = ?", (_hex(commitment),)).fetchone()
        return _document(row) if row else None

    def document_of_record(self, record: int) -> StoredDocument | None:
        row = self.db.execute("SELECT * FROM documents WHERE record = ?", (record,)).fetchone()
        return _document(row) if row else None

    def documents(self, *, owner: str | None = None, reader: str | None = None) -> list[StoredDocument]:
        query, args = "SELECT d.* FROM documents d", []
        if reader is not None:
            query += " JOIN grants g ON g.commitment = d.commitment AND g.reader = ?"
            args.append(reader)
        if owner is not None:
            query += " WHERE d.owner = ?"
            args.append(owner)
        return [_document(row) for row in self.db.execute(query + " ORDER BY d.added, d.commitment", args)]

    def add_document(self, envelope: Envelope, kind: str, owner: str, grants: Iterable[Grant], at: int
                     ) -> StoredDocument:
        """Files a new document with its first readers' key wraps, in one transaction."""
        blob = self._write_blob(envelope)
        stored = StoredDocument(envelope.commitment, blob, kind, owner, None, at)
        try:
            with self._transaction():
                self.db.execute("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?)",
                                (_hex(stored.commitment), blob, kind, owner, None, stored.added))
                self._insert_grants(grants)
        except sqlite3.IntegrityError:
            raise VaultError(f"document 0x{stored.commitment.hex()} was filed meanwhile (by another run)") from None
        return stored

    def set_record(self, commitment: bytes, record: int) -> None:
        with self._transaction():
            self.db.execute("UPDATE documents SET record = ? WHERE commitment = ?", (record, _hex(commitment)))

    # ----------------------------------------------------------------- grants

    def grant(self, commitment: bytes, reader: str) -> Grant | None:
        row = self.db.execute("SELECT * FROM grants WHERE commitment = ? AND reader = ?",
                              (_hex(commitment), reader)).fetchone()
        return _grant(row) if row else None

    def grants(self, commitment: bytes) -> list[Grant]:
        rows = self.db.execute("SELECT * FROM grants WHERE commitment = ? ORDER BY granted_at, reader",
                               (_hex(commitment),))
        return [_grant(row) for row in rows]

    def _insert_grants(self, grants: Iterable[Grant]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO grants VALUES (?, ?, ?, ?, ?)",
            [(_hex(g.commitment), g.reader, g.wrapped, g.granted_by, g.granted_at) for g in grants],
        )

    def share(self, grants: list[Grant], statement: tuple[str, bytes, str]) -> Statement:
        """New key wraps and the signed disclosure that records them, in one transaction."""
        with self._transaction():
            self._insert_grants(grants)
            return self._insert_statement("disclosure", statement)

    # -------------------------------------------------------------- key cards

    def key_card(self, address: str) -> KeyCard | None:
        row = self.db.execute("SELECT address, chain_id, signature FROM key_cards WHERE address = ?",
                              (address,)).fetchone()
        if row is None:
            return None
        try:
            return KeyCard(str(row[0]), int(row[1]), bytes(row[2]))
        except (ValueError, TypeError) as exc:
            raise VaultError(f"the key card row of {address} is malformed ({exc}): the index was altered") from None

    def put_key_card(self, card: KeyCard) -> None:
        card.public_key()  # a card that does not prove its address is never filed
        with self._transaction():
            self.db.execute("INSERT OR REPLACE INTO key_cards VALUES (?, ?, ?)",
                            (card.address, card.chain_id, card.signature))

    # ------------------------------------------------------------- statements

    def record_statement(self, kind: str, statement: tuple[str, bytes, str]) -> Statement:
        with self._transaction():
            return self._insert_statement(kind, statement)

    def _insert_statement(self, kind: str, statement: tuple[str, bytes, str]) -> Statement:
        text, signature, author = statement
        cursor = self.db.execute("INSERT INTO statements (kind, author, text, signature) VALUES (?, ?, ?, ?)",
                                 (kind, author, text, signature))
        return Statement(int(cursor.lastrowid or 0), kind, author, json.loads(text), text, signature)

    def statements(self, kind: str) -> list[Statement]:
        """The signed records of one kind, oldest first. A record whose signature is not its
        author's is reported, not skipped: the index was edited by hand."""
        found = []
        for id_, kind_, author, text, signature in self.db.execute(
            "SELECT id, kind, author, text, signature FROM statements WHERE kind = ? ORDER BY id", (kind,)
        ):
            if not isinstance(text, str) or not isinstance(signature, bytes):
                raise VaultError(f"vault record {id_} ({kind_}) is malformed: the vault's index was altered")
            signer = statement_author(text, signature)
            if signer != author:
                raise VaultError(f"vault record {id_} ({kind_}) says it is by {author} but was signed by {signer}: "
                                 "the vault's index was altered")
            body = _statement_body(id_, text)
            if body.get("kind") != kind or (self.chain_id is not None and body.get("chain") != self.chain_id):
                raise VaultError(f"vault record {id_} is filed as a {kind} of chain {self.chain_id} but its signed "
                                 f"text says {body.get('kind')!r} of chain {body.get('chain')!r}: the vault's index "
                                 "was altered")
            found.append(Statement(id_, kind_, author, body, text, signature))
        return found

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def _statement_body(id_: int, text: str) -> dict[str, Any]:
    """A signed record's body. Anyone can sign anything, so the text is bounded before it is
    parsed (length, nesting), and must be the canonical JSON of an object."""
    problem = None
    if len(text) > MAX_STATEMENT_CHARS:
        problem = f"{len(text):,} characters, more than {MAX_STATEMENT_CHARS:,}"
    elif _depth(_STRING.sub('""', text)) > MAX_STATEMENT_DEPTH:
        problem = f"nested deeper than {MAX_STATEMENT_DEPTH}"
    else:
        try:
            body = json.loads(text)
            if isinstance(body, dict) and canonical(body) == text:
                return body
            problem = "not the canonical JSON of an object"
        except ValueError as exc:
            problem = f"not JSON ({exc})"
    raise VaultError(f"vault record {id_} is malformed ({problem}): the vault's index was altered")


def _depth(skeleton: str) -> int:
    depth = deepest = 0
    for c in skeleton:
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def _hex(commitment: bytes) -> str:
    return "0x" + commitment.hex()


def _document(row: tuple[Any, ...]) -> StoredDocument:
    try:
        if not VAULT_ADDRESS.fullmatch(row[1]):
            raise ValueError(f"blob {row[1]!r}")
        return StoredDocument(bytes.fromhex(row[0][2:]), row[1], str(row[2]), str(row[3]),
                              None if row[4] is None else int(row[4]), int(row[5]))
    except (ValueError, TypeError) as exc:
        raise VaultError(f"a document row of the vault's index is malformed ({exc}): the index was altered") from None


def _grant(row: tuple[Any, ...]) -> Grant:
    try:
        return Grant(bytes.fromhex(row[0][2:]), str(row[1]), bytes(row[2]), str(row[3]), int(row[4]))
    except (ValueError, TypeError) as exc:
        raise VaultError(f"a key wrap row of the vault's index is malformed ({exc}): the index was altered") from None
