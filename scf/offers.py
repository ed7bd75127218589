"""The offer board: financiers' signed discount offers, published so that a holder finds the
offers for its vouchers without anyone copying signatures into a chat.

An offer arrives as it travels everywhere (``{"offer": {field: value}, "signature": "0x..."}``,
the fields of ``frontend_bridge/typed-data/DiscountOffer.json``, whole numbers as JSON numbers
or decimal strings). It is stored only once it is shown to be a live offer of an active
financier: the EIP-712 signature is the financier's, the financier holds the financier role,
the deadline is ahead, the nonce is unused, and the desk would execute the offer for its seller
now (an ``eth_call`` of ``discount`` from the seller, so every rule of the desk and the ledger
is the chain's own). Nothing secret reaches the board: a signed offer is what the financier
hands its counterparty anyway, and the board never signs or sends anything.

The chain decides what is live: each refresh drops offers past their deadline and offers whose
nonce the desk has spent (executed, or cancelled by the financier with ``cancelOffer``). Offers
live in a SQLite file beside the event index, so a restart loses none.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import is_address, to_checksum_address
from hexbytes import HexBytes

from scf.chain import batch
from scf.chain.reverts import ContractRevert
from scf.contracts import MemberStatus, Role
from scf.errors import ScfError
from scf.money import effective_annual_cost
from scf.suite import Suite
from scf.typed_data import DiscountOffer, definition, full_message, offer_digest

OFFER_TYPE = "DiscountOffer"
# Offers an active financier may have on the board at once: the board is shared, and its
# listing reads the chain for each offer.
MAX_LIVE_PER_FINANCIER = 200
# Digits of the largest uint256 (78): a longer number is refused before Python parses it.
MAX_DIGITS = 78
# The typed-data field names and the DiscountOffer attributes they fill.
_ATTRIBUTE = {"tokenId": "token_id", "rateBps": "rate_bps"}


class OfferRefused(ScfError):
    """An offer the board does not take, with the reason in words."""


def expired(offer: DiscountOffer, now: int) -> bool:
    """The desk's rule (``OfferExpired``): an offer expires once the chain's time is past its deadline."""
    return now > offer.deadline


@dataclass(frozen=True)
class PublishedOffer:
    offer: DiscountOffer
    signature: bytes
    digest: bytes
    published_at: int  # the chain's time when the board took it

    def to_json(self) -> dict[str, Any]:
        """The offer as it travels (``offerToJson`` in the page's bridge): every field as text."""
        message = self.offer.as_message()
        return {
            "offer": {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in message.items()},
            "signature": HexBytes(self.signature).to_0x_hex(),
        }


@dataclass(frozen=True)
class Terms:
    """What taking an offer would do now, as the chain answers."""

    price: int  # what the seller would receive
    seconds_to_maturity: int
    refusal: str | None  # why the desk would refuse it now, in words; None if it would execute

    def effective_annual_cost(self, value: int) -> Fraction | None:
        """The seller's cost of the money (``scf.money.effective_annual_cost``)."""
        return effective_annual_cost(value, self.price, self.seconds_to_maturity)


def parse_offer(payload: Any) -> tuple[DiscountOffer, bytes]:
    """``{"offer": {...}, "signature": "0x..."}`` read strictly: every field of the typed data
    and nothing else, numbers whole and in range, addresses valid, the signature 65 bytes."""
    if not isinstance(payload, dict) or set(payload) != {"offer", "signature"}:
        raise OfferRefused('an offer is sent as {"offer": {...}, "signature": "0x..."}, and nothing else')
    fields = definition(OFFER_TYPE)["types"][OFFER_TYPE]
    raw = payload["offer"]
    if not isinstance(raw, dict):
        raise OfferRefused("the offer is not an object of fields")
    names = [f["name"] for f in fields]
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise OfferRefused(f"the offer has fields the desk does not know: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for f in fields:
        name, kind = f["name"], f["type"]
        value = raw.get(name)
        if value is None or value == "":
            raise OfferRefused(f"the offer has no {name}")
        values[_ATTRIBUTE.get(name, name)] = _field(name, kind, value)
    signature = payload["signature"]
    if not isinstance(signature, str) or not signature.startswith("0x") or len(signature) != 132:
        raise OfferRefused("the signature is not 65 bytes of hex (0x and 130 hex digits)")
    try:
        sig = bytes.fromhex(signature[2:])
    except ValueError:
        raise OfferRefused("the signature is not 65 bytes of hex (0x and 130 hex digits)") from None
    return DiscountOffer(**values), sig


def _field(name: str, kind: str, value: Any) -> Any:
    if kind == "address":
        if not isinstance(value, str) or not is_address(value):
            raise OfferRefused(f"the offer's {name} {value!r} is not an address")
        return to_checksum_address(value)
    if kind == "bool":
        if value in (True, "true"):
            return True
        if value in (False, "false"):
            return False
        raise OfferRefused(f"the offer's {name} {value!r} is neither true nor false")
    if kind.startswith("uint"):
        bits = int(kind[4:] or 256)
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, str) and value.isascii() and value.isdigit())
        ):
            raise OfferRefused(f"the offer's {name} {value!r} is not a whole number")
        if len(str(value)) > MAX_DIGITS:
            raise OfferRefused(f"the offer's {name} does not fit a {kind}")
        number = int(value)
        if not 0 <= number < 2**bits:
            raise OfferRefused(f"the offer's {name} {value} does not fit a {kind}")
        return number
    raise OfferRefused(f"the offer type has a field of type {kind}, which the board cannot read")


