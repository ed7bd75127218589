"""SettlementToken: the permissioned cash leg (2 decimals)."""

from __future__ import annotations

from scf.chain.connection import Signer, TxResult
from scf.contracts.base import ContractClient


class SettlementToken(ContractClient):
    NAME = "SettlementToken"

    def balance_of(self, address: str) -> int:
        return int(self.call("balanceOf", address))

    def total_supply(self) -> int:
        return int(self.call("totalSupply"))

    def mint(self, operator: Signer, to: str, amount: int) -> TxResult:
        return self.send(operator, "mint", to, amount)

    def burn(self, operator: Signer, holder: str, amount: int) -> TxResult:
        return self.send(operator, "burn", holder, amount)

    def approve(self, owner: Signer, spender: str, amount: int) -> TxResult:
        return self.send(owner, "approve", spender, amount)

    def transfer(self, sender: Signer, to: str, amount: int) -> TxResult:
        return self.send(sender, "transfer", to, amount)

    def allowance(self, owner: str, spender: str) -> int:
        return int(self.call("allowance", owner, spender))
