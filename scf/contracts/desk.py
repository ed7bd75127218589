"""DiscountDesk: EIP-712 discount offers, delivery versus payment."""

from __future__ import annotations

from scf.chain.sending import Signer, TxResult
from scf.contracts.base import ContractClient
from scf.typed_data import DiscountOffer, sign_offer


class DiscountDesk(ContractClient):
    NAME = "DiscountDesk"

    def sign(self, financier_key: bytes | str, offer: DiscountOffer) -> bytes:
        """The financier signs an offer for this desk on this chain (domain-bound)."""
        return sign_offer(financier_key, offer, self.conn.chain_id, self.address)

    def quote(self, token: int, value: int, rate_bps: int) -> tuple[int, int]:
        """(price the holder would receive now, seconds to maturity)."""
        price, seconds = self.call("quote", token, value, rate_bps)
        return int(price), int(seconds)

    def discount(self, holder: Signer, offer: DiscountOffer, signature: bytes) -> tuple[int, int, TxResult]:
        """The holder submits a signed offer; returns (financier's voucher, price paid, tx)."""
        result = self.send(holder, "discount", offer.as_tuple(), signature)
        (event,) = result.events(self.contract, "OfferExecuted")
        return int(event["args"]["financierTokenId"]), int(event["args"]["price"]), result

    def cancel_offer(self, financier: Signer, nonce: int) -> TxResult:
        return self.send(financier, "cancelOffer", nonce)

    def is_nonce_used(self, financier: str, nonce: int) -> bool:
        return bool(self.call("isNonceUsed", financier, nonce))
