"""Development-chain helpers (anvil): time travel, gas money, snapshots.

Only for local chains: every helper refuses to run where the node lacks the method."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from web3 import Web3
from web3.types import RPCEndpoint

from scf.chain.reads import ChainReader, RpcError


def _rpc(w3: Web3, method: str, params: list[Any]) -> Any:
    response = w3.provider.make_request(RPCEndpoint(method), params)
    if "error" in response:
        raise RpcError(f"{method} failed: {response['error'].get('message')} (is this a local anvil chain?)")
    return response.get("result")


def set_balance(w3: Web3, address: str, wei: int) -> None:
    _rpc(w3, "anvil_setBalance", [address, hex(wei)])


def increase_time(w3: Web3, seconds: int) -> int:
    """Moves the chain's clock forward and mines a block; returns the new block timestamp."""
    _rpc(w3, "evm_increaseTime", [int(seconds)])
    _rpc(w3, "evm_mine", [])
    return int(w3.eth.get_block("latest")["timestamp"])


def next_block_at(w3: Web3, timestamp: int) -> None:
    """The next mined block (the next transaction's, say) gets exactly this timestamp."""
    _rpc(w3, "evm_setNextBlockTimestamp", [int(timestamp)])


def set_next_timestamp(w3: Web3, timestamp: int) -> None:
    """Mines a block with exactly this timestamp."""
    next_block_at(w3, timestamp)
    _rpc(w3, "evm_mine", [])


def snapshot(w3: Web3) -> str:
    return str(_rpc(w3, "evm_snapshot", []))


def revert(w3: Web3, snapshot_id: str) -> None:
    if not _rpc(w3, "evm_revert", [snapshot_id]):
        raise RpcError(f"could not revert to snapshot {snapshot_id}")


class DevnetClock:
    """A development chain's clock (``scf.scenario.Clock``): the latest block's time, read with
    the connection's retries, moved forward with ``evm_increaseTime``."""

    def __init__(self, reader: ChainReader) -> None:
        self.reader = reader

    def now(self) -> int:
        return self.reader.block_timestamp()

    def advance_to(self, timestamp: int) -> None:
        now = self.now()
        if now < timestamp:
            increase_time(self.reader.w3, timestamp - now)


def faucet(w3: Web3, wei: int = 10**21) -> Callable[[str], None]:
    """Gives an address ``wei`` of gas money (``anvil_setBalance``)."""
    return lambda address: set_balance(w3, address, wei)
