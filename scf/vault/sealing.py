"""The vault's cryptography, none of it hand-made: what a document becomes before it leaves
its owner, and how its key reaches each reader.

- **Commitment.** What goes on chain for a document is ``keccak256(salt ‖ keccak256(file))``
  with a 32-byte salt: a short invoice can no longer be found by hashing guesses. A trade
  document's salt is derived from its two parties' shared secret (``pair_salt``), so the same
  file between the same parties always commits the same way; KYC evidence gets a random one.
- **Envelope.** The file, its name, its kind and its salt are sealed together with AES-256-GCM
  (``cryptography``, OpenSSL underneath) under a random 256-bit content key, one key per
  document. The commitment is the cipher's associated data, so an envelope cannot be passed
  off under another document's commitment without failing authentication.
- **Key wraps.** The content key is wrapped for each reader with ECIES on secp256k1
  (``eciespy``: ephemeral ECDH, HKDF-SHA256, AES-256-GCM) to the reader's Ethereum public
  key, so a member opens what was shared with it with the key it already signs with.
- **Key cards.** A reader's public key is recovered from its signature of a fixed text
  (EIP-191), and that signature also proves the key belongs to the member's address. A
  member admitted by an operator may never have sent a transaction, so its key cannot be
  taken from the chain.
- **Signed statements.** Disclosures, verifications and the vault's policy are canonical
  JSON signed by their author (EIP-191): anyone can check who said it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

import coincurve
import ecies
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eth_account import Account
from eth_account.messages import defunct_hash_message, encode_defunct
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PublicKey, Signature
from eth_keys.exceptions import BadSignature
from eth_utils import ValidationError, keccak, to_checksum_address

from scf.errors import ScfError

FORMAT = "scf-vault/1"
MAGIC = FORMAT.upper().encode() + b"\n"  # an envelope's first bytes: b"SCF-VAULT/1\n"
TAG_BYTES = 16  # GCM's tag, at the end of the ciphertext
MAX_NAME_BYTES = 1024
MAX_KIND_BYTES = 32
SALT_BYTES = 32
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # GCM's standard nonce; a random one per envelope, and each key seals one envelope
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024


class VaultError(ScfError, ValueError):
    """A document, key or record of the vault cannot be used as asked: the message says which
    and why. Raised before anything is written."""


def commitment_of(salt: bytes, content: bytes) -> bytes:
    """What is anchored on chain for ``content``: keccak256(salt ‖ keccak256(content))."""
    if len(salt) != SALT_BYTES:
        raise VaultError(f"a salt is {SALT_BYTES} bytes, not {len(salt)}")
    return keccak(salt + keccak(content))


def new_salt() -> bytes:
    return os.urandom(SALT_BYTES)


def pair_salt(account: LocalAccount, other: PublicKey, content: bytes) -> bytes:
    """The salt of a trade document between ``account`` and the holder of ``other``: HKDF-SHA256
    of their ECDH secret (libsecp256k1, through coincurve) and the document's hash. Either
    party derives the same salt and no one else can, so the same document between the same
    two parties always has the same commitment (the registry's one-record-per-document rule
    keeps working), and an outsider still cannot find it by guessing."""
    shared = coincurve.PrivateKey(bytes(account.key)).ecdh(b"\x04" + other.to_bytes())
    info = b"scf-vault pair salt" + keccak(content)
    return HKDF(algorithm=hashes.SHA256(), length=SALT_BYTES, salt=None, info=info).derive(shared)


@dataclass(frozen=True)
class Opening:
    """What an envelope holds: the document and what it takes to recompute its commitment.
    As bytes (before sealing): the salt (32), the name's length (2, big-endian) and the name
    (UTF-8), the kind's length (1) and the kind (ASCII), then the file as it is."""

    salt: bytes
    content: bytes
    name: str  # the file's name, private like the rest
    kind: str  # a trade document type (``invoice``...) or ``kyc``

    @property
    def commitment(self) -> bytes:
        return commitment_of(self.salt, self.content)

    def to_bytes(self) -> bytes:
        name, kind = self.name.encode(), self.kind.encode("ascii")
        if len(name) > MAX_NAME_BYTES or not 0 < len(kind) <= MAX_KIND_BYTES:
            raise VaultError(f"a document's name is at most {MAX_NAME_BYTES} bytes and its kind 1 to "
                             f"{MAX_KIND_BYTES} (got {len(name)} and {len(kind)})")
        return (self.salt + len(name).to_bytes(2, "big") + name + len(kind).to_bytes(1, "big") + kind
                + self.content)

    @classmethod
    def from_bytes(cls, data: bytes) -> Opening:
        try:
            if len(data) < SALT_BYTES + 3:
                raise ValueError(f"{len(data)} bytes is too short")
            salt, at = data[:SALT_BYTES], SALT_BYTES
            name_length = int.from_bytes(data[at:at + 2], "big")
            name = data[at + 2:at + 2 + name_length].decode("utf-8")
            at += 2 + name_length
            kind_length = data[at] if at < len(data) else 0
            kind = data[at + 1:at + 1 + kind_length].decode("ascii")
            at += 1 + kind_length
            if at > len(data) or name_length > MAX_NAME_BYTES or not kind.isidentifier():
                raise ValueError("its name or kind is cut short or malformed")
        except (ValueError, UnicodeDecodeError) as exc:
            raise VaultError(f"the envelope opened but its contents are not a vault document ({exc})") from None
        return cls(bytes(salt), bytes(data[at:]), name, kind)


