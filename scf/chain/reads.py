"""Reading one chain: requests retried on transport failures (never writes), receipts awaited,
reverts decoded, proof-of-authority blocks made readable."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import (
    BlockNotFound,
    ContractLogicError,
    ContractPanicError,
    ExtraDataLengthError,
    TransactionIndexingInProgress,
    TransactionNotFound,
)
from web3.middleware import ExtraDataToPOAMiddleware
from web3.types import BlockIdentifier, TxReceipt

from scf.chain.reverts import ContractRevert, ErrorDecoder
from scf.errors import ScfError

# What a dropped connection, a timeout or an HTTP error from the node raises (requests'
# exceptions are OSErrors too). JSON-RPC errors are answers, not transport failures.
TRANSPORT_ERRORS = (ConnectionError, TimeoutError, OSError)
# The longest pause between two looks for a receipt: a quarter of the shortest block time a
# consortium chain runs (1 s).
RECEIPT_POLL_CAP = 0.25


class RpcError(ScfError, RuntimeError):
    """The node could not be reached or did not answer as expected."""


class ChainReader:
    """Read-only access to one chain, with the suite's errors to decode reverts."""

    def __init__(self, web3: Web3, errors: ErrorDecoder, *, receipt_timeout: float, read_retries: int) -> None:
        self.w3 = web3
        self.errors = errors
        self.receipt_timeout = receipt_timeout
        self.read_retries = read_retries
        self._chain_id: int | None = None
        self._poa_checked = False

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.read(lambda: self.w3.eth.chain_id))
        return self._chain_id

    @property
    def endpoint(self) -> str:
        return str(getattr(self.w3.provider, "endpoint_uri", None) or type(self.w3.provider).__name__)

    def read(self, fn: Callable[[], Any], *, origin: str | None = None) -> Any:
        """Runs a read-only request, retrying transient transport failures (never writes).
        ``origin`` names the contract called, for attributing a revert."""
        delay = 0.2
        for attempt in range(self.read_retries + 1):
            try:
                return fn()
            except (ContractLogicError, ContractPanicError) as exc:
                raise self.decode(exc, origin) from None
            except TRANSPORT_ERRORS as exc:
                if attempt == self.read_retries:
                    raise RpcError(
                        f"the node at {self.endpoint} did not answer after {attempt + 1} tries: {exc}"
                    ) from exc
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def decode(self, exc: Exception, origin: str | None = None) -> ContractRevert:
        """The contract error behind web3's ``ContractLogicError``."""
        data = getattr(exc, "data", None)
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x"):
            return self.errors.decode(data, prefer=origin)
        message = getattr(exc, "message", None) or str(exc)
        return ContractRevert("Error", {"message": message}, None, b"")

    def ensure_poa_compatible(self) -> None:
        """Proof-of-authority chains (Clique, QBFT, IBFT) put more than 32 bytes in a block's
        extra-data; web3.py needs a middleware to read their blocks. Checked once, when the
        node has answered: a node that failed the check (``RpcError``) is checked next time."""
        if self._poa_checked:
            return
        try:
            self.read(lambda: self.w3.eth.get_block("latest"))
        except ExtraDataLengthError:
            self.w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        self._poa_checked = True

    def code_at(self, address: str) -> bytes:
        return bytes(self.read(lambda: self.w3.eth.get_code(Web3.to_checksum_address(address))))

    def block_timestamp(self, block: BlockIdentifier = "latest") -> int:
        return int(self.read(lambda: self.w3.eth.get_block(block)["timestamp"]))

    def head(self) -> tuple[int, str]:
        """The latest block: (number, hash)."""
        block = self.read(lambda: self.w3.eth.get_block("latest"))
        return int(block["number"]), HexBytes(block["hash"]).to_0x_hex()

    def block_hash(self, number: int) -> str | None:
        """The hash of block ``number`` on this chain; None if the chain has no such block."""
        try:
            block = self.read(lambda: self.w3.eth.get_block(number))
        except BlockNotFound:
            return None
        return HexBytes(block["hash"]).to_0x_hex()

    def nonce_of(self, address: str, block: BlockIdentifier = "pending") -> int:
        account = Web3.to_checksum_address(address)
        return int(self.read(lambda: self.w3.eth.get_transaction_count(account, block)))

    def receipt_or_none(self, tx_hash: HexBytes) -> TxReceipt | None:
        try:
            return self.read(lambda: self.w3.eth.get_transaction_receipt(tx_hash))
        except (TransactionNotFound, TransactionIndexingInProgress):
            return None

    def transaction_or_none(self, tx_hash: HexBytes) -> Any:
        try:
            return self.read(lambda: self.w3.eth.get_transaction(tx_hash))
        except TransactionNotFound:
            return None

    def wait(self, tx_hash: HexBytes) -> TxReceipt:
        """Polls for the receipt: at once (a node that mines on receipt has it), then ever
        less often, from 25 ms up to every ``RECEIPT_POLL_CAP`` seconds, so that many members
        waiting at once on a chain with 1-2 s blocks do not spend their CPU polling (18 polls a
        block at a fixed 50 ms took most of a 200-member load test's client time). Polling is
        a read: a dropped connection is retried (up to ``read_retries`` times in a row), never
        the transaction."""
        deadline = time.monotonic() + self.receipt_timeout
        failures = 0
        pause = 0.025
        while True:
            try:
                return self.w3.eth.get_transaction_receipt(tx_hash)
            except (TransactionNotFound, TransactionIndexingInProgress):
                failures = 0
            except TRANSPORT_ERRORS as exc:
                failures += 1
                if failures > self.read_retries:
                    raise RpcError(
                        f"the node at {self.endpoint} stopped answering while transaction 0x{bytes(tx_hash).hex()} "
                        f"was awaited ({exc}); it may have been mined. Nothing was sent again: re-running "
                        "deploy, seed or scenario checks the chain (and its journal) before sending"
                    ) from exc
                time.sleep(0.2 * 2 ** (failures - 1))
            if time.monotonic() > deadline:
                raise RpcError(
                    f"transaction 0x{bytes(tx_hash).hex()} was not mined within {self.receipt_timeout:.0f} s; "
                    "it may still be mined: check it before sending again"
                )
            time.sleep(pause)
            pause = min(pause * 1.5, RECEIPT_POLL_CAP)
