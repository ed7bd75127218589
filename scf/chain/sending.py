"""Sending transactions: fees, encoding, gas, local signing and one broadcast per transaction.

Signing stays with the member's own key (an eth-account ``LocalAccount`` or anything with its
``sign_transaction``); this module never sees a key. A broadcast is never retried blindly: the
node may have received a transaction whose answer was lost (see ``scf.chain.journal``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_abi.exceptions import EncodingError
from eth_typing import ChecksumAddress
from eth_utils import (
    abi_to_signature,
    function_abi_to_4byte_selector,
    get_abi_input_types,
    get_abi_output_types,
    is_checksum_address,
)
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, ContractPanicError, Web3RPCError
from web3.logs import DISCARD
from web3.providers.rpc.utils import ExceptionRetryConfiguration
from web3.types import RPCEndpoint, TxReceipt

from scf.chain.journal import Journal, Sent
from scf.chain.reads import TRANSPORT_ERRORS, ChainReader, RpcError
from scf.chain.reverts import ContractRevert
from scf.errors import ScfError

GAS_MARGIN = 1.2
# The estimate runs on the latest block; the transaction is mined in a later one, whose
# timestamp can take another path: an unpause in the same second as its pause updates the pause
# clock's last checkpoint in place, a second later it writes a new one (a fresh storage slot,
# 22,100 gas). The headroom covers one fresh slot beyond the margin.
GAS_HEADROOM = 25_000


class Signer(Protocol):
    """What a member's key must do: eth-account's ``LocalAccount`` satisfies it."""

    @property
    def address(self) -> ChecksumAddress: ...

    def sign_transaction(self, transaction_dict: dict[str, Any]) -> Any: ...


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


class TransactionRefused(ScfError, RuntimeError):
    """The node answered a transaction with an error instead of taking it (too little gas
    money, a nonce already used...): nothing was sent."""


class BatchError(ScfError, RuntimeError):
    """Item ``index`` of a batch failed; the items before it succeeded."""

    def __init__(self, index: int, cause: ContractRevert | RpcError) -> None:
        self.index = index
        self.cause = cause
        super().__init__(f"batch item {index} failed: {cause}")


@dataclass(frozen=True)
class Call:
    """A contract call already encoded (``ContractClient.prepared``): what bulk paths send
    without building a web3 contract function per transaction, which costs more than the
    signature (about 0.7 ms a call here: web3 matches the arguments against every overload)."""

    address: str
    data: str


def calldata(call: ContractFunction | Call) -> str:
    """``call``'s transaction data: its selector and ABI-encoded arguments, as web3 encodes
    them. Arguments already in their canonical form (what the package's clients pass: ints,
    bytes, checksummed addresses, tuples) are encoded directly by eth-abi, about 45 times
    faster than web3's ``encode_abi`` (1.3 ms a call here); anything else (keyword arguments,
    hex strings for bytes, a struct as a mapping, an address not checksummed) goes through
    web3's public ``encode_abi``, which normalises it or refuses it as web3 does."""
    if isinstance(call, Call):
        return call.data
    if not call.kwargs:
        fast = FunctionCodec.of(call.abi).encode(call.args)
        if fast is not None:
            return fast
    return _encoder(call).encode_abi(abi_to_signature(call.abi), args=call.args, kwargs=call.kwargs)


@dataclass(frozen=True)
class FunctionCodec:
    """One function's selector and argument types, worked out once (``ContractClient.prepared``
    keeps one per function: a keccak and an ABI walk per call cost as much as the encoding)."""

    abi: Any
    selector: bytes
    types: list[str]
    outputs: list[str]

    @classmethod
    def of(cls, abi: Any) -> FunctionCodec:
        return cls(abi, function_abi_to_4byte_selector(abi), get_abi_input_types(abi), get_abi_output_types(abi))

    def decode(self, data: bytes) -> tuple[Any, ...]:
        """A call's return data, as eth-abi decodes the function's outputs."""
        return tuple(abi_decode(self.outputs, data))

    def encode(self, args: Sequence[Any]) -> str | None:
        """``args`` encoded by eth-abi, or None when they are not in canonical form."""
        inputs = self.abi["inputs"]
        if len(args) != len(inputs) or not all(_canonical(p, v) for p, v in zip(inputs, args, strict=True)):
            return None
        try:
            return "0x" + (self.selector + abi_encode(self.types, args)).hex()
        except EncodingError:
            return None  # not canonical after all