class OfferBoard:
    """The published offers of one suite's desk, in a SQLite file (``":memory:"`` for none)."""

    def __init__(self, suite: Suite, path: Path | str = ":memory:") -> None:
        self.suite = suite
        self.lock = threading.Lock()
        self.db = sqlite3.connect(str(path), check_same_thread=False)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS offers (digest TEXT PRIMARY KEY, desk TEXT NOT NULL, financier TEXT NOT NULL,"
            " seller TEXT NOT NULL, token TEXT NOT NULL, body TEXT NOT NULL, published_at INTEGER NOT NULL)"
        )
        self.db.commit()

    # ------------------------------------------------------------------ publishing

    def publish(self, payload: Any) -> tuple[PublishedOffer, bool, Terms]:
        """Checks and stores an offer; (the offer, whether it is new, what taking it would do
        now). Raises OfferRefused."""
        offer, signature = parse_offer(payload)
        desk, conn = self.suite.desk, self.suite.conn
        digest = offer_digest(offer, conn.chain_id, desk.address)
        known = self._get(digest)
        if known is not None:
            (terms,) = self.terms([(known.offer, known.signature)])
            return known, False, terms
        self._check_signature(offer, signature)
        member = self.suite.registry.member(offer.financier)
        if member.status != MemberStatus.ACTIVE:
            raise OfferRefused(f"the financier {offer.financier} is not an active member of the consortium "
                               f"({member.status.name.lower()})")
        if not member.roles & Role.FINANCIER:
            raise OfferRefused(f"{offer.financier} does not hold the financier role: only financiers publish offers")
        now = conn.block_timestamp()
        if expired(offer, now):
            raise OfferRefused(f"the offer expired (deadline {offer.deadline}, the chain's time is {now})")
        if desk.is_nonce_used(offer.financier, offer.nonce):
            raise OfferRefused(f"the financier already used or cancelled nonce {offer.nonce}: sign the offer again")
        (terms,) = self.terms([(offer, signature)])
        if terms.refusal is not None:
            raise OfferRefused(f"the desk would refuse this offer now: {terms.refusal}")
        if offer.deadline > now + terms.seconds_to_maturity:
            raise OfferRefused(
                f"the offer outlives its voucher: its deadline {offer.deadline} is after the maturity "
                f"{now + terms.seconds_to_maturity}, when no offer can be taken any more"
            )
        with self.lock:
            (count,) = self.db.execute(
                "SELECT COUNT(*) FROM offers WHERE desk = ? AND financier = ?", (desk.address, offer.financier)
            ).fetchone()
            if count >= MAX_LIVE_PER_FINANCIER:
                raise OfferRefused(
                    f"{offer.financier} already has {count} live offers on the board, the most it may: "
                    "cancel some (cancelOffer) or let them expire"
                )
            published = PublishedOffer(offer, signature, digest, now)
            # OR IGNORE: the same offer published twice at once is kept once.
            self.db.execute(
                "INSERT OR IGNORE INTO offers VALUES (?, ?, ?, ?, ?, ?, ?)",
                (HexBytes(digest).to_0x_hex(), desk.address, offer.financier, offer.seller, str(offer.token_id),
                 json.dumps(published.to_json()), now),
            )
            self.db.commit()
        return published, True, terms

    def _check_signature(self, offer: DiscountOffer, signature: bytes) -> None:
        """The signature must recover to the financier. A financier that is a contract (a
        smart wallet) signs by ERC-1271 instead: its signature is not checked here but by the
        desk itself (OpenZeppelin's SignatureChecker) in the simulated ``discount`` that every
        offer must pass before it is kept."""
        conn, desk = self.suite.conn, self.suite.desk
        message = encode_typed_data(full_message=full_message(OFFER_TYPE, offer.as_message(), conn.chain_id,
                                                              desk.address))
        try:
            signer = Account.recover_message(message, signature=signature)
        except Exception:  # eth-keys refuses a signature that is not a point on the curve
            signer = None
        if signer != offer.financier and not conn.code_at(offer.financier):
            raise OfferRefused(
                f"the signature is not the financier's: it was made by {signer or 'no key'} over this offer on chain "
                f"{conn.chain_id} for desk {desk.address}, and the offer names financier {offer.financier}"
            )

    # -------------------------------------------------------------------- reading

    def live(self, *, seller: str | None = None, financier: str | None = None,
             token: int | None = None) -> list[PublishedOffer]:
        """The board's offers, oldest first, filtered."""
        where, args = ["desk = ?"], [self.suite.desk.address]
        for column, value in (("seller", seller), ("financier", financier), ("token", token)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(str(value))
        with self.lock:
            rows = self.db.execute(
                f"SELECT body, digest, published_at FROM offers WHERE {' AND '.join(where)} ORDER BY rowid", args
            ).fetchall()
        return [self._row(body, digest, at) for body, digest, at in rows]

    def _get(self, digest: bytes) -> PublishedOffer | None:
        with self.lock:
            row = self.db.execute("SELECT body, digest, published_at FROM offers WHERE digest = ?",
                                  (HexBytes(digest).to_0x_hex(),)).fetchone()
        return None if row is None else self._row(*row)

    @staticmethod
    def _row(body: str, digest: str, published_at: int) -> PublishedOffer:
        offer, signature = parse_offer(json.loads(body))
        return PublishedOffer(offer, signature, bytes(HexBytes(digest)), published_at)

    def terms(self, offers: list[tuple[DiscountOffer, bytes]]) -> list[Terms]:
        """Per offer, the price and time to maturity now (``quote``) and whether the desk would
        execute it for its seller now (``discount`` simulated from the seller), in one batch."""
        desk = self.suite.desk
        calls: list[dict[str, str]] = []
        for offer, signature in offers:
            calls.append({"to": desk.address, "data": desk.prepared("quote", offer.token_id, offer.value,
                                                                     offer.rate_bps).data})
            calls.append({"from": offer.seller, "to": desk.address,
                          "data": desk.prepared("discount", offer.as_tuple(), signature).data})
        outcomes = batch.try_calls(self.suite.conn, calls)
        out = []
        for quoted, simulated in zip(outcomes[::2], outcomes[1::2], strict=True):
            try:
                price, seconds = abi_decode(["uint256", "uint256"], quoted) if isinstance(quoted, bytes) else (0, 0)
            except Exception:  # not the desk's answer: one offer's oddity must not break a listing
                price, seconds = 0, 0
            refusal = simulated.describe() if isinstance(simulated, ContractRevert) else None
            out.append(Terms(int(price), int(seconds), refusal))
        return out

    # -------------------------------------------------------------------- pruning

    def prune(self) -> int:
        """Drops the offers past their deadline or whose nonce the desk spent; how many."""
        offers = self.live()
        if not offers:
            return 0
        now = self.suite.conn.block_timestamp()
        desk = self.suite.desk
        answers = batch.call_many(self.suite.conn, [
            (desk.address, desk.prepared("isNonceUsed", p.offer.financier, p.offer.nonce).data) for p in offers
        ])
        dead = [p for p, answer in zip(offers, answers, strict=True)
                if expired(p.offer, now) or abi_decode(["bool"], answer)[0]]
        if dead:
            with self.lock:
                self.db.executemany("DELETE FROM offers WHERE digest = ?",
                                    [(HexBytes(p.digest).to_0x_hex(),) for p in dead])
                self.db.commit()
        return len(dead)
