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
from web3.exceptions import (
    BlockNotFound,
    ContractLogicError,
    ContractPanicError,
    TransactionIndexingInProgress,
    TransactionNotFound,
    Web3RPCError,
)
from web3.logs import DISCARD
from web3.middleware import ExtraDataToPOAMiddleware
from web3.providers.rpc.utils import ExceptionRetryConfiguration
from web3.types import TxReceipt

from scf.chain.artifacts import Artifacts
from scf.chain.errors import ContractRevert, ErrorDecoder
from scf.chain.journal import Journal, JournalConflict, Sent

GAS_MARGIN = 1.2
# The estimate runs on the latest block; the transaction is mined in a later one, whose
# timestamp can take another path: an unpause in the same second as its pause updates the pause
# clock's last checkpoint in place, a second later it writes a new one (a fresh storage slot,
# 22,100 gas). The headroom covers one fresh slot beyond the margin.
GAS_HEADROOM = 25_000
# What a dropped connection, a timeout or an HTTP error from the node raises (requests'
# exceptions are OSErrors too). JSON-RPC errors are answers, not transport failures.
TRANSPORT_ERRORS = (ConnectionError, TimeoutError, OSError)


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
        _no_blind_resends(web3)
        self.artifacts = artifacts or Artifacts.load()
        self.errors = ErrorDecoder(self.artifacts.all_abis())
        self.receipt_timeout = receipt_timeout
        self.priority_fee_wei = priority_fee_wei
        self.read_retries = read_retries
        self._chain_id: int | None = None
        self._poa_checked = False
        # While a journal task is open, every send is recorded before it is broadcast and a
        # re-run settles what was recorded instead of sending anew (scf.chain.journal).
        self.journal: Journal | None = None

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
            except TRANSPORT_ERRORS as exc:
                if attempt == self.read_retries:
                    raise RpcError(f"the node at {self.endpoint} did not answer after {attempt + 1} tries: {exc}") from exc
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    @property
    def endpoint(self) -> str:
        return str(getattr(self.w3.provider, "endpoint_uri", None) or type(self.w3.provider).__name__)

    @property
    def replaying(self) -> bool:
        """True when the next send stands for a transaction a journal recorded earlier: the
        caller re-runs only to recover its results, and checks against today's chain state
        (which already includes that transaction) do not apply."""
        return self.journal is not None and self.journal.is_open and self.journal.next_recorded() is not None

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
        ``origin`` names the contract called, for attributing the error. Inside a journal
        task, a send the journal already recorded is settled, not repeated."""
        if self.replaying:
            to = str(getattr(call, "address", "") or "")
            settled = self._settle(to, call._encode_transaction_data())
            if settled is not None:
                return settled
        tx = self._build(signer, call, nonce=None, gas=gas, origin=origin)
        tx_hash = self._send_signed(signer, tx)
        receipt = self.wait(tx_hash)
        self._raise_if_failed(receipt, tx, signer.address, origin)
        return TxResult(tx_hash=tx_hash, receipt=receipt)

    def deploy(self, signer: Signer, name: str, *args: Any) -> TxResult:
        """Deploys contract ``name`` with constructor ``args``; ``result`` is its address."""
        artifact = self.artifacts[name]
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        if self.replaying:
            settled = self._settle("", factory.constructor(*args).data_in_transaction)
            if settled is not None:
                settled.result = settled.receipt["contractAddress"]
                return settled
        tx = self._build(signer, factory.constructor(*args), nonce=None, gas=None)
        tx_hash = self._send_signed(signer, tx)
        receipt = self.wait(tx_hash)
        self._raise_if_failed(receipt, tx, signer.address)
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
        failed item; the items before it were sent, and (unless the node itself failed) are
        mined and correct. Not for journal tasks."""
        if self.journal is not None and self.journal.is_open:
            raise RuntimeError("transact_many does not replay a journal: send one by one inside a journal task")
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
            except RpcError as exc:  # the node is gone: what was sent cannot be awaited either
                raise BatchError(index, exc) from exc
            nonces[address] += 1
            sent.append((tx_hash, tx, signer))
        return self._await_all(sent, on_progress, len(items))

    def wait(self, tx_hash: HexBytes) -> TxReceipt:
        """Polls for the receipt. Polling is a read: a dropped connection is retried (up to
        ``read_retries`` times in a row), never the transaction."""
        deadline = time.monotonic() + self.receipt_timeout
        failures = 0
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
            time.sleep(0.05)

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
                self._raise_if_failed(receipt, tx, signer.address)
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
            estimate = self.read(
                lambda: call.estimate_gas({k: v for k, v in params.items() if k in ("from", "nonce")}), origin=origin
            )
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
        """Broadcasts once. A transport failure is reported with the hash, never retried: the
        node may have received the transaction before the connection broke."""
        signed = signer.sign_transaction(tx)
        tx_hash = HexBytes(signed.hash)
        if self.journal is not None and self.journal.is_open:
            self.journal.record(Sent(
                hash="0x" + bytes(tx_hash).hex(), raw="0x" + bytes(signed.raw_transaction).hex(),
                sender=signer.address, nonce=int(tx["nonce"]), to=str(tx.get("to", "")),
                data=HexBytes(tx.get("data", b"")).to_0x_hex(), gas=int(tx["gas"]),
            ))
        try:
            self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except TRANSPORT_ERRORS as exc:
            raise RpcError(
                f"transaction 0x{bytes(tx_hash).hex()} was sent to {self.endpoint}, which did not confirm "
                f"receiving it ({exc}). It may still be mined, so it was not sent again: re-running deploy, "
                "seed or scenario checks the chain (and its journal) before sending"
            ) from exc
        return tx_hash

    def _settle(self, to: str, data: str) -> TxResult | None:
        """Finishes the transaction a journal recorded at this point of an earlier run, which
        this run was about to send again (see scf.chain.journal). A call must go to the same
        contract and function (its arguments may differ: an offer's deadline, say); a
        deployment must carry the same code and constructor arguments. Returns None when the
        recorded transaction was mined and failed: it moved nothing, and the caller sends anew."""
        assert self.journal is not None
        recorded = self.journal.next_recorded()
        assert recorded is not None
        same = data == recorded.data if not to else (recorded.to.lower() == to.lower() and recorded.selector == data[:10])
        if not same:
            what = f"{data[:10]} to {to}" if to else "a different deployment"
            raise JournalConflict(
                f"this run would send {what}, but the journal recorded {recorded.hash} "
                f"({recorded.selector} to {recorded.to or 'a new contract'}) at this point: the work changed since it was started"
            )
        tx_hash = HexBytes(recorded.hash)
        if self._receipt_or_none(tx_hash) is None and self._transaction_or_none(tx_hash) is None:
            nonce = int(self.read(lambda: self.w3.eth.get_transaction_count(recorded.sender, "latest")))
            if nonce != recorded.nonce:
                raise JournalConflict(
                    f"transaction {recorded.hash} (nonce {recorded.nonce} of {recorded.sender}) is not on chain "
                    f"and the account's next nonce is {nonce}: "
                    + ("another transaction used that nonce" if nonce > recorded.nonce else "earlier transactions are missing")
                    + ". Nothing was sent: look at the account's transactions before re-running"
                )
            try:
                self.w3.eth.send_raw_transaction(HexBytes(recorded.raw))  # the identical signed bytes
            except TRANSPORT_ERRORS as exc:
                raise RpcError(f"could not send recorded transaction {recorded.hash} again to {self.endpoint}: {exc}") from exc
            except Web3RPCError as exc:
                if "already known" not in str(exc) and "nonce too low" not in str(exc):
                    raise  # it arrived in the meantime otherwise: wait for it below
        receipt = self.wait(tx_hash)
        if receipt["status"] != 1:
            self.journal.discard_rest()
            return None
        self.journal.consume()
        return TxResult(tx_hash=tx_hash, receipt=receipt)

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

    def _receipt_or_none(self, tx_hash: HexBytes) -> TxReceipt | None:
        try:
            return self.read(lambda: self.w3.eth.get_transaction_receipt(tx_hash))
        except (TransactionNotFound, TransactionIndexingInProgress):
            return None

    def _transaction_or_none(self, tx_hash: HexBytes) -> Any:
        try:
            return self.read(lambda: self.w3.eth.get_transaction(tx_hash))
        except TransactionNotFound:
            return None

    def _raise_if_failed(
        self, receipt: TxReceipt, tx: dict[str, Any], sender: str, origin: str | None = None
    ) -> None:
        if receipt["status"] == 1:
            return
        if int(receipt["gasUsed"]) >= int(tx.get("gas", 0)):
            raise ContractRevert("OutOfGas", {"gas_limit": int(tx["gas"]), "tx": receipt["transactionHash"].hex()}, None, b"")
        # Replay the call, as its sender, on the state it met, to recover the revert data.
        replay = {k: v for k, v in tx.items() if k in ("to", "data", "value", "gas") and v not in ("", None)}
        replay["from"] = sender
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


def _no_blind_resends(w3: Web3) -> None:
    """web3.py's HTTP provider retries ``eth_sendRawTransaction`` when a connection drops or
    times out. The node may have received the first attempt; the caller then sees a confusing
    "nonce too low" instead of the truth. Sends are taken off its retry list: a lost answer
    becomes an ``RpcError`` naming the transaction, and re-runs settle it (scf.chain.journal)."""
    config = getattr(w3.provider, "exception_retry_configuration", None)
    if config is None or not any(m.startswith("eth_send") for m in config.method_allowlist):
        return
    w3.provider.exception_retry_configuration = ExceptionRetryConfiguration(  # type: ignore[attr-defined]
        errors=config.errors,
        retries=config.retries,
        backoff_factor=config.backoff_factor,
        method_allowlist=[m for m in config.method_allowlist if not m.startswith("eth_send")],
    )


class BatchError(RuntimeError):
    """Item ``index`` of a batch failed; the items before it succeeded."""

    def __init__(self, index: int, cause: ContractRevert | RpcError) -> None:
        self.index = index
        self.cause = cause
        super().__init__(f"batch item {index} failed: {cause}")