def _canonical(param: Any, value: Any) -> bool:
    """Whether ``value`` needs none of web3's normalisation for ``param``: every address in it
    (at any depth of tuples and arrays) is a checksummed string. Other types are checked by
    eth-abi's strict encoder."""
    kind = param["type"]
    if kind.endswith("]"):
        inner = {**param, "type": kind[: kind.rindex("[")]}
        return isinstance(value, list | tuple) and all(_canonical(inner, v) for v in value)
    if kind == "tuple":
        parts = param["components"]
        return (isinstance(value, list | tuple) and len(value) == len(parts)
                and all(_canonical(p, v) for p, v in zip(parts, value, strict=True)))
    if kind == "address":
        return isinstance(value, str) and is_checksum_address(value)
    return True


# One contract class per ABI, built on first use: building one per call would cost more than
# the encoding itself. Keyed by the ABI list's identity, kept alive by the entry.
_ENCODERS: dict[int, tuple[Any, type[Contract]]] = {}


def _encoder(call: ContractFunction) -> type[Contract]:
    entry = _ENCODERS.get(id(call.contract_abi))
    if entry is None or entry[0] is not call.contract_abi:
        entry = (call.contract_abi, call.w3.eth.contract(abi=call.contract_abi))
        _ENCODERS[id(call.contract_abi)] = entry
    return entry[1]


