"""Replaying a journal: the transaction a killed run recorded at this point is settled, never
sent anew (see ``scf.chain.journal`` for the guarantees)."""

from __future__ import annotations

from hexbytes import HexBytes
from web3.exceptions import Web3RPCError

from scf.chain.journal import Journal, JournalConflict
from scf.chain.reads import TRANSPORT_ERRORS, ChainReader, RpcError
from scf.chain.sending import TxResult


def settle(reader: ChainReader, journal: Journal, to: str, data: str) -> TxResult | None:
    """Finishes the transaction ``journal`` recorded at this point of an earlier run, which
    this run was about to send again as ``data`` to ``to`` (``""`` for a deployment). A call
    must go to the same contract and function (its arguments may differ: an offer's deadline,
    say); a deployment must carry the same code and constructor arguments. Returns None when
    the recorded transaction was mined and failed: it moved nothing, and the caller sends anew."""
    recorded = journal.next_recorded()
    assert recorded is not None, "settle is called only while the journal has a recorded send"
    same = data == recorded.data if not to else (recorded.to.lower() == to.lower() and recorded.selector == data[:10])
    if not same:
        what = f"{data[:10]} to {to}" if to else "a different deployment"
        target = recorded.to or "a new contract"
        raise JournalConflict(
            f"this run would send {what}, but the journal recorded {recorded.hash} "
            f"({recorded.selector} to {target}) at this point: the work changed since it was started"
        )
    tx_hash = HexBytes(recorded.hash)
    if reader.receipt_or_none(tx_hash) is None and reader.transaction_or_none(tx_hash) is None:
        nonce = reader.nonce_of(recorded.sender, "latest")
        if nonce != recorded.nonce:
            if nonce > recorded.nonce:
                cause = "another transaction used that nonce"
            else:
                cause = "earlier transactions are missing"
            raise JournalConflict(
                f"transaction {recorded.hash} (nonce {recorded.nonce} of {recorded.sender}) is not on chain "
                f"and the account's next nonce is {nonce}: {cause}. "
                "Nothing was sent: look at the account's transactions before re-running"
            )
        try:
            reader.w3.eth.send_raw_transaction(HexBytes(recorded.raw))  # the identical signed bytes
        except TRANSPORT_ERRORS as exc:
            raise RpcError(
                f"could not send recorded transaction {recorded.hash} again to {reader.endpoint}: {exc}"
            ) from exc
        except Web3RPCError as exc:
            if "already known" not in str(exc) and "nonce too low" not in str(exc):
                raise  # it arrived in the meantime otherwise: wait for it below
    receipt = reader.wait(tx_hash)
    if receipt["status"] != 1:
        journal.discard_rest()
        return None
    journal.consume()
    return TxResult(tx_hash=tx_hash, receipt=receipt)
