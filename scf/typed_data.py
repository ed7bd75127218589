"""EIP-712 messages, from the one source of truth in ``frontend_bridge/typed-data``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from scf.paths import typed_data_dir


@cache
def definition(primary_type: str) -> dict[str, Any]:
    """The type definition of ``primary_type`` (domain name/version, types)."""
    return json.loads((typed_data_dir() / f"{primary_type}.json").read_text())


def type_string(primary_type: str) -> str:
    """``DiscountOffer(uint256 tokenId,...)``: what the contract hashes as its type hash."""
    fields = definition(primary_type)["types"][primary_type]
    members = ",".join(f"{f['type']} {f['name']}" for f in fields)
    return f"{primary_type}({members})"


def type_hash(primary_type: str) -> bytes:
    return keccak(text=type_string(primary_type))


@dataclass(frozen=True)
class DiscountOffer:
    token_id: int
    value: int
    rate_bps: int
    deadline: int
    nonce: int
    financier: str
    seller: str  # the holder the financier sells to: only it may submit the offer
    recourse: bool = False  # the financier may put the voucher back if its slot goes overdue

    def as_message(self) -> dict[str, Any]:
        return {
            "tokenId": self.token_id,
            "value": self.value,
            "rateBps": self.rate_bps,
            "deadline": self.deadline,
            "nonce": self.nonce,
            "financier": self.financier,
            "seller": self.seller,
            "recourse": self.recourse,
        }

    def as_tuple(self) -> tuple[int, int, int, int, int, str, str, bool]:
        return (
            self.token_id,
            self.value,
            self.rate_bps,
            self.deadline,
            self.nonce,
            self.financier,
            self.seller,
            self.recourse,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def full_message(primary_type: str, message: dict[str, Any], chain_id: int, verifying_contract: str) -> dict[str, Any]:
    d = definition(primary_type)
    return {
        "types": d["types"],
        "primaryType": primary_type,
        "domain": {**d["domain"], "chainId": chain_id, "verifyingContract": verifying_contract},
        "message": message,
    }


def sign_offer(private_key: bytes | str, offer: DiscountOffer, chain_id: int, desk_address: str) -> bytes:
    """The financier signs ``offer`` with its own key; returns the 65-byte signature."""
    payload = encode_typed_data(full_message=full_message("DiscountOffer", offer.as_message(), chain_id, desk_address))
    return bytes(Account.sign_message(payload, private_key).signature)


def offer_digest(offer: DiscountOffer, chain_id: int, desk_address: str) -> bytes:
    """The EIP-712 digest of ``offer`` (what the desk's ``hashOffer`` returns)."""
    payload = encode_typed_data(full_message=full_message("DiscountOffer", offer.as_message(), chain_id, desk_address))
    return keccak(b"\x19" + payload.version + payload.header + payload.body)