def fees(reader: ChainReader, priority_fee_wei: int, burst_gas: int = 0) -> dict[str, int]:
    """EIP-1559 fees when the chain has a base fee, else a legacy gas price.

    The fee cap covers the base fee's rise while the transactions are mined: each block fuller
    than half raises it by up to 12.5 %. One transaction gets twice today's base fee (six
    full blocks); a burst of ``burst_gas`` gas, which fills blocks one after the other, gets
    enough for the blocks it fills plus six. A cap is only a cap: a transaction pays the base
    fee of its block and the priority fee."""
    block = reader.read(lambda: reader.w3.eth.get_block("latest"))
    base = block.get("baseFeePerGas")
    if base is None:
        return {"gasPrice": int(reader.read(lambda: reader.w3.eth.gas_price))}
    blocks = -(-burst_gas // int(block["gasLimit"])) if burst_gas else 0
    # At least 1 wei: a chain whose base fee is 0 raises it to 1 wei at its first full block.
    cap = max(int(base), 1) * 9**blocks // 8**blocks * 2
    return {"maxFeePerGas": cap + priority_fee_wei, "maxPriorityFeePerGas": priority_fee_wei}


def build(
    reader: ChainReader,
    signer: Signer,
    call: Any,
    *,
    nonce: int,
    fees: dict[str, int],
    gas: int | None,
    origin: str | None = None,
) -> dict[str, Any]:
    """The transaction for ``call`` (a contract function or a constructor), ready to sign.
    Without ``gas``, it is estimated; a refusal raises ``ContractRevert`` and nothing is sent."""
    params: dict[str, Any] = {"from": signer.address, "chainId": reader.chain_id, "nonce": nonce, **fees}
    if gas is None:
        # The estimate is made against the latest block; the transaction is mined in the next
        # one (later timestamp, other writes before it), so leave headroom.
        if isinstance(call, Call):
            request = {"from": signer.address, "to": call.address, "data": call.data, "nonce": nonce}
            estimate = reader.read(lambda: reader.w3.eth.estimate_gas(request), origin=origin)  # type: ignore[arg-type]
        else:
            estimate = reader.read(lambda: call.estimate_gas({"from": signer.address, "nonce": nonce}), origin=origin)
        gas = int(estimate * GAS_MARGIN) + GAS_HEADROOM
    params["gas"] = gas
    if isinstance(call, Call):
        params.update({"to": call.address, "data": call.data, "value": 0})
        return params
    if isinstance(call, ContractFunction) and call.address:
        params.update({"to": call.address, "data": calldata(call), "value": 0})
        return params
    try:
        tx = call.build_transaction(params)
    except (ContractLogicError, ContractPanicError) as exc:
        raise reader.decode(exc, origin) from None
    if "maxFeePerGas" in tx:
        # A gas price strategy on the caller's web3 (ape sets one) may add a legacy price.
        tx.pop("gasPrice", None)
    return tx


def broadcast(reader: ChainReader, signer: Signer, tx: dict[str, Any], journal: Journal | None) -> HexBytes:
    """Signs ``tx`` with ``signer``'s own key and broadcasts it once. Inside an open journal
    task it is recorded first. A transport failure is reported with the hash, never retried:
    the node may have received the transaction before the connection broke."""
    signed = signer.sign_transaction(tx)
    tx_hash = HexBytes(signed.hash)
    if journal is not None and journal.is_open:
        journal.record(Sent(
            hash=tx_hash.to_0x_hex(), raw=HexBytes(signed.raw_transaction).to_0x_hex(),
            sender=signer.address, nonce=int(tx["nonce"]), to=str(tx.get("to", "")),
            data=HexBytes(tx.get("data", b"")).to_0x_hex(), gas=int(tx["gas"]),
        ))
    try:
        reader.w3.eth.send_raw_transaction(signed.raw_transaction)
    except Web3RPCError as exc:  # the node answered: it did not take the transaction
        reason = exc.rpc_response.get("error", {}).get("message") if exc.rpc_response else str(exc)
        raise TransactionRefused(
            f"the node at {reader.endpoint} refused transaction {tx_hash.to_0x_hex()} from {signer.address}: "
            f"{reason}. This sending did not go through (nothing moved by it)"
        ) from None
    except TRANSPORT_ERRORS as exc:
        raise RpcError(
            f"transaction {tx_hash.to_0x_hex()} was sent to {reader.endpoint}, which did not confirm "
            f"receiving it ({exc}). It may still be mined, so it was not sent again: re-running deploy, "
            "seed or scenario checks the chain (and its journal) before sending"
        ) from exc
    return tx_hash


def raise_if_failed(
    reader: ChainReader, receipt: TxReceipt, tx: dict[str, Any], sender: str, origin: str | None = None
) -> None:
    """Turns a mined, failed transaction into the ``ContractRevert`` that explains it: the
    revert data of the transaction itself where the node traces (``debug_traceTransaction``:
    anvil, geth, Besu, Erigon), else a replay of the call on the block before (whose
    timestamp, one block earlier, a time-dependent error may show)."""
    if receipt["status"] == 1:
        return
    if int(receipt["gasUsed"]) >= int(tx.get("gas", 0)):
        out_of_gas = {"gas_limit": int(tx["gas"]), "tx": receipt["transactionHash"].hex()}
        raise ContractRevert("OutOfGas", out_of_gas, None, b"")
    traced = _traced_revert_data(reader, HexBytes(receipt["transactionHash"]))
    if traced:
        raise reader.errors.decode(traced, prefer=origin)
    # Replay the call, as its sender, on the state it met, to recover the revert data.
    replay = {k: v for k, v in tx.items() if k in ("to", "data", "value", "gas") and v not in ("", None)}
    replay["from"] = sender
    try:
        # ``replay`` holds TxParams fields under web3's own names, but ``tx`` is typed as the plain
        # dict that signing takes (eth-account), not as web3's TxParams TypedDict.
        reader.w3.eth.call(replay, receipt["blockNumber"] - 1)  # type: ignore[arg-type]
    except (ContractLogicError, ContractPanicError) as exc:
        raise reader.decode(exc, origin) from None
    raise ContractRevert("RevertWithoutReason", {"tx": receipt["transactionHash"].hex()}, None, b"")


def _traced_revert_data(reader: ChainReader, tx_hash: HexBytes) -> str | None:
    """The revert data the node recorded for a mined transaction (the call tracer's top-level
    ``output``), or None where the node does not trace or recorded none."""
    request = [tx_hash.to_0x_hex(), {"tracer": "callTracer"}]
    response = reader.read(lambda: reader.w3.provider.make_request(RPCEndpoint("debug_traceTransaction"), request))
    result = response.get("result") if "error" not in response else None
    output = result.get("output") if isinstance(result, dict) else None
    return output if isinstance(output, str) and len(output) >= 10 else None


def no_blind_resends(w3: Web3) -> None:
    """web3.py's HTTP provider retries ``eth_sendRawTransaction`` when a connection drops or
    times out. The node may have received the first attempt; the caller then sees a confusing
    "nonce too low" instead of the truth. Sends are taken off its retry list: a lost answer
    becomes an ``RpcError`` naming the transaction, and re-runs settle it (scf.chain.journal)."""
    config = getattr(w3.provider, "exception_retry_configuration", None)
    if config is None or not any(m.startswith("eth_send") for m in config.method_allowlist):
        return
    # Found above on this provider (web3's HTTPProvider has it); Web3.provider is typed as
    # BaseProvider, which does not declare it.
    w3.provider.exception_retry_configuration = ExceptionRetryConfiguration(  # type: ignore[attr-defined]
        errors=config.errors,
        retries=config.retries,
        backoff_factor=config.backoff_factor,
        method_allowlist=[m for m in config.method_allowlist if not m.startswith("eth_send")],
    )
