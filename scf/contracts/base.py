"""Shared plumbing of the typed clients."""

from __future__ import annotations

from typing import Any

from eth_utils import abi_to_signature
from web3.contract import Contract

from scf.chain.connection import Connection
from scf.chain.sending import Call, FunctionCodec, Signer, TxResult

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


class ContractClient:
    """A deployed contract of the suite, seen through one connection."""

    NAME: str = ""

    def __init__(self, conn: Connection, address: str) -> None:
        self.conn = conn
        self.contract: Contract = conn.contract(self.NAME, address)
        self._codecs: dict[str, FunctionCodec] = {}  # function name or signature -> its codec (``prepared``)

    @property
    def address(self) -> str:
        return self.contract.address

    def send(self, signer: Signer, function: str, *args: Any, gas: int | None = None) -> TxResult:
        """Sends ``function(*args)`` signed by ``signer``. Overloaded names take the full
        signature, e.g. ``"transferFrom(uint256,address,uint256)"``."""
        return self.conn.transact(signer, self.fn(function, *args), gas=gas, origin=self.NAME)

    def call(self, function: str, *args: Any, block: int | str = "latest") -> Any:
        return self.conn.read(lambda: self.fn(function, *args).call(block_identifier=block), origin=self.NAME)

    def simulate(self, sender: str, function: str, *args: Any) -> Any:
        """``function(*args)`` as an ``eth_call`` from ``sender``: what sending it would return,
        or the contract's refusal (``ContractRevert``), with nothing sent."""
        return self.conn.read(lambda: self.fn(function, *args).call({"from": sender}), origin=self.NAME)

    def prepared(self, function: str, *args: Any) -> Call:
        """``function(*args)`` encoded once, for bulk sending (``Connection.transact_many``):
        the function's ABI is looked up once per client, the arguments encoded by eth-abi
        (web3 normalises those not in canonical form, as for ``fn``)."""
        codec = self.codec(function, *args)
        data = codec.encode(args) or self.contract.encode_abi(abi_to_signature(codec.abi), args=list(args))
        return Call(self.address, data)

    def codec(self, function: str, *args: Any) -> FunctionCodec:
        """``function``'s codec, worked out on first use (``args`` pick an overload named
        without its signature, as for ``fn``)."""
        codec = self._codecs.get(function)
        if codec is None:
            codec = self._codecs[function] = FunctionCodec.of(self.fn(function, *args).abi)
        return codec

    def fn(self, function: str, *args: Any) -> Any:
        if "(" in function:
            return self.contract.get_function_by_signature(function)(*args)
        return getattr(self.contract.functions, function)(*args)
