"""DiscountDesk: EIP-712 discount offers, delivery versus payment."""

from __future__ import annotations

from dataclasses import dataclass

from scf.chain.sending import Signer, TxResult
from scf.contracts.base import ZERO_ADDRESS, ContractClient
from scf.typed_data import DiscountOffer, sign_offer


@dataclass(frozen=True)
class RecourseDebt:
    token_id: int
    seller: str
    financier: str
    owed: int  # price + interest - what the voucher paid the financier before the put-back
    paid: int

    @property
    def remaining(self) -> int:
        return self.owed - self.paid

    @property
    def exists(self) -> bool:
        return self.seller != ZERO_ADDRESS


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

    def put_back(self, financier: Signer, token: int) -> tuple[int, TxResult]:
        """The financier puts a voucher bought with recourse back to its seller (slot overdue);
        returns what the seller owed before the desk collected what it could at once."""
        result = self.send(financier, "putBack", token)
        (event,) = result.events(self.contract, "RecourseExercised")
        return int(event["args"]["owed"]), result

    def collect_recourse(self, caller: Signer, token: int) -> TxResult:
        return self.send(caller, "collectRecourse", token)

    def pay_recourse(self, payer: Signer, token: int, amount: int) -> TxResult:
        return self.send(payer, "payRecourse", token, amount)

    def recourse_debt_of(self, token: int) -> RecourseDebt:
        return RecourseDebt(token, *self.call("recourseDebtOf", token))
