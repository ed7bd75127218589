"""A connection to one chain: builds, signs (locally, with the member's own key), sends and
awaits transactions, and turns reverts into ``ContractRevert`` exceptions.

It takes a plain ``web3.Web3``; under ape, scripts pass ``ape.chain.provider.web3``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, ContractPanicError, TimeExhausted
from web3.logs import DISCARD
from web3.middleware import ExtraDataToPOAMiddleware
from web3.types import TxReceipt

from scf.chain.artifacts import Artifacts
from scf.chain.errors import ContractRevert, ErrorDecoder


GAS_MARGIN = 1.2
GAS_HEADROOM = 10_000


class Signer(Protocol):
    """What a member's key must do: eth-account's ``LocalAccount`` satisfies it."""

    address: ChecksumAddress

    def sign_transaction(self, transaction_dict: dict[str, Any]) -> Any: ...


class RpcError(RuntimeError):
    """The node could not be reached or did not answer as expected."""


@dataclass
class TxResult:
    """A mined, successful transaction."""

    tx_hash: HexBytes
    receipt: TxReceipt
    result: Any = None
    _events_cache: dict[str, list[Any]] = field(default_factory=dict, repr=False)

    @property
    def gas_used(self) -> int:
        return int(self.receipt["gasUsed"])

    @property
    def block_number(self) -> int:
        return int(self.receipt["blockNumber"])

    def events(self, contract: Contract, name: str) -> list[Any]:
        """Decoded events ``name`` that ``contract`` emitted in this transaction."""
        key = f"{contract.address}:{name}"
        if key not in self._events_cache:
            event = getattr(contract.events, name)()
            self._events_cache[key] = [
                e for e in event.process_receipt(self.receipt, errors=DISCARD) if e["address"] == contract.address
            ]
        return self._events_cache[key]


class Connection:
    """One chain, the project's compiled artifacts, and how to pay for gas."""

    def __init__(
        self,
        web3: Web3,
        artifacts: Artifacts | None = None,
        *,
        receipt_timeout: float = 120.0,
        priority_fee_wei: int = 0,
        read_retries: int = 3,
    ) -> None:
        self.w3 = web3
        self.artifacts = artifacts or Artifacts.load()
        self.errors = ErrorDecoder(self.artifacts.all_abis())
        self.receipt_timeout = receipt_timeout
        self.priority_fee_wei = priority_fee_wei
        self.read_retries = read_retries
        self._chain_id: int | None = None
        self._poa_checked = False

    # ------------------------------------------------------------------ basics

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.read(lambda: self.w3.eth.chain_id))
        return self._chain_id

    def read(self, fn: Callable[[], Any], *, origin: str | None = None) -> Any:
        """Runs a read-only request, retrying transient transport failures (never writes).
        ``origin`` names the contract called, for attributing a revert."""
        delay = 0.2
        for attempt in range(self.read_retries + 1):
            try:
                return fn()
            except (ContractLogicError, ContractPanicError) as exc:
                raise self._decode(exc, origin) from None
            except (ConnectionError, TimeoutError, OSError) as exc:
                if attempt == self.read_retries:
                    raise RpcError(f"the node did not answer after {attempt + 1} tries: {exc}") from exc
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def ensure_poa_compatible(self) -> None:
        """Proof-of-authority chains (Clique, QBFT, IBFT) put more than 32 bytes in a block's
        extra-data; web3.py needs a middleware to read their blocks."""
        if self._poa_checked:
            return
        self._poa_checked = True
        try:
            self.w3.eth.get_block("latest")
        except Exception as exc:  # web3 raises ExtraDataLengthError, a ValueError subclass
            if "extraData" in str(exc) or "ExtraData" in type(exc).__name__:
                self.w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
            else:
                raise

    def contract(self, name: str, address: str) -> Contract:
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=self.artifacts[name].abi)

    def code_at(self, address: str) -> bytes:
        return bytes(self.read(lambda: self.w3.eth.get_code(Web3.to_checksum_address(address))))

    def block_timestamp(self, block: str | int = "latest") -> int:
        return int(self.read(lambda: self.w3.eth.get_block(block)["timestamp"]))

    # ------------------------------------------------------------------ writes

    def fees(self) -> dict[str, int]:
        """EIP-1559 fees when the chain has a base fee, else a legacy gas price."""
        block = self.read(lambda: self.w3.eth.get_block("latest"))
        base = block.get("baseFeePerGas")
        if base is None:
            return {"gasPrice": int(self.read(lambda: self.w3.eth.gas_price))}
        tip = self.priority_fee_wei
        return {"maxFeePerGas": 2 * int(base) + tip, "maxPriorityFeePerGas": tip}

    def transact(
        self, signer: Signer, call: ContractFunction, *, gas: int | None = None, origin: str | None = None
    ) -> TxResult:
        """Signs ``call`` with ``signer``'s own key, sends it and waits for it to be mined.
        Raises ``ContractRevert`` (before sending, from the gas estimate) if it would revert;
        ``origin`` names the contract called, for attributing the error."""
        tx = self._build(signer, call, nonce=None, gas=gas, origin=origin)
        tx_hash = self._send_signed(signer, tx)
        receipt = self.wait(tx_hash)
        self._raise_if_failed(receipt, tx, signer, origin)
        return TxResult(tx_hash=tx_hash, receipt=receipt)

    def deploy(self, signer: Signer, name: str, *args: Any) -> TxResult:
        """Deploys contract ``name`` with constructor ``args``; ``result`` is its address."""
        artifact = self.artifacts[name]
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        tx = self._build(signer, factory.constructor(*args), nonce=None, gas=None)
        tx_hash = self._send_signed(signer, tx)
        receipt = self.wait(tx_hash)
        self._raise_if_failed(receipt, tx, signer)
        return TxResult(tx_hash=tx_hash, receipt=receipt, result=receipt["contractAddress"])

    def transact_many(
        self,
        items: Sequence[tuple[Signer, ContractFunction]],
        *,
        gas: int | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> list[TxResult]:
        """Sends many transactions without waiting between them: nonces are kept locally per
        signer, fees read once, receipts awaited in bulk. With ``gas`` given, nothing is
        estimated (items may depend on earlier ones). Raises ``BatchError`` naming the first
        failed item; the items before it are mined and correct."""
        fees = self.fees()
        nonces: dict[str, int] = {}
        sent: list[tuple[HexBytes, dict[str, Any], Signer]] = []
        for index, (signer, call) in enumerate(items):
            address = signer.address
            if address not in nonces:
                nonces[address] = int(self.read(lambda a=address: self.w3.eth.get_transaction_count(a, "pending")))
            try:
                tx = self._build(signer, call, nonce=nonces[address], gas=gas, fees=fees)
                tx_hash = self._send_signed(signer, tx)
            except ContractRevert as exc:
                self._await_all(sent, on_progress, len(items))
                raise BatchError(index, exc) from exc
            nonces[address] += 1
            sent.append((tx_hash, tx, signer))
        return self._await_all(sent, on_progress, len(items))

    def wait(self, tx_hash: HexBytes) -> TxReceipt:
        try:
            return self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.receipt_timeout, poll_latency=0.05)
        except TimeExhausted as exc:
            raise RpcError(
                f"transaction {tx_hash.hex()} was not mined within {self.receipt_timeout:.0f} s; "
                "it may still be mined: check it before sending again"
            ) from exc

    # --------------------------------------------------------------- internals

    def _await_all(
        self,
        sent: list[tuple[HexBytes, dict[str, Any], Signer]],
        on_progress: Callable[[int, int], None] | None,
        total: int,
    ) -> list[TxResult]:
        results = []
        for index, (tx_hash, tx, signer) in enumerate(sent):
            receipt = self.wait(tx_hash)
            try:
                self._raise_if_failed(receipt, tx, signer)
            except ContractRevert as exc:
                raise BatchError(index, exc) from exc
            results.append(TxResult(tx_hash=tx_hash, receipt=receipt))
            if on_progress is not None:
                on_progress(index + 1, total)
        return results

    def _build(
        self,
        signer: Signer,
        call: Any,
        *,
        nonce: int | None,
        gas: int | None,
        fees: dict[str, int] | None = None,
        origin: str | None = None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"from": signer.address, "chainId": self.chain_id}
        params.update(fees or self.fees())
        params["nonce"] = (
            nonce
            if nonce is not None
            else int(self.read(lambda: self.w3.eth.get_transaction_count(signer.address, "pending")))
        )
        if gas is None:
            # The estimate is made against the latest block; the transaction is mined in the next
            # one (later timestamp, other writes before it), so leave headroom.
            try:
                estimate = call.estimate_gas({k: v for k, v in params.items() if k in ("from", "nonce")})
            except (ContractLogicError, ContractPanicError) as exc:
                raise self._decode(exc, origin) from None
            gas = int(estimate * GAS_MARGIN) + GAS_HEADROOM
        params["gas"] = gas
        if hasattr(call, "_encode_transaction_data") and getattr(call, "address", None):
            # Encode directly: what web3's build_transaction does, minus its per-call defaults.
            params.update({"to": call.address, "data": call._encode_transaction_data(), "value": 0})
            return params
        try:
            tx = call.build_transaction(params)
        except (ContractLogicError, ContractPanicError) as exc:
            raise self._decode(exc, origin) from None
        if "maxFeePerGas" in tx:
            # A gas price strategy on the caller's web3 (ape sets one) may add a legacy price.
            tx.pop("gasPrice", None)
        return tx

    def _send_signed(self, signer: Signer, tx: dict[str, Any]) -> HexBytes:
        signed = signer.sign_transaction(tx)
        return HexBytes(self.w3.eth.send_raw_transaction(signed.raw_transaction))

    def _raise_if_failed(
        self, receipt: TxReceipt, tx: dict[str, Any], signer: Signer, origin: str | None = None
    ) -> None:
        if receipt["status"] == 1:
            return
        if int(receipt["gasUsed"]) >= int(tx.get("gas", 0)):
            raise ContractRevert("OutOfGas", {"gas_limit": int(tx["gas"]), "tx": receipt["transactionHash"].hex()}, None, b"")
        # Replay the call, as its sender, on the state it met, to recover the revert data.
        replay = {k: v for k, v in tx.items() if k in ("to", "data", "value", "gas")}
        replay["from"] = signer.address
        try:
            self.w3.eth.call(replay, receipt["blockNumber"] - 1)
        except (ContractLogicError, ContractPanicError) as exc:
            raise self._decode(exc, origin) from None
        raise ContractRevert("RevertWithoutReason", {"tx": receipt["transactionHash"].hex()}, None, b"")

    def _decode(self, exc: Exception, origin: str | None = None) -> ContractRevert:
        data = getattr(exc, "data", None)
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x"):
            return self.errors.decode(data, prefer=origin)
        message = getattr(exc, "message", None) or str(exc)
        return ContractRevert("Error", {"message": message}, None, b"")


class BatchError(RuntimeError):
    """Item ``index`` of a batch failed; the items before it succeeded."""

    def __init__(self, index: int, cause: ContractRevert) -> None:
        self.index = index
        self.cause = cause
        super().__init__(f"batch item {index} failed: {cause}")
