"""A connection to one chain: what the domain layer calls to read, and to send transactions
signed locally with each member's own key, with reverts turned into ``ContractRevert``.

It puts together the three jobs kept in their own modules: reading (``scf.chain.reads``),
sending (``scf.chain.sending``) and journal replay (``scf.chain.replay``). It takes a plain
``web3.Web3``; under ape, scripts pass ``ape.chain.provider.web3``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction

from scf.chain import batch, replay, sending
from scf.chain.artifacts import Artifacts
from scf.chain.journal import Journal
from scf.chain.reads import ChainReader, RpcError
from scf.chain.reverts import ContractRevert, ErrorDecoder
from scf.chain.sending import BatchError, Call, Signer, TxResult
from scf.errors import ScfError


class Connection(ChainReader):
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
        self.artifacts = artifacts or Artifacts.load()
        super().__init__(web3, ErrorDecoder(self.artifacts.all_abis()),
                         receipt_timeout=receipt_timeout, read_retries=read_retries)
        sending.no_blind_resends(web3)
        self.priority_fee_wei = priority_fee_wei
        # While a journal task is open, every send is recorded before it is broadcast and a
        # re-run settles what was recorded instead of sending anew (scf.chain.journal).
        self.journal: Journal | None = None

    def contract(self, name: str, address: str) -> Contract:
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=self.artifacts[name].abi)

    @property
    def replaying(self) -> bool:
        """True when the next send stands for a transaction a journal recorded earlier: the
        caller re-runs only to recover its results, and checks against today's chain state
        (which already includes that transaction) do not apply."""
        return self.journal is not None and self.journal.is_open and self.journal.next_recorded() is not None

    def fees(self, burst_gas: int = 0) -> dict[str, int]:
        """EIP-1559 fees when the chain has a base fee, else a legacy gas price; with
        ``burst_gas``, a fee cap that outlasts the blocks a burst of that much gas fills."""
        return sending.fees(self, self.priority_fee_wei, burst_gas)

    def transact(
        self, signer: Signer, call: ContractFunction | Call, *, gas: int | None = None, origin: str | None = None
    ) -> TxResult:
        """Signs ``call`` with ``signer``'s own key, sends it and waits for it to be mined.
        Raises ``ContractRevert`` (before sending, from the gas estimate) if it would revert;
        with ``gas`` given nothing is estimated, and a refusal is mined as a failed transaction
        before it is raised. ``origin`` names the contract called, for attributing the error.
        Inside a journal task, a send the journal already recorded is settled, not repeated."""
        if self.replaying:
            assert self.journal is not None
            settled = replay.settle(self, self.journal, str(call.address or ""), sending.calldata(call))
            if settled is not None:
                return settled
        return self._send_and_wait(signer, call, gas=gas, origin=origin)

    def deploy(self, signer: Signer, name: str, *args: Any) -> TxResult:
        """Deploys contract ``name`` with constructor ``args``; ``result`` is its address."""
        artifact = self.artifacts[name]
        constructor = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode).constructor(*args)
        if self.replaying:
            assert self.journal is not None
            settled = replay.settle(self, self.journal, "", constructor.data_in_transaction)
            if settled is not None:
                settled.result = settled.receipt["contractAddress"]
                return settled
        result = self._send_and_wait(signer, constructor, gas=None)
        result.result = result.receipt["contractAddress"]
        return result

    def broadcast(self, signer: Signer, tx: dict[str, Any]) -> HexBytes:
        """Signs and sends a prepared transaction once (a plain transfer, say); see ``transact``
        for contract calls."""
        return sending.broadcast(self, signer, tx, self.journal)

    def transact_many(
        self,
        items: Sequence[tuple[Signer, ContractFunction | Call]],
        *,
        gas: int | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        on_sent: Callable[[int], None] | None = None,
    ) -> list[TxResult]:
        """Sends many transactions without waiting between them: nonces are kept locally per
        signer; each transaction is built (and, without ``gas``, estimated) first, so that one
        fee cap covers the blocks the whole burst fills (``fees``); then they are signed and
        broadcast ``BATCH_SIZE`` (or ``BATCH_BYTES``) to an HTTP round trip (JSON-RPC batches),
        each batch on the wire while the next is signed; receipts are awaited in batches. With
        ``gas`` given, nothing is estimated (items may depend on earlier ones).
        ``on_sent(count)`` reports each batch the node accepted, ``on_progress(mined, total)``
        receipts as they arrive.

        Raises ``BatchError`` naming the first failed item: refused at its estimate (nothing
        from it on was sent), refused by the node (the items after it in the same round trip
        may have reached the node too: the message says which), or mined as a failure. The
        items before it were sent and, unless the node itself failed, are mined and correct.
        Not for journal tasks."""
        if self.journal is not None and self.journal.is_open:
            raise ScfError("transact_many does not replay a journal: send one by one inside a journal task")
        first_block = self.head()[0]  # receipts are looked for in the blocks after it
        nonces: dict[str, int] = {}
        built: list[tuple[dict[str, Any], Signer]] = []
        failure: BatchError | None = None
        for index, (signer, call) in enumerate(items):
            address = signer.address
            if address not in nonces:
                nonces[address] = self.nonce_of(address)
            try:
                tx = sending.build(self, signer, call, nonce=nonces[address], fees={}, gas=gas)
            except ContractRevert as exc:
                failure = BatchError(index, exc)
                break
            except RpcError as exc:  # the node is gone
                raise BatchError(index, exc) from exc
            nonces[address] += 1
            built.append((tx, signer))
        fees = self.fees(burst_gas=sum(int(tx["gas"]) for tx, _ in built))
        signed: list[tuple[dict[str, Any], Any, Signer]] = []
        # Batches of BATCH_SIZE transactions or BATCH_BYTES, whichever comes first. One batch is
        # on the wire while the next is signed (the HTTP round trip releases the GIL); the next
        # goes only once the node accepted the one before.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scf-send") as wire:
            in_flight: Future[BatchError | None] | None = None
            start, size = 0, 0  # the batch being signed: its first item and its bytes
            for index, (tx, signer) in enumerate(built):
                tx.update(fees)
                if "maxFeePerGas" in fees:
                    tx.pop("gasPrice", None)  # a gas price strategy on the caller's web3 (ape sets one)
                signed.append((tx, signer.sign_transaction(tx), signer))
                size += len(signed[-1][1].raw_transaction)
                full = len(signed) - start >= batch.BATCH_SIZE or size >= batch.BATCH_BYTES
                if not full and index + 1 < len(built):
                    continue
                if in_flight is not None:
                    failure = in_flight.result() or failure
                    if failure is not None and failure.index < start:
                        break
                    if on_sent is not None:
                        on_sent(start)
                in_flight = wire.submit(self._broadcast, signed[start:], start, len(signed))
                start, size = len(signed), 0
            else:
                if in_flight is not None:
                    refused = in_flight.result()
                    failure = refused or failure
                    if refused is None and on_sent is not None:
                        on_sent(len(signed))
        accepted = signed[: failure.index] if failure is not None else signed
        results = self._await_all(accepted, first_block, on_progress, len(items))
        if failure is not None:
            raise failure
        return results

    def _broadcast(self, chunk: list[tuple[dict[str, Any], Any, Signer]], start: int, end: int) -> BatchError | None:
        """Broadcasts items ``start`` to ``end - 1`` (``chunk``) in one JSON-RPC batch; the
        first item the node refused, as a ``BatchError``, or None."""
        try:
            refusals = batch.send_raw(self, [s.raw_transaction for _, s, _ in chunk])
        except RpcError as exc:
            raise BatchError(start, exc) from exc
        for offset, refusal in enumerate(refusals):
            if refusal is not None:
                index = start + offset
                later = f"; items {index + 1} to {end - 1}, sent in the same request, may have reached it too" \
                    if index + 1 < end else ""
                return BatchError(index, RpcError(f"the node at {self.endpoint} refused it: {refusal}{later}"))
        return None

    def _send_and_wait(self, signer: Signer, call: Any, *, gas: int | None, origin: str | None = None) -> TxResult:
        tx = sending.build(self, signer, call, nonce=self.nonce_of(signer.address), fees=self.fees(), gas=gas,
                           origin=origin)
        tx_hash = sending.broadcast(self, signer, tx, self.journal)
        receipt = self.wait(tx_hash)
        sending.raise_if_failed(self, receipt, tx, signer.address, origin)
        return TxResult(tx_hash=tx_hash, receipt=receipt)

    def _await_all(
        self,
        signed: list[tuple[dict[str, Any], Any, Signer]],
        first_block: int,
        on_progress: Callable[[int, int], None] | None,
        total: int,
    ) -> list[TxResult]:
        hashes = [HexBytes(s.hash) for _, s, _ in signed]
        progress = (lambda mined: on_progress(mined, total)) if on_progress is not None else None
        receipts = batch.await_receipts(self, hashes, first_block, progress)
        results = []
        for index, ((tx, _, signer), receipt) in enumerate(zip(signed, receipts, strict=True)):
            try:
                sending.raise_if_failed(self, receipt, tx, signer.address)
            except ContractRevert as exc:
                raise BatchError(index, exc) from exc
            results.append(TxResult(tx_hash=hashes[index], receipt=receipt))
        return results
