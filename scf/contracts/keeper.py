"""PayoutKeeper: many redemptions in one transaction, each refusal left out with its reason."""

from __future__ import annotations

from scf.chain.sending import Signer, TxResult
from scf.contracts.base import ContractClient


class PayoutKeeper(ContractClient):
    NAME = "PayoutKeeper"

    def redeem_batch(self, caller: Signer, tokens: list[int], *, gas: int | None = None) -> TxResult:
        """``redeem`` of each voucher; the ones the ledger refuses are skipped (``skipped``)."""
        return self.send(caller, "redeemBatch", tokens, gas=gas)

    def skipped(self, result: TxResult) -> list[tuple[int, bytes]]:
        """(voucher, selector of the ledger's error) for each entry a batch left out."""
        return [
            (int(e["args"]["tokenId"]), bytes(e["args"]["reason"]))
            for e in result.events(self.contract, "RedemptionSkipped")
        ]
