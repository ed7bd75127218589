"""Development-chain helpers (anvil): starting one, time travel, gas money, snapshots.

Only for local chains: every helper refuses to run where the node lacks the method."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from web3 import HTTPProvider, Web3
from web3.types import RPCEndpoint

from scf.chain.reads import ChainReader, RpcError
from scf.errors import ScfError
from scf.paths import project_root


def anvil_binary() -> Path:
    """npm's anvil binary itself. ``node_modules/.bin/anvil`` is a Node wrapper that starts it
    as a child: a signal to the wrapper would not reliably reach (or reap) the node."""
    found = sorted((project_root() / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil"))
    if not found:
        raise ScfError("anvil is not installed in node_modules: run 'make setup'")
    return found[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_anvil(port: int, *anvil_args: str, timeout: float = 20) -> subprocess.Popen[bytes]:
    """Starts anvil on ``port`` (cancun, quiet, with more of its options: ``--block-time 1``,
    say) and returns once it answers."""
    process = subprocess.Popen(
        [str(anvil_binary()), "--port", str(port), "--hardfork", "cancun", "--silent", *anvil_args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if Web3(HTTPProvider(url)).eth.block_number >= 0:
                return process
        except (OSError, requests.RequestException):  # not up yet
            if process.poll() is not None:
                output = process.stderr.read().decode() if process.stderr else ""
                raise ScfError(f"anvil exited: {output}") from None
            time.sleep(0.05)
    process.kill()
    raise ScfError(f"anvil did not start within {timeout:.0f} s")


@contextmanager
def local_anvil(*anvil_args: str) -> Iterator[str]:
    """A throwaway anvil (``--block-time 1 --gas-limit 30000000``, say) for as long as the
    block runs; yields its URL."""
    port = free_port()
    process = start_anvil(port, *anvil_args)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait(timeout=10)


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
