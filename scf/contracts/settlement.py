"""SettlementToken: the permissioned cash leg (2 decimals)."""

from __future__ import annotations

from functools import partial

from scf.chain.sending import Signer, TxResult
from scf.contracts.base import ZERO_ADDRESS, ContractClient


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

    def minted_to(self, from_block: int, chunk: int = 50_000) -> dict[str, int]:
        """Everything ever minted, by receiver, from the Transfer(0x0 -> holder) events."""
        head = int(self.conn.read(lambda: self.conn.w3.eth.block_number))
        event = self.contract.events.Transfer()
        minted: dict[str, int] = {}
        for lo in range(from_block, head + 1, chunk):
            to_block = min(lo + chunk - 1, head)
            logs = self.conn.read(partial(
                event.get_logs, from_block=lo, to_block=to_block, argument_filters={"from": ZERO_ADDRESS}
            ))
            for log in logs:
                minted[log["args"]["to"]] = minted.get(log["args"]["to"], 0) + int(log["args"]["value"])
        return minted