@dataclass(frozen=True)
class Envelope:
    """A sealed document: the one thing the vault stores per document, under the SHA-256 of
    its bytes (``address``). As bytes: ``MAGIC``, the commitment (32), the nonce (12), then the
    ciphertext with its 16-byte tag. Binary, so a sealed file takes its own size, its name and
    kind, and 107 bytes (as JSON with base64 twice it took 1.78 times its size)."""

    commitment: bytes
    nonce: bytes
    ciphertext: bytes

    @staticmethod
    def seal(opening: Opening, key: bytes) -> Envelope:
        if len(opening.content) > MAX_DOCUMENT_BYTES:
            raise VaultError(f"the document is {len(opening.content):,} bytes; the vault takes up to "
                             f"{MAX_DOCUMENT_BYTES:,}")
        commitment = opening.commitment
        nonce = os.urandom(NONCE_BYTES)
        return Envelope(commitment, nonce, AESGCM(key).encrypt(nonce, opening.to_bytes(), _aad(commitment)))

    def open(self, key: bytes) -> Opening:
        """The document, if ``key`` opens this envelope, nothing in it was altered, and its salt
        and content give its commitment; otherwise VaultError says which check failed."""
        try:
            plain = AESGCM(key).decrypt(self.nonce, self.ciphertext, _aad(self.commitment))
        except (InvalidTag, ValueError):
            raise VaultError(
                f"document {_short(self.commitment)} fails authentication: its envelope was altered, or the key "
                "given is not its key"
            ) from None
        opening = Opening.from_bytes(plain)
        if opening.commitment != self.commitment:
            raise VaultError(
                f"document {_short(self.commitment)}: its salt and content give commitment "
                f"0x{opening.commitment.hex()}, not the 0x{self.commitment.hex()} it is filed under (salt mismatch)"
            )
        return opening

    def to_bytes(self) -> bytes:
        return MAGIC + self.commitment + self.nonce + self.ciphertext

    @property
    def address(self) -> str:
        return hashlib.sha256(self.to_bytes()).hexdigest()

    @classmethod
    def from_bytes(cls, data: bytes) -> Envelope:
        header = len(MAGIC) + 32 + NONCE_BYTES
        if not data.startswith(MAGIC):
            raise VaultError(f"not a vault envelope (it does not start with {MAGIC!r})")
        if len(data) < header + TAG_BYTES:
            raise VaultError(f"not a vault envelope ({len(data)} bytes is shorter than a sealed empty document)")
        commitment, nonce = data[len(MAGIC):len(MAGIC) + 32], data[len(MAGIC) + 32:header]
        return cls(bytes(commitment), bytes(nonce), bytes(data[header:]))


def _aad(commitment: bytes) -> bytes:
    return FORMAT.encode() + commitment


def _short(commitment: bytes) -> str:
    return "0x" + commitment.hex()[:12] + "…"


def new_content_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def wrap(public_key: PublicKey, content_key: bytes) -> bytes:
    """``content_key`` encrypted (ECIES, secp256k1) to the holder of ``public_key``."""
    return bytes(ecies.encrypt(b"\x04" + public_key.to_bytes(), content_key))


def unwrap(account: LocalAccount, wrapped: bytes) -> bytes | None:
    """The content key wrapped for ``account``, or None when the wrap was made for another key
    or altered (ECIES's own AES-GCM tag fails)."""
    try:
        key = ecies.decrypt(bytes(account.key), wrapped)
    except (ValueError, TypeError):
        return None
    return bytes(key) if len(key) == KEY_BYTES else None


# ------------------------------------------------------------------ key cards

def key_card_text(address: str, chain_id: int) -> str:
    return (f"SCF document vault key\nmember: {to_checksum_address(address)}\nchain: {chain_id}\n\n"
            "Signing this lets other members of the consortium wrap document keys for you. It moves nothing.")


@dataclass(frozen=True)
class KeyCard:
    """A member's public key for the vault, proven by its signature of ``key_card_text``."""

    address: str
    chain_id: int
    signature: bytes

    @staticmethod
    def make(account: LocalAccount, chain_id: int) -> KeyCard:
        signed = account.sign_message(encode_defunct(text=key_card_text(account.address, chain_id)))
        return KeyCard(account.address, chain_id, bytes(signed.signature))

    def public_key(self) -> PublicKey:
        """The key the card's signature recovers to; VaultError unless it is the address's."""
        digest = defunct_hash_message(text=key_card_text(self.address, self.chain_id))
        try:
            public = _signature(self.signature).recover_public_key_from_msg_hash(digest)
        except (BadSignature, ValueError) as exc:
            raise VaultError(f"the vault key card of {self.address} has a malformed signature ({exc})") from None
        if public.to_checksum_address() != to_checksum_address(self.address):
            raise VaultError(
                f"the vault key card filed for {self.address} was signed by {public.to_checksum_address()}: "
                "it is not that member's key"
            )
        return public


def _signature(signature: bytes) -> Signature:
    if len(signature) != 65:
        raise ValueError(f"{len(signature)} bytes, not 65")
    v = signature[64] - 27 if signature[64] >= 27 else signature[64]
    return Signature(signature[:64] + bytes([v]))


# ------------------------------------------------------------ signed statements

def canonical(statement: dict[str, Any]) -> str:
    return json.dumps(statement, sort_keys=True, separators=(",", ":"))


def sign_statement(account: LocalAccount, statement: dict[str, Any]) -> tuple[str, bytes]:
    """``statement`` as canonical JSON, and its author's EIP-191 signature of it."""
    text = canonical(statement)
    return text, bytes(account.sign_message(encode_defunct(text=text)).signature)


def statement_author(text: str, signature: bytes) -> str:
    """The address that signed ``text``; VaultError for a signature that recovers to nothing."""
    try:
        return str(Account.recover_message(encode_defunct(text=text), signature=signature))
    except (BadSignature, ValueError, ValidationError) as exc:
        raise VaultError(f"a signed vault record has a malformed signature ({exc})") from None
