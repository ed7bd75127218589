"""Shared plumbing of the typed clients."""

from __future__ import annotations

from typing import Any

from web3.contract import Contract

from scf.chain.connection import Connection
from scf.chain.sending import Signer, TxResult

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


class ContractClient:
    """A deployed contract of the suite, seen through one connection."""

    NAME: str = ""

    def __init__(self, conn: Connection, address: str) -> None:
        self.conn = conn
        self.contract: Contract = conn.contract(self.NAME, address)

    @property
    def address(self) -> str:
        return self.contract.address

    def send(self, signer: Signer, function: str, *args: Any, gas: int | None = None) -> TxResult:
        """Sends ``function(*args)`` signed by ``signer``. Overloaded names take the full
        signature, e.g. ``"transferFrom(uint256,address,uint256)"``."""
        return self.conn.transact(signer, self.fn(function, *args), gas=gas, origin=self.NAME)

    def call(self, function: str, *args: Any, block: int | str = "latest") -> Any:
        return self.conn.read(lambda: self.fn(function, *args).call(block_identifier=block), origin=self.NAME)

    def fn(self, function: str, *args: Any) -> Any:
        if "(" in function:
            return self.contract.get_function_by_signature(function)(*args)
        return getattr(self.contract.functions, function)(*args)
